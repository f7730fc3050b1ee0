"""Any `root/<class>/*.{jpg,png,...}` tree; class names from the folder names (sorted)."""

import pathlib

import numpy as np

from keras_fer.data.images import BadInputError, _check_on_bad, decode_many, list_images
from keras_fer.data.labeled import LabeledImages


def load_folder(root, size=48, on_bad="error", equalize=True, class_names=None):
    """One "all" split from a class-per-folder tree. Empty class folders are an error."""
    _check_on_bad(on_bad)
    root = pathlib.Path(root)
    if not root.is_dir():
        raise BadInputError(f"{root}: no such folder")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise BadInputError(f"{root}: no class folders (expected {root}/<class>/<image files>)")
    names = tuple(class_names) if class_names else tuple(p.name for p in folders)
    paths, labels = [], []
    for folder in folders:
        files = list_images(folder)
        if not files:
            raise BadInputError(f"{folder}: empty class folder (no image files)")
        if folder.name not in names:
            raise BadInputError(f"{folder}: class {folder.name!r} is not among {list(names)}")
        paths += files
        labels += [names.index(folder.name)] * len(files)
    images, kept, bad = decode_many(paths, size=size, on_bad=on_bad)
    return {
        "all": LabeledImages.from_faces(
            images, np.asarray(labels, np.int64)[kept], names, [str(paths[i]) for i in kept], bad, equalize
        )
    }
