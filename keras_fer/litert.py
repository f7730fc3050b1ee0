"""Running a converted `.tflite` file with LiteRT (`ai-edge-litert`), behind the `predict`
interface of a Keras model, so evaluation, the FER API and the benchmark take either.

Input: float pixels in [0, 255], (N, S, S, C) — the same as the `.keras` model. A full-integer
file (uint8 input with scale 1, zero point 0) gets the pixels rounded; outputs are dequantized to
probabilities.
"""

import pathlib

import numpy as np


class TFLiteModel:
    def __init__(self, path, num_threads=None):
        from ai_edge_litert.interpreter import Interpreter

        self.path = pathlib.Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: model file not found")
        try:
            self.interpreter = Interpreter(model_path=str(self.path), num_threads=num_threads)
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as error:
            raise ValueError(f"{self.path}: not a loadable TFLite model ({error})") from None
        self._input = self.interpreter.get_input_details()[0]
        self._output = self.interpreter.get_output_details()[0]
        self.dynamic_batch = int(self._input["shape_signature"][0]) == -1
        self.input_shape = (None, *map(int, self._input["shape"][1:]))
        self.output_shape = (None, int(self._output["shape"][-1]))
        self.input_dtype = np.dtype(self._input["dtype"])
        self.output_dtype = np.dtype(self._output["dtype"])
        self._batch = int(self._input["shape"][0])

    @property
    def input_quantization(self):
        return _quantization(self._input)

    @property
    def output_quantization(self):
        return _quantization(self._output)

    def op_names(self):
        """The set of operator names in the graph (for checking that only built-in ops are used)."""
        return {op["op_name"] for op in self.interpreter._get_ops_details()}

    def _set_batch(self, n):
        if n != self._batch:
            self.interpreter.resize_tensor_input(self._input["index"], [n, *self.input_shape[1:]])
            self.interpreter.allocate_tensors()
            self._batch = n

    def quantize_input(self, x):
        x = np.asarray(x, np.float32)
        if self.input_dtype == np.float32:
            return x
        scale, zero_point = self.input_quantization or (1.0, 0)
        info = np.iinfo(self.input_dtype)
        return np.clip(np.round(x / scale + zero_point), info.min, info.max).astype(self.input_dtype)

    def dequantize_output(self, y):
        if y.dtype == np.float32:
            return y
        scale, zero_point = self.output_quantization or (1.0, 0)
        return (y.astype(np.float32) - zero_point) * scale

    def predict(self, x, batch_size=32, verbose=0):
        """Probabilities (N, classes) for float pixels (N, S, S, C) in [0, 255]."""
        x = self.quantize_input(x)
        if x.shape[1:] != self.input_shape[1:]:
            raise ValueError(f"{self.path}: input of shape {x.shape[1:]} given, the model takes "
                             f"{self.input_shape[1:]}")
        step = batch_size if self.dynamic_batch else self._batch
        outputs = []
        for start in range(0, len(x), step):
            chunk = x[start:start + step]
            if self.dynamic_batch:
                self._set_batch(len(chunk))
            elif len(chunk) != self._batch:  # a fixed-batch file: pad the last chunk
                chunk = np.concatenate([chunk, np.repeat(chunk[-1:], self._batch - len(chunk), 0)])
            self.interpreter.set_tensor(self._input["index"], chunk)
            self.interpreter.invoke()
            result = self.interpreter.get_tensor(self._output["index"])
            outputs.append(self.dequantize_output(result)[:len(x) - start])
        if not outputs:
            return np.zeros((0, self.output_shape[-1]), np.float32)
        return np.concatenate(outputs)

    __call__ = predict


def _quantization(details):
    scale, zero_point = details["quantization"]
    return (float(scale), int(zero_point)) if scale else None
