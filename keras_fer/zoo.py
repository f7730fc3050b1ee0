"""The pretrained models shipped inside the package (no download, works offline)."""

import pathlib

FOLDER = pathlib.Path(__file__).resolve().parent / "pretrained_models"

# name -> file in FOLDER. `.keras` files carry their class names and preprocessing inside;
# `.tflite` files have theirs in `<file>.json` beside them.
PRETRAINED = {
    "fer2013": "fer2013.keras",
    "ferplus": "ferplus.keras",
}


def pretrained_path(name):
    if name not in PRETRAINED:
        raise ValueError(f"unknown pretrained model {name!r}; choose one of {', '.join(PRETRAINED)}")
    path = FOLDER / PRETRAINED[name]
    if not path.is_file():
        raise FileNotFoundError(f"pretrained model {name!r} is not in this install ({path} missing)")
    return path


def available():
    return [name for name, file in PRETRAINED.items() if (FOLDER / file).is_file()]


def pretrained(name="fer2013"):
    """The pretrained `keras.Model` (a `TFLiteModel` for a `.tflite` entry) called `name`.

    Its class names and preprocessing are in `model.keras_fer_metadata`.
    """
    from keras_fer.model_io import load_model

    model, metadata = load_model(pretrained_path(name))
    model.keras_fer_metadata = metadata
    return model
