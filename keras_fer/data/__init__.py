"""Data sets as labelled uint8 faces, their splits, and input pipelines for `model.fit`."""

from keras_fer.data.fer2013 import load_fer2013
from keras_fer.data.ferplus import load_ferplus
from keras_fer.data.folder import load_folder
from keras_fer.data.images import BadInputError, decode_image, equalize_hist
from keras_fer.data.labeled import LabeledImages
from keras_fer.data.rafd import load_rafd
from keras_fer.data.splits import make_splits

DATASETS = ("fer2013", "ferplus", "rafd", "folder")


def load_dataset(kind, path, on_bad="error", equalize=True, split=None, **options):
    """{split name: LabeledImages} for one of DATASETS.

    `path`: the data set's folder (or FER2013's CSV), or a face pack (.npz) of FER2013 and FER+.
    `split`: the one split the caller needs. Where a layout keeps splits in separate folders
    (FER2013's train/ and test/, FER+'s three) only that split's folder is decoded, so that
    evaluating FER2013's 3,589 test faces does not first read its 28,709 training faces; where
    the split is not found there, everything is loaded as without it (and the caller names what
    was found). Other layouts ignore it.
    """
    from keras_fer.data import pack

    if pack.is_pack(path):  # FER2013 / FER+ faces packed by keras_fer.data.pack (a GPU machine's data)
        return pack.load_splits(path, kind, **{k: v for k, v in options.items() if k == "label_mode"})
    loaders = {"fer2013": load_fer2013, "ferplus": load_ferplus, "rafd": load_rafd, "folder": load_folder}
    if kind not in loaders:
        raise ValueError(f"unknown dataset {kind!r}; choose one of {', '.join(DATASETS)}")
    if kind in ("fer2013", "ferplus"):
        options["split"] = split
    return loaders[kind](path, on_bad=on_bad, equalize=equalize, **options)


__all__ = [
    "BadInputError", "DATASETS", "LabeledImages", "decode_image", "equalize_hist", "load_dataset",
    "load_fer2013", "load_ferplus", "load_folder", "load_rafd", "make_splits",
]
