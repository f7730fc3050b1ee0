"""FER2013: the original `fer2013.csv` and the Kaggle folder layout, with one class order."""

import csv
import pathlib

import numpy as np

from keras_fer.data.images import BadInputError, _check_on_bad, decode_many, list_images
from keras_fer.data.labeled import LabeledImages, concatenate

# fer2013.csv's label order (emotion 0..6).
CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
USAGE_SPLITS = {"Training": "train", "PublicTest": "public_test", "PrivateTest": "private_test"}
PIXELS = 48 * 48
# The Kaggle folder that holds each split (test/ holds PublicTest and PrivateTest).
SPLIT_FOLDERS = {"train": "train", "test": "test", "public_test": "test", "private_test": "test"}


def load_fer2013(path, on_bad="error", equalize=True, split=None):
    """Splits of FER2013 from `fer2013.csv` or from a Kaggle-layout folder (train/, test/).

    Returns {"train", "test", and "public_test" / "private_test" where present}; "test" is all
    the test images (Kaggle's test/ folder holds PublicTest and PrivateTest together; the file-name
    prefix tells them apart). With `split`, a folder layout decodes only the folder holding it
    (`load_dataset`); the CSV is always read whole.
    """
    path = pathlib.Path(path)
    if path.is_file() or path.suffix == ".csv":
        return _load_csv(path, on_bad, equalize)
    if (path / "fer2013.csv").is_file():
        return _load_csv(path / "fer2013.csv", on_bad, equalize)
    return _load_folders(path, on_bad, equalize, split)


def _finish(images, labels, files, skipped, equalize):
    return LabeledImages.from_faces(images, np.asarray(labels, np.int64), CLASSES, files, skipped, equalize)


def _load_csv(path, on_bad, equalize):
    _check_on_bad(on_bad)
    if not path.is_file():
        raise BadInputError(f"{path}: file not found")
    rows = {split: ([], [], []) for split in USAGE_SPLITS.values()}
    skipped = []
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"emotion", "pixels", "Usage"} - set(reader.fieldnames or [])
        if missing:
            raise BadInputError(
                f"{path}: missing column(s) {sorted(missing)}; expected emotion,pixels,Usage "
                f"(found {reader.fieldnames})"
            )
        for line, row in enumerate(reader, start=2):
            source = f"{path}:{line}"
            try:
                split, label, image = _parse_row(row)
            except BadInputError as error:
                if on_bad == "error":
                    raise BadInputError(f"{source}: {error}") from None
                skipped.append((source, str(error)))
                continue
            images, labels, files = rows[split]
            images.append(image)
            labels.append(label)
            files.append(source)
    splits = {
        split: _finish(np.array(images, np.uint8).reshape(-1, 48, 48), labels, files, skipped, equalize)
        for split, (images, labels, files) in rows.items()
        if images
    }
    _add_test(splits)
    return _nonempty(splits, path)


def _parse_row(row):
    usage = row["Usage"]
    if usage not in USAGE_SPLITS:
        raise BadInputError(f"unknown Usage {usage!r} (expected {', '.join(USAGE_SPLITS)})")
    try:
        label = int(row["emotion"])
    except (TypeError, ValueError):
        raise BadInputError(f"emotion {row['emotion']!r} is not an integer 0-6") from None
    if not 0 <= label < len(CLASSES):
        raise BadInputError(f"unknown label {label} (expected 0-6: {', '.join(CLASSES)})")
    values = (row["pixels"] or "").split()
    if len(values) != PIXELS:
        raise BadInputError(f"pixels has {len(values)} values, expected {PIXELS} (48x48)")
    try:
        pixels = np.array(values, dtype=np.int64)
    except ValueError:
        raise BadInputError("pixels holds a value that is not an integer") from None
    if pixels.min() < 0 or pixels.max() > 255:
        raise BadInputError("pixels outside 0-255")
    return USAGE_SPLITS[usage], label, pixels.astype(np.uint8).reshape(48, 48)


def _load_folders(root, on_bad, equalize, split=None):
    if not root.is_dir():
        raise BadInputError(f"{root}: no such folder (expected FER2013's train/ and test/)")
    folder_names = ("train", "test")
    needed = SPLIT_FOLDERS.get(split)
    if needed and (root / needed).is_dir():
        folder_names = (needed,)
    splits = {}
    for folder_name in folder_names:
        folder = root / folder_name
        if not folder.is_dir():
            continue
        paths, labels = [], []
        for index, name in enumerate(CLASSES):
            class_dir = folder / name
            files = list_images(class_dir) if class_dir.is_dir() else []
            if not files:
                raise BadInputError(f"{class_dir}: no images for class {name!r}")
            paths += files
            labels += [index] * len(files)
        # 48x48 files: one thread decodes them 2.9x faster than a pool (benchmarks/decode_faces.py)
        images, kept, bad = decode_many(paths, size=48, on_bad=on_bad, workers=1)
        data = _finish(images, np.asarray(labels)[kept], [str(paths[i]) for i in kept], bad, equalize)
        splits[folder_name] = data
        if folder_name == "test":
            _split_test_by_prefix(splits)
    if not splits:
        raise BadInputError(f"{root}: neither train/ nor test/ found (FER2013 Kaggle layout)")
    return splits


def _split_test_by_prefix(splits):
    """public_test / private_test from the file-name prefixes, and "test" ordered as the CSV's is
    (PublicTest, then PrivateTest, then anything else)."""
    data = splits["test"]
    names = [pathlib.Path(f).name for f in data.files]
    groups = [[i for i, n in enumerate(names) if n.startswith(p)] for p in ("PublicTest", "PrivateTest")]
    for split, picked in zip(("public_test", "private_test"), groups):
        if picked:
            splits[split] = data.subset(picked)
    rest = sorted(set(range(len(data))) - set(groups[0]) - set(groups[1]))
    splits["test"] = data.subset(groups[0] + groups[1] + rest)


def _add_test(splits):
    parts = [splits[s] for s in ("public_test", "private_test") if s in splits]
    if parts:
        splits["test"] = concatenate(parts)


def _nonempty(splits, path):
    if not splits:
        raise BadInputError(f"{path}: no usable rows")
    return splits
