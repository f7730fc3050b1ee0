// keras_fer on Android: classify one face crop with a .tflite file from `keras_fer convert`.
// NOT BUILT on the project's machines (no Android SDK there); the Python reference client
// tflite/fer_tflite.py does the same steps and is tested. Gradle:
//   implementation("com.google.ai.edge.litert:litert:1.4.1")   // LiteRT, Interpreter API (minSdk 21)
// Put model.tflite and labels.txt in src/main/assets/ and copy the numbers below from
// model.tflite.json ("input": shape, dtype, quantization; "preprocessing": equalize, stored_size).

package com.example.fer

import android.content.Context
import android.graphics.Bitmap
import org.tensorflow.lite.Interpreter
import java.io.FileInputStream
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.channels.FileChannel

class FerClassifier(
    context: Context,
    modelFile: String = "model.tflite",
    private val inputSize: Int = 96,          // input.shape[1] in model.tflite.json
    private val storedSize: Int = 48,         // preprocessing.stored_size (FER2013 faces are 48 x 48)
    private val equalize: Boolean = true,     // preprocessing.equalize
    private val uint8Input: Boolean = false,  // input.dtype == "uint8" (the int8 file)
    private val outputScale: Float = 1f / 256f, // output.quantization.scale (int8 file only)
    threads: Int = 2,
) {
    private val interpreter: Interpreter
    val labels: List<String> = context.assets.open("labels.txt").bufferedReader().readLines().filter { it.isNotBlank() }

    init {
        val fd = context.assets.openFd(modelFile)
        val model = FileInputStream(fd.fileDescriptor).channel
            .map(FileChannel.MapMode.READ_ONLY, fd.startOffset, fd.declaredLength)
        interpreter = Interpreter(model, Interpreter.Options().setNumThreads(threads))
    }

    /** Probabilities in labels.txt order for a face crop (a square around the face). */
    fun classify(face: Bitmap): FloatArray {
        // 1. grayscale at the training faces' size (bilinear), ITU-R 601 weights as Pillow's "L".
        val small = Bitmap.createScaledBitmap(face, storedSize, storedSize, true)
        val gray = IntArray(storedSize * storedSize)
        val pixels = IntArray(storedSize * storedSize)
        small.getPixels(pixels, 0, storedSize, 0, 0, storedSize, storedSize)
        for (i in pixels.indices) {
            val p = pixels[i]
            gray[i] = ((p shr 16 and 0xFF) * 299 + (p shr 8 and 0xFF) * 587 + (p and 0xFF) * 114 + 500) / 1000
        }
        // 2. histogram equalization, as OpenCV's equalizeHist (when the model was trained with it).
        if (equalize) equalizeHistogram(gray)
        // 3. bilinear resize to the network's input, grey copied to 3 channels, raw 0..255 values.
        val channels = 3
        val input = ByteBuffer.allocateDirect(inputSize * inputSize * channels * (if (uint8Input) 1 else 4))
            .order(ByteOrder.nativeOrder())
        val scale = storedSize.toFloat() / inputSize
        for (y in 0 until inputSize) for (x in 0 until inputSize) {
            val v = bilinear(gray, storedSize, (x + 0.5f) * scale - 0.5f, (y + 0.5f) * scale - 0.5f)
            repeat(channels) {
                if (uint8Input) input.put(Math.round(v).coerceIn(0, 255).toByte()) else input.putFloat(v)
            }
        }
        input.rewind()
        // 4. run; the int8 file returns uint8 probabilities: real = scale * q (zero point 0).
        return if (uint8Input) {
            val out = Array(1) { ByteArray(labels.size) }
            interpreter.run(input, out)
            FloatArray(labels.size) { (out[0][it].toInt() and 0xFF) * outputScale }
        } else {
            val out = Array(1) { FloatArray(labels.size) }
            interpreter.run(input, out)
            out[0]
        }
    }

    fun close() = interpreter.close()

    private fun equalizeHistogram(gray: IntArray) {
        val hist = IntArray(256)
        for (v in gray) hist[v]++
        val first = hist.indexOfFirst { it > 0 }
        if (hist[first] == gray.size) return
        val lut = IntArray(256)
        var cumulative = 0
        val scale = 255.0 / (gray.size - hist[first])
        for (i in 0 until 256) {
            cumulative += hist[i]
            lut[i] = Math.rint((cumulative - hist[first]) * scale).toInt().coerceIn(0, 255)
        }
        for (i in gray.indices) gray[i] = lut[gray[i]]
    }

    private fun bilinear(img: IntArray, n: Int, fx: Float, fy: Float): Float {
        val x = fx.coerceIn(0f, (n - 1).toFloat()); val y = fy.coerceIn(0f, (n - 1).toFloat())
        val x0 = x.toInt(); val y0 = y.toInt()
        val x1 = minOf(x0 + 1, n - 1); val y1 = minOf(y0 + 1, n - 1)
        val dx = x - x0; val dy = y - y0
        val top = img[y0 * n + x0] * (1 - dx) + img[y0 * n + x1] * dx
        val bottom = img[y1 * n + x0] * (1 - dx) + img[y1 * n + x1] * dx
        return top * (1 - dy) + bottom * dy
    }
}
