"""Reference client for a keras_fer `.tflite` file: what an app does, in plain Python.

Needs only NumPy, Pillow and `ai-edge-litert` (not TensorFlow, not keras_fer), and reads
everything it needs from the JSON that `keras_fer convert` writes beside the model. The Android
code in this folder (Kotlin) does the same steps; this file is the one that is tested.

    python tflite/fer_tflite.py model.tflite face1.jpg face2.png

Input images are face crops (a photo with a face in it goes through `keras_fer predict`, which
also finds the faces).
"""

import json
import pathlib
import sys

import numpy as np
from PIL import Image, ImageOps


def load(model_path, num_threads=None):
    """(interpreter, description) for a `.tflite` file and its `<file>.json`."""
    from ai_edge_litert.interpreter import Interpreter

    model_path = pathlib.Path(model_path)
    description = json.loads(model_path.with_name(model_path.name + ".json").read_text())
    interpreter = Interpreter(model_path=str(model_path), num_threads=num_threads)
    interpreter.allocate_tensors()
    return interpreter, description


def equalize(gray):
    """Histogram equalization, as OpenCV's equalizeHist."""
    hist = np.bincount(gray.ravel(), minlength=256)
    first = int(np.flatnonzero(hist)[0])
    if hist[first] == gray.size:
        return gray
    lut = np.clip(np.rint((np.cumsum(hist) - hist[first]) * 255.0 / (gray.size - hist[first])), 0, 255)
    return lut.astype(np.uint8)[gray]


def preprocess(image, description):
    """A face crop (path or PIL image) -> the model's input tensor, shape [1, S, S, C]."""
    pre = description["preprocessing"]
    if not isinstance(image, Image.Image):
        image = Image.open(image)
    image = ImageOps.exif_transpose(image)
    stored = pre.get("stored_size", 48)  # the training faces' size: FER2013 is 48 x 48
    gray = np.asarray(image.convert("L").resize((stored, stored), Image.BILINEAR), np.uint8)
    if pre.get("equalize"):
        gray = equalize(gray)
    _, size, _, channels = description["input"]["shape"]
    resized = Image.fromarray(gray.astype(np.float32), mode="F").resize((size, size), Image.BILINEAR)
    x = np.asarray(resized, np.float32)[None, :, :, None].repeat(channels, axis=-1)
    quant = description["input"]["quantization"]
    if quant:  # full-integer file: uint8 pixels (scale 1, zero point 0 for 0..255)
        x = np.clip(np.round(x / quant["scale"] + quant["zero_point"]), 0, 255)
    return x.astype(description["input"]["dtype"])


def classify(interpreter, description, image):
    """{class name: probability} for one face crop."""
    x = preprocess(image, description)
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    y = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0]
    quant = description["output"]["quantization"]
    if quant:
        y = (y.astype(np.float32) - quant["zero_point"]) * quant["scale"]
    return dict(zip(description["class_names"], map(float, y)))


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[-5], file=sys.stderr)
        return 2
    interpreter, description = load(argv[0])
    for path in argv[1:]:
        probabilities = classify(interpreter, description, path)
        top = max(probabilities, key=probabilities.get)
        print(json.dumps({"file": path, "top": top, "probabilities": probabilities}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
