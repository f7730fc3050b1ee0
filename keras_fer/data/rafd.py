"""RaFD: labels from file names `Rafd<angle>_<subject>_<ethnicity>_<gender>_<emotion>_<gaze>.jpg`."""

import dataclasses
import pathlib
import re

import numpy as np
from PIL import Image

from keras_fer.data.images import BadInputError, IMAGE_SUFFIXES, _check_on_bad, decode_many, to_grayscale
from keras_fer.data.labeled import LabeledImages

CLASSES = ("angry", "contemptuous", "disgusted", "fearful", "happy", "neutral", "sad", "surprised")
ANGLES = ("000", "045", "090", "135", "180")
GAZES = ("frontal", "left", "right")
NAME = re.compile(
    r"^Rafd(?P<angle>\d{3})_(?P<subject>\d+)_(?P<ethnicity>[A-Za-z]+)_(?P<gender>male|female)_"
    r"(?P<emotion>[a-z]+)_(?P<gaze>[a-z]+)$"
)


def parse_rafd_name(path):
    """The fields of a RaFD file name, or BadInputError saying why it does not parse."""
    stem = pathlib.Path(path).stem
    match = NAME.match(stem)
    if not match:
        raise BadInputError(
            f"{path}: not a RaFD file name (expected Rafd<angle>_<subject>_<ethnicity>_<gender>_"
            "<emotion>_<gaze>.jpg)"
        )
    fields = match.groupdict()
    for key, allowed in (("angle", ANGLES), ("emotion", CLASSES), ("gaze", GAZES)):
        if fields[key] not in allowed:
            raise BadInputError(f"{path}: unknown {key} {fields[key]!r} (expected one of {', '.join(allowed)})")
    fields["subject"] = int(fields["subject"])
    return fields


def load_rafd(root, angles=("090",), gazes=GAZES, size=96, on_bad="error", equalize=True):
    """All RaFD images under `root` for the given camera angles and gazes, as one "all" split.

    The portraits (681x1024) are centre-cropped to a square on their upper part, where the face
    is, and resized to size x size. `subjects` of each image are kept for subject-disjoint splits.
    """
    _check_on_bad(on_bad)
    root = pathlib.Path(root)
    if not root.is_dir():
        raise BadInputError(f"{root}: no such folder")
    paths, labels, subjects, skipped = [], [], [], []
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
        try:
            fields = parse_rafd_name(path)
        except BadInputError as error:
            if on_bad == "error":
                raise
            skipped.append((str(path), str(error)))
            continue
        if fields["angle"] in angles and fields["gaze"] in gazes:
            paths.append(path)
            labels.append(CLASSES.index(fields["emotion"]))
            subjects.append(fields["subject"])
    if not paths:
        raise BadInputError(f"{root}: no RaFD images for angles {angles} and gazes {gazes}")
    images, kept, bad = decode_many(paths, size=None, on_bad=on_bad, loader=lambda p: _face_square(p, size))
    data = LabeledImages.from_faces(
        images, np.asarray(labels)[kept], CLASSES, [str(paths[i]) for i in kept], skipped + bad, equalize
    )
    return {"all": dataclasses.replace(data, subjects=np.asarray(subjects)[kept])}


def _face_square(path, size):
    with Image.open(path) as image:
        image.load()
        width, height = image.size
        side = min(width, height)
        top = max(0, min(height - side, int(0.15 * (height - side))))
        left = (width - side) // 2
        square = image.crop((left, top, left + side, top + side)).resize((size, size), Image.BILINEAR)
        return to_grayscale(square)
