"""The pretrained models shipped inside the package (no download, works offline).

Each ships twice: `<name>.keras` (the trained model) and `<name>.tflite` (the same model converted
for LiteRT, which `FER()` and `keras_fer predict` run by default: about ten times faster per face).
The `.tflite` is derived from the `.keras`: `scripts/export_pretrained_tflite.py` regenerates it,
and its sidecar records the sha256 of the `.keras` it came from, so a stale one is noticed.
"""

import pathlib
import warnings

FOLDER = pathlib.Path(__file__).resolve().parent / "pretrained_models"

# name -> file in FOLDER. `.keras` files carry their class names and preprocessing inside;
# `.tflite` files have theirs in `<file>.json` beside them.
PRETRAINED = {
    "fer2013": "fer2013.keras",
    "ferplus": "ferplus.keras",
}
FORMATS = ("keras", "tflite")
EXPORT_COMMAND = ".venv/bin/python scripts/export_pretrained_tflite.py"


def pretrained_path(name, format="keras"):
    if name not in PRETRAINED:
        raise ValueError(f"unknown pretrained model {name!r}; choose one of {', '.join(PRETRAINED)}")
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    path = (FOLDER / PRETRAINED[name]).with_suffix("." + format)
    if not path.is_file():
        raise FileNotFoundError(f"pretrained model {name!r} is not in this install ({path} missing)")
    return path


def available():
    return [name for name, file in PRETRAINED.items() if (FOLDER / file).is_file()]


def tflite_staleness(name):
    """None when the shipped `<name>.tflite` was converted from the shipped `<name>.keras`, else
    why not (missing, or made from another `.keras`: the sha256 in its sidecar differs)."""
    from keras_fer.convert import sha256
    from keras_fer.model_io import read_record, tflite_metadata_path

    keras_path = pretrained_path(name)
    tflite_path = keras_path.with_suffix(".tflite")
    sidecar = tflite_metadata_path(tflite_path)
    if not tflite_path.is_file() or not sidecar.is_file():
        return f"{tflite_path} or its .json is missing"
    recorded = read_record(sidecar, f"regenerate it: {EXPORT_COMMAND}").get("source", {}).get("model_sha256")
    if recorded != sha256(keras_path):
        return f"{tflite_path} was converted from another {keras_path.name} (sha256 {str(recorded)[:12]}...)"
    return None


def pretrained_file(name, format="tflite"):
    """The file to run for a pretrained name: its `.tflite` (LiteRT) by default, falling back to
    the `.keras` with a warning when the `.tflite` is missing or stale; `format="keras"`: the `.keras`."""
    if format == "keras":
        return pretrained_path(name)
    problem = tflite_staleness(name)
    if problem:
        warnings.warn(f"{problem}; running {PRETRAINED[name]} with Keras instead (slower). "
                      f"Regenerate it: {EXPORT_COMMAND}", stacklevel=3)
        return pretrained_path(name)
    return pretrained_path(name, format)


def pretrained(name="fer2013", format="keras"):
    """The pretrained `keras.Model` called `name`; with `format="tflite"`, its LiteRT file as a
    `litert.TFLiteModel` (the same `predict`).

    Its class names and preprocessing are in `model.keras_fer_metadata`.
    """
    from keras_fer.model_io import load_model

    model, metadata = load_model(pretrained_file(name, format))
    model.keras_fer_metadata = metadata
    return model
