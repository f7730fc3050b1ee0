"""Saving and loading models with what an app needs to use them: class names and preprocessing.

The metadata travels inside the `.keras` file (an extra `keras_fer.json` entry in its zip, which
Keras ignores) and beside it as `<name>.json`. A `.tflite` file carries it beside it as
`<name>.tflite.json` (written by `keras_fer convert`).
"""

import hashlib
import json
import pathlib
import zipfile

import keras

# Imported for what they register with Keras, so that load_model finds this package's layers.
from keras_fer import layers  # noqa: F401
from keras_fer import zoo
from keras_fer.data import pipeline  # noqa: F401  (ToModelInput)

METADATA_ENTRY = "keras_fer.json"


def save_model(model, path, metadata):
    path = pathlib.Path(path)
    tmp = path.with_name(path.name + ".tmp.keras")
    model.save(tmp)
    with zipfile.ZipFile(tmp, "a") as archive:
        archive.writestr(METADATA_ENTRY, json.dumps(metadata))
    tmp.replace(path)  # atomic: an interrupted save never leaves a half-written model
    write_record(path.with_suffix(".json"), metadata)


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


def read_record(path, advice):
    """The JSON record at `path` (a model's sidecar, a run's plan); a file cut short by an
    interrupted write gets an error that names it and says what to do (`advice`)."""
    try:
        return json.loads(pathlib.Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not readable JSON ({error}); {advice}") from None


def write_record(path, record):
    """Write a JSON record atomically: a run stopped mid-write keeps the previous one."""
    path = pathlib.Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=2))
    tmp.replace(path)


def sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def tflite_metadata_path(path):
    path = pathlib.Path(path)
    return path.with_name(path.name + ".json")


def resolve_model_path(name_or_path):
    """A pretrained model's name (see `zoo.MODELS`) -> its file in the
    package; anything else is taken as a path."""
    if str(name_or_path) in zoo.MODELS:
        return zoo.pretrained_path(str(name_or_path))
    return pathlib.Path(name_or_path)


def load_model(path, num_threads=None):
    """(model, metadata) from a `.keras` or `.tflite` file or a pretrained model's name, with a
    clear error for a missing or bad file. A `.tflite` model is a `litert.TFLiteModel` with the
    same `predict`."""
    path = resolve_model_path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: model file not found")
    if path.suffix == ".tflite":
        from keras_fer.litert import TFLiteModel

        sidecar = tflite_metadata_path(path)
        advice = "write it again with keras_fer convert, or delete it to load the model without class names"
        metadata = read_record(sidecar, advice) if sidecar.is_file() else {}
        return TFLiteModel(path, num_threads=num_threads), metadata
    return keras.models.load_model(path), read_metadata(path)


def initialise_from(network, name_or_path):
    """`--init-from`: copy every matching layer of a saved or pretrained model into `network`;
    returns the line the training commands print."""
    copied, skipped = copy_matching_weights(load_model(name_or_path)[0], network)
    return f"initialised {len(copied)} layers from {name_or_path}; not copied: {', '.join(skipped) or 'none'}"


def copy_matching_weights(source, target):
    """Copy weights layer by layer where names and shapes match (fine-tuning a trained network on
    another class set: everything but `logits` carries over). Returns (copied, skipped) names."""
    copied, skipped = [], []
    for layer in target.layers:
        if not layer.weights:
            continue
        try:
            origin = source.get_layer(layer.name)
        except ValueError:
            skipped.append(layer.name)
            continue
        weights = origin.get_weights()
        if [w.shape for w in weights] != [tuple(w.shape) for w in layer.weights]:
            skipped.append(layer.name)
            continue
        layer.set_weights(weights)
        copied.append(layer.name)
    return copied, skipped
