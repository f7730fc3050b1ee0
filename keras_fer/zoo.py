"""The pretrained models shipped inside the package (no download, works offline): a table, no code
that loads them (that is `keras_fer.shipped`).

Each ships twice: `<name>.keras` (the trained model) and `<name>.tflite` (the same model converted
for LiteRT, which `FER()` and `keras_fer predict` run by default: about ten times faster per face).
The `.tflite` is derived from the `.keras`: `scripts/export_pretrained_tflite.py` regenerates it,
and its sidecar records the sha256 of the `.keras` it came from, so a stale one is noticed.
The sha256s below pin the files themselves: tests/test_pretrained.py fails on a file swapped
without updating this table.
"""

import dataclasses
import pathlib

FOLDER = pathlib.Path(__file__).resolve().parent / "pretrained_models"
FORMATS = ("keras", "tflite")
EXPORT_COMMAND = ".venv/bin/python scripts/export_pretrained_tflite.py"


@dataclasses.dataclass(frozen=True)
class ShippedModel:
    """One shipped model. `.keras` files carry their class names and preprocessing inside;
    `.tflite` files have theirs in `<file>.json` beside them."""

    name: str
    variant: str  # keras_fer.build_variant's name of its network
    input_size: int  # side of the square model input; faces are stored at 48x48 and enlarged
    file: str  # the `.keras` in FOLDER; its `.tflite` has the same stem
    keras_sha256: str
    tflite_sha256: str

    def path(self, format="keras"):
        return (FOLDER / self.file).with_suffix("." + format)


MODELS = {model.name: model for model in (
    ShippedModel("fer2013", "improved", 96, "fer2013.keras",
                 "c93a1341609639858401c446ff2b39afe404623e5da816fcca5494912c79a0ad",
                 "9ea4af5acf179b8e90dcbd34da12d0d66b32d8b68b572d81803b4398405b4da5"),
    ShippedModel("ferplus", "improved", 96, "ferplus.keras",
                 "552ee02bc3d2b2a028608472f7b7d5f5fd443f741611f857b80723270e448d02",
                 "d0dbc48166cb0ae7f58b556d38080f04da15e04d4454253828f7c45034e4e8cd"),
)}


def pretrained_path(name, format="keras"):
    """The shipped file of model `name` in `format`, with a clear error for an unknown name or
    format or a file missing from this install."""
    if name not in MODELS:
        raise ValueError(f"unknown pretrained model {name!r}; choose one of {', '.join(MODELS)}")
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    path = MODELS[name].path(format)
    if not path.is_file():
        raise FileNotFoundError(f"pretrained model {name!r} is not in this install ({path} missing)")
    return path


def available():
    return [name for name, model in MODELS.items() if model.path().is_file()]
