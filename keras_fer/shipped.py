"""Running the shipped pretrained models (listed in `keras_fer.zoo`): which of a model's two files
to run, and loading it as `keras_fer.pretrained(name)`."""

import warnings

from keras_fer import zoo
from keras_fer.model_io import load_model, read_record, sha256, tflite_metadata_path


def tflite_staleness(name):
    """None when the shipped `<name>.tflite` was converted from the shipped `<name>.keras`, else
    why not (missing, or made from another `.keras`: the sha256 in its sidecar differs)."""
    keras_path = zoo.pretrained_path(name)
    tflite_path = keras_path.with_suffix(".tflite")
    sidecar = tflite_metadata_path(tflite_path)
    if not tflite_path.is_file() or not sidecar.is_file():
        return f"{tflite_path} or its .json is missing"
    recorded = read_record(sidecar, f"regenerate it: {zoo.EXPORT_COMMAND}").get("source", {}).get("model_sha256")
    if recorded != sha256(keras_path):
        return f"{tflite_path} was converted from another {keras_path.name} (sha256 {str(recorded)[:12]}...)"
    return None


def pretrained_file(name, format="tflite"):
    """The file to run for a pretrained name: its `.tflite` (LiteRT) by default, falling back to
    the `.keras` with a warning when the `.tflite` is missing or stale; `format="keras"`: the `.keras`."""
    if format == "keras":
        return zoo.pretrained_path(name)
    problem = tflite_staleness(name)
    if problem:
        warnings.warn(f"{problem}; running {zoo.MODELS[name].file} with Keras instead (slower). "
                      f"Regenerate it: {zoo.EXPORT_COMMAND}", stacklevel=3)
        return zoo.pretrained_path(name)
    return zoo.pretrained_path(name, format)


def pretrained(name="fer2013", format="keras"):
    """The pretrained `keras.Model` called `name`; with `format="tflite"`, its LiteRT file as a
    `litert.TFLiteModel` (the same `predict`).

    Its class names and preprocessing are in `model.keras_fer_metadata`.
    """
    model, metadata = load_model(pretrained_file(name, format))
    model.keras_fer_metadata = metadata
    return model
