"""Keras model -> `.tflite` for the stock LiteRT runtime (Android), in four modes, checked on
real faces before it is handed over.

Export path: Keras 3's `model.export(path, format="litert")` (Keras model -> SavedModel ->
`TFLiteConverter.from_saved_model`), with the converter limited to built-in ops (Keras adds
SELECT_TF_OPS by default; Flex ops need a runtime Android apps do not ship). The input keeps a
dynamic batch dimension (default 1). A concrete function traced with a fixed batch of 1 and
given to `from_concrete_functions` was measured to return garbage (GroupNormalization: values of
1e30; whole networks: NaN) under TF 2.21 + Keras 3.15 — Keras 3 variables are not frozen on that
path — so it is not used.

Modes: none (float32), float16 (weights stored as float16), dynamic (int8 weights, float
activations), int8 (full integer, calibrated on real images; input uint8 = the raw pixels with
scale 1 and zero point 0, output uint8 probabilities with scale 1/256).
"""

import contextlib
import json
import pathlib

import numpy as np

from keras_fer.data.pipeline import to_model_input
from keras_fer.layers import GroupNormalization

QUANTIZE_MODES = ("none", "float16", "dynamic", "int8")
# Least top-1 agreement with the Keras model on real faces that a float or dynamic file must reach.
AGREEMENT_THRESHOLDS = {"none": 0.995, "float16": 0.995, "dynamic": 0.99}
# int8 is judged as its users judge it: by the accuracy it loses on labelled faces (points). Its
# top-1 agreement is reported, not gated: this network has many near-tie predictions, and int8
# rounding flips about a tenth of them both ways at a cost of under a point (tflite/README.md).
MAX_ACCURACY_DROP = {"int8": 1.0}


class ConversionCheckError(ValueError):
    """A converted file disagrees with its Keras model (or outputs NaN/Inf)."""


def agreement_protocol(faces, input_shape, samples=500, seed=0):
    """The fixed faces behind the project's agreement numbers (tests/test_convert.py, the
    tflite_agreement benchmark, RESULTS.md): of `faces` (FER2013 test/) in a seeded permutation,
    the first `samples` calibrate int8 and the next `samples` verify. Returns (calibration inputs,
    verification inputs, verification labels), the inputs at the model's `input_shape`."""
    order = np.random.default_rng(seed).permutation(len(faces))
    size, channels = input_shape[1], input_shape[3]
    verification = faces.subset(order[samples:2 * samples])
    return (to_model_input(faces.images[order[:samples]], size, channels),
            to_model_input(verification.images, size, channels), verification.hard_labels)


def converter_options(quantize, calibration_inputs=None):
    """Keyword arguments for `model.export(..., format="litert")` (TFLiteConverter attributes)."""
    import tensorflow as tf

    builtins = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize == "none":
        return {"target_spec": {"supported_ops": builtins}}
    if quantize == "float16":
        return {"target_spec": {"supported_ops": builtins, "supported_types": [tf.float16]},
                "optimizations": [tf.lite.Optimize.DEFAULT]}
    if quantize == "dynamic":
        return {"target_spec": {"supported_ops": builtins}, "optimizations": [tf.lite.Optimize.DEFAULT]}
    if quantize == "int8":
        if calibration_inputs is None or len(calibration_inputs) == 0:
            raise ValueError("int8 quantization needs calibration images (--calibration-data)")
        inputs = np.asarray(calibration_inputs, np.float32)

        def representative_dataset():
            for x in inputs:
                yield [x[None]]

        return {"target_spec": {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]},
                "optimizations": [tf.lite.Optimize.DEFAULT],
                "representative_dataset": representative_dataset,
                "inference_input_type": tf.uint8, "inference_output_type": tf.uint8}
    raise ValueError(f"quantize must be one of {', '.join(QUANTIZE_MODES)}, got {quantize!r}")


def convert(model, path, quantize="none", calibration_inputs=None):
    """Write `model` as a `.tflite` file at `path` (atomically); returns the path."""
    path = pathlib.Path(path)
    if path.suffix != ".tflite":
        raise ValueError(f"{path}: the output file must end in .tflite")
    options = converter_options(quantize, calibration_inputs)
    tmp = path.with_name(path.stem + ".partial.tflite")
    try:
        # int8 quantizes Keras' GroupNorm formulation better; float files run the layer's own
        # faster (BENCHMARKS.md, "What we tried").
        with GroupNormalization.keras_formulation() if quantize == "int8" else contextlib.nullcontext():
            model.export(str(tmp), format="litert", verbose=False, **options)
    except Exception as error:  # the converter raises many types; name the model and the mode
        tmp.unlink(missing_ok=True)
        raise ValueError(f"conversion to TFLite ({quantize}) failed: {str(error)[-2000:]}") from None
    tmp.replace(path)
    return path


def verify(model, tflite_model, inputs, labels=None):
    """Top-1 agreement, max probability difference and accuracies of a converted file vs Keras.

    The file is run one image at a time (batch 1, as on a phone) and once as a batch of 8 (its
    dynamic batch dimension), which must give the same outputs.
    """
    inputs = np.asarray(inputs, np.float32)
    expected = np.asarray(model.predict(inputs, verbose=0, batch_size=64))
    got = np.concatenate([tflite_model.predict(x[None]) for x in inputs])
    batched = tflite_model.predict(inputs[:8], batch_size=8)
    result = {
        "n": int(len(inputs)),
        "nonfinite": int((~np.isfinite(got)).sum() + (~np.isfinite(batched)).sum()),
        "agreement": float((got.argmax(1) == expected.argmax(1)).mean()),
        "max_probability_difference": float(np.abs(got - expected).max()),
        "batch_vs_single_max_difference": float(np.abs(batched - got[:8]).max()),
    }
    if labels is not None:
        labels = np.asarray(labels)
        result["keras_accuracy"] = float((expected.argmax(1) == labels).mean())
        result["tflite_accuracy"] = float((got.argmax(1) == labels).mean())
    return result


def required_agreement(quantize, min_agreement=None):
    """The top-1 agreement a file must reach: the mode's bar, or `min_agreement` when given
    (None: not gated, as for int8)."""
    return AGREEMENT_THRESHOLDS.get(quantize) if min_agreement is None else min_agreement


def allowed_accuracy_drop(quantize, max_accuracy_drop=None):
    """The accuracy (points) a file may lose against Keras: the mode's bar, or `max_accuracy_drop`
    when given (None: not gated, as for the float and dynamic files)."""
    return MAX_ACCURACY_DROP.get(quantize) if max_accuracy_drop is None else max_accuracy_drop


def accuracy_drop(result):
    """Points of accuracy the converted file loses against Keras on the verification faces."""
    return round(100 * (result["keras_accuracy"] - result["tflite_accuracy"]), 6)  # 1.0 is 1.0, not 1.0000000000000009


def check(result, quantize, path, min_agreement=None, max_accuracy_drop=None):
    """Raise ConversionCheckError when a verification result falls short of the mode's bars
    (or of `min_agreement` / `max_accuracy_drop`, when the user sets them)."""
    threshold = required_agreement(quantize, min_agreement)
    drop_limit = allowed_accuracy_drop(quantize, max_accuracy_drop)
    problems = []
    if result["nonfinite"]:
        problems.append(f"{result['nonfinite']} NaN/Inf outputs")
    if threshold is not None and result["agreement"] < threshold:
        problems.append(f"top-1 agreement with Keras {result['agreement']:.2%} < {threshold:.1%}")
    if drop_limit is not None:
        if "keras_accuracy" not in result:
            problems.append("no labelled faces to measure the accuracy drop on")
        elif accuracy_drop(result) > drop_limit:
            problems.append(f"accuracy {accuracy_drop(result):.2f} points under Keras' "
                            f"({result['tflite_accuracy']:.2%} vs {result['keras_accuracy']:.2%}) > {drop_limit:g}")
    if result["batch_vs_single_max_difference"] > 0.05:
        problems.append("a batch of 8 gives other outputs than single images "
                        f"(max difference {result['batch_vs_single_max_difference']:.3f})")
    if problems:
        raise ConversionCheckError(f"{path}: {quantize} conversion failed verification on "
                                   f"{result['n']} real images: " + "; ".join(problems))


def describe(tflite_model, class_names, metadata, quantize, source):
    """The JSON written beside the `.tflite`: everything an app needs to feed it and read it."""
    preprocessing = dict(metadata.get("preprocessing", {}))
    size, channels = tflite_model.input_shape[1], tflite_model.input_shape[3]
    input_quantization = tflite_model.input_quantization
    output_quantization = tflite_model.output_quantization
    return {
        "format": "keras_fer-tflite-1",
        "quantize": quantize,
        "class_names": list(class_names),
        "input": {
            "shape": [1, size, size, channels], "batch": "dynamic (default 1)", "layout": "NHWC",
            "dtype": tflite_model.input_dtype.name, "value_range": [0, 255],
            "quantization": _quantization_json(input_quantization),
            "meaning": (f"a face crop, grayscale{' histogram-equalized' if preprocessing.get('equalize') else ''}"
                        f", resized (bilinear) to {size}x{size}"
                        + (", the grey value copied to all 3 channels" if channels == 3 else "")
                        + "; raw pixel values 0..255 (the network rescales them itself)"),
        },
        "output": {
            "shape": [1, len(class_names)], "dtype": tflite_model.output_dtype.name,
            "quantization": _quantization_json(output_quantization),
            "meaning": "softmax probabilities in class_names order",
        },
        "preprocessing": preprocessing,
        "source": source,
    }


def _quantization_json(quantization):
    if quantization is None:
        return None
    return {"scale": quantization[0], "zero_point": quantization[1],
            "real_value": "scale * (q - zero_point)"}


def write_sidecars(tflite_path, description):
    """`<name>.tflite.json` and `labels.txt` (one class name a line) beside the `.tflite`."""
    from keras_fer.model_io import tflite_metadata_path

    tflite_path = pathlib.Path(tflite_path)
    tflite_metadata_path(tflite_path).write_text(json.dumps(description, indent=2))
    labels = tflite_path.with_name("labels.txt")
    text = "\n".join(description["class_names"]) + "\n"
    if labels.is_file() and labels.read_text() != text:
        raise ValueError(f"{labels}: already lists other classes; write this model to another folder")
    labels.write_text(text)
