"""Full-integer TFLite agreement when the activation ranges are clipped: TFLite's calibrator
takes each tensor's min / max over all calibration faces; here each face is calibrated alone and
the range is a percentile of the per-face minima / maxima (100 = TFLite's own min / max).

Same faces as `tflite_agreement.py` (500 calibrating, 500 verifying). Uses TFLite's private
calibration API (`_calibrator.Calibrator`, `convert.mlir_quantize`) of the pinned TF 2.21: a
measurement, not the export path. Also prints the tensors TFLite's QuantizationDebugger finds
furthest from their float values (RMSE in quantization steps; rounding alone gives ~0.29).

    .venv/bin/python benchmarks/int8_calibration_ranges.py [MODEL] [--percentiles 100 99 95 90]  # ~5 min
"""

import argparse
import csv
import io
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.lite.python import convert as tflite_convert  # noqa: E402
from tensorflow.lite.python import lite  # noqa: E402
from tensorflow.lite.python.optimize import calibrator  # noqa: E402
from tensorflow.lite.tools import flatbuffer_utils  # noqa: E402

from keras_fer.convert import converter_options, verify  # noqa: E402
from keras_fer.layers import GroupNormalization  # noqa: E402
from keras_fer.litert import TFLiteModel  # noqa: E402
from keras_fer.model_io import load_model, resolve_model_path  # noqa: E402
from tflite_agreement import protocol_faces  # noqa: E402


def int8_converter(saved_model, faces):
    """A TFLiteConverter with the package's own int8 settings (keras_fer.convert.converter_options)."""
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    for name, value in converter_options("int8", faces).items():
        if name == "target_spec":
            for key, item in value.items():
                setattr(converter.target_spec, key, item)
        else:
            setattr(converter, name, value)
    return converter


def float_model_before_calibration(saved_model, faces):
    """The float flatbuffer the converter hands to its calibrator (captured from `_quantize`)."""
    captured = {}
    original = lite.TFLiteConverterBase._quantize

    def capture(self, result, *args, **kwargs):
        captured["model"] = result
        return original(self, result, *args, **kwargs)

    lite.TFLiteConverterBase._quantize = capture
    try:
        converter = int8_converter(saved_model, faces[:2])
        converter._experimental_calibrate_only = True
        converter.convert()
    finally:
        lite.TFLiteConverterBase._quantize = original
    return calibrator.add_intermediate_tensors(captured["model"])


def ranges(calibrated):
    """(min, max) per tensor of a calibrated flatbuffer, NaN for tensors without a range."""
    tensors = flatbuffer_utils.convert_bytearray_to_object(calibrated).subgraphs[0].tensors
    return np.array([(np.nan, np.nan) if t.quantization is None or t.quantization.min is None
                     or len(t.quantization.min) == 0
                     else (float(t.quantization.min[0]), float(t.quantization.max[0])) for t in tensors])


def quantize_with(float_model, per_face, percentile, first_face):
    """per_face: (faces, tensors, 2) ranges; each tensor gets percentiles of its per-face ranges."""
    model = flatbuffer_utils.convert_bytearray_to_object(
        calibrator.Calibrator(float_model).calibrate(lambda: iter([[first_face[None]]])))
    lows = np.percentile(per_face[:, :, 0], 100 - percentile, axis=0)
    highs = np.percentile(per_face[:, :, 1], percentile, axis=0)
    for i, tensor in enumerate(model.subgraphs[0].tensors):
        if np.isnan(per_face[0, i, 0]):
            continue
        tensor.quantization.min = np.array([lows[i]], np.float32)
        tensor.quantization.max = np.array([highs[i]], np.float32)
    return tflite_convert.mlir_quantize(bytes(flatbuffer_utils.convert_object_to_bytearray(model)), False,
                                        fully_quantize=True, input_data_type=tf.uint8,
                                        output_data_type=tf.uint8)


def worst_tensors(saved_model, calibration, debug_faces, count=12):
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=int8_converter(saved_model, calibration),
        debug_dataset=lambda: ([face[None]] for face in debug_faces))
    debugger.run()
    dump = io.StringIO()
    debugger.layer_statistics_dump(dump)
    dump.seek(0)
    rows = [row for row in csv.DictReader(dump) if float(row["scale"]) > 0]
    for row in rows:
        row["steps"] = float(row["mean_squared_error"]) ** 0.5 / float(row["scale"])
    rows = sorted((row for row in rows if np.isfinite(row["steps"])), key=lambda row: -row["steps"])
    return [(row["op_name"], row["steps"], row["tensor_name"]) for row in rows[:count]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="fer2013")
    parser.add_argument("--percentiles", type=float, nargs="+", default=[100, 99, 95, 90])
    args = parser.parse_args()
    model, _ = load_model(resolve_model_path(args.model))
    calibration, x, labels = protocol_faces(model)
    with tempfile.TemporaryDirectory() as folder:
        saved_model = pathlib.Path(folder) / "saved_model"
        with GroupNormalization.keras_formulation():  # as keras_fer.convert exports it
            model.export(str(saved_model), format="tf_saved_model", verbose=False)
        float_model = float_model_before_calibration(saved_model, calibration)
        start = time.perf_counter()
        per_face = np.stack([
            ranges(calibrator.Calibrator(float_model).calibrate(lambda face=face: iter([[face[None]]])))
            for face in calibration])
        print(f"{len(per_face)} faces calibrated one by one in {time.perf_counter() - start:.0f} s")
        for percentile in args.percentiles:
            path = pathlib.Path(folder) / f"p{percentile}.tflite"
            path.write_bytes(quantize_with(float_model, per_face, percentile, calibration[0]))
            r = verify(model, TFLiteModel(path), x, labels)
            print(f"percentile {percentile:5.1f}: agreement {r['agreement']:.3f}  max prob diff "
                  f"{r['max_probability_difference']:.3f}  accuracy keras {r['keras_accuracy']:.3f} "
                  f"tflite {r['tflite_accuracy']:.3f}", flush=True)
        print("tensors furthest from float (QuantizationDebugger, 100 verification faces; RMSE in steps):")
        for op, steps, name in worst_tensors(saved_model, calibration, x[:100]):
            print(f"  {op:18s} {steps:6.2f}  {name}")


if __name__ == "__main__":
    main()
