"""Saving and loading models with what an app needs to use them: class names and preprocessing.

The metadata travels inside the `.keras` file (an extra `keras_fer.json` entry in its zip, which
Keras ignores) and beside it as `<name>.json`.
"""

import json
import pathlib
import zipfile

import keras

METADATA_ENTRY = "keras_fer.json"


def save_model(model, path, metadata):
    path = pathlib.Path(path)
    tmp = path.with_name(path.name + ".tmp.keras")
    model.save(tmp)
    with zipfile.ZipFile(tmp, "a") as archive:
        archive.writestr(METADATA_ENTRY, json.dumps(metadata))
    tmp.replace(path)  # atomic: an interrupted save never leaves a half-written model
    path.with_suffix(".json").write_text(json.dumps(metadata, indent=2))


def read_metadata(path):
    """The keras_fer metadata of a `.keras` file ({} for a file saved by plain Keras)."""
    path = pathlib.Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            if METADATA_ENTRY in archive.namelist():
                return json.loads(archive.read(METADATA_ENTRY))
    except zipfile.BadZipFile:
        raise ValueError(f"{path}: not a .keras file (not a zip archive)") from None
    return {}


def load_model(path):
    """(model, metadata) from a `.keras` file, with a clear error for a missing or bad file."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: model file not found")
    metadata = read_metadata(path)
    import keras_fer  # noqa: F401  (registers the custom layers)

    return keras.models.load_model(path), metadata
