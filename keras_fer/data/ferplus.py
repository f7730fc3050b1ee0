"""FER+ (FER2013Plus): Microsoft's layout (FER2013Train|Valid|Test/ + label.csv) or fer2013new.csv.

Label modes follow FER+'s authors (Barsoum et al. 2016, the FERPlus repository's `_process_data`):
votes of 1 are removed as outliers first; then
- "majority": the top emotion must hold more than half of the remaining votes (over all ten
  columns), else the image is unknown; images whose winner is unknown or NF (not a face) are
  dropped. A tie can never hold more than half, so ties are dropped too.
- "probability": the vote distribution over the eight emotions (after outlier removal) as a soft
  target; images where unknown / NF win, or fewer than half the votes fall on <= 3 emotions,
  are dropped (the authors' rule).
"""

import csv
import pathlib

import numpy as np

from keras_fer.data.images import BadInputError, _check_on_bad, decode_many
from keras_fer.data.labeled import LabeledImages

CLASSES = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt")
VOTE_COLUMNS = CLASSES + ("unknown", "NF")
FOLDERS = {"train": "FER2013Train", "valid": "FER2013Valid", "test": "FER2013Test"}
USAGE_SPLITS = {"Training": "train", "PublicTest": "valid", "PrivateTest": "test"}


def majority_label(votes):
    """Index of the emotion, or None when the image is dropped (FER+'s "majority" mode)."""
    votes = np.where(np.asarray(votes, np.float64) <= 1, 0.0, votes)
    total = votes.sum()
    if total <= 0:
        return None
    top = int(np.argmax(votes))
    if votes[top] <= 0.5 * total or top >= len(CLASSES):
        return None
    return top


def probability_label(votes):
    """Soft target over the eight emotions, or None when dropped (FER+'s "probability" mode)."""
    raw = np.where(np.asarray(votes, np.float64) <= 1, 0.0, votes)
    total = raw.sum()
    if total <= 0:
        return None
    kept = np.zeros_like(raw)
    remaining = raw.copy()
    taken, count = 0.0, 0
    while taken < 0.75 * total and count < 3:
        peak = remaining.max()
        hit = False
        for i in np.flatnonzero(remaining == peak):
            kept[i] = peak
            remaining[i] = 0
            taken += peak
            count += 1
            if i >= len(CLASSES):  # unknown or NF among the winners
                if kept.sum() > peak:
                    kept[i] = 0
                    count -= 1
                hit = True
                break
        if hit:
            break
    if kept.sum() <= 0.5 * total or count > 3 or np.argmax(kept) >= len(CLASSES):
        return None
    emotions = kept[: len(CLASSES)]
    return emotions / emotions.sum()


def load_ferplus(root, label_mode="majority", on_bad="error", equalize=True, split=None):
    """{"train", "valid", "test"} (those present) from Microsoft's FER+ layout under `root`; with
    `split`, only that one where it is present (`load_dataset`)."""
    _check_on_bad(on_bad)
    if label_mode not in ("majority", "probability"):
        raise ValueError(f"label_mode must be 'majority' or 'probability', got {label_mode!r}")
    root = pathlib.Path(root)
    if not root.is_dir():
        raise BadInputError(f"{root}: no such folder (expected FER2013Train/, FER2013Valid/ ...)")
    rows_by_split = _label_rows(root)
    if split in rows_by_split:
        rows_by_split = {split: rows_by_split[split]}
    splits = {}
    for split_name, rows in rows_by_split.items():
        folder = root / FOLDERS[split_name]
        paths, labels, bad = [], [], []
        for source, name, votes in rows:
            label = majority_label(votes) if label_mode == "majority" else probability_label(votes)
            if label is None:
                continue
            paths.append(folder / name)
            labels.append(label)
        if not paths:
            raise BadInputError(f"{folder}: no images left after {label_mode} labelling")
        # 48x48 files: one thread decodes them 3.9x faster than a pool (benchmarks/decode_faces.py)
        images, kept, bad = decode_many(paths, size=48, on_bad=on_bad, workers=1)
        labels = np.asarray(labels)[kept]
        splits[split_name] = LabeledImages.from_faces(
            images,
            labels.astype(np.float32) if label_mode == "probability" else labels.astype(np.int64),
            CLASSES,
            [str(paths[i]) for i in kept],
            bad,
            equalize,
        )
    return splits


def _label_rows(root):
    """{split: [(source, file name, votes)]} from each folder's label.csv, else fer2013new.csv."""
    found = {}
    for split, folder in FOLDERS.items():
        label_file = root / folder / "label.csv"
        if label_file.is_file():
            found[split] = _read_label_csv(label_file)
    if found:
        return found
    new_csv = root / "fer2013new.csv"
    if new_csv.is_file():
        return _read_fer2013new(new_csv, root)
    raise BadInputError(
        f"{root}: no FER2013Train/label.csv (or Valid/Test) and no fer2013new.csv found"
    )


def _votes(values, source):
    if len(values) != len(VOTE_COLUMNS):
        raise BadInputError(f"{source}: expected {len(VOTE_COLUMNS)} vote columns, found {len(values)}")
    try:
        return np.array([float(v) for v in values])
    except ValueError:
        raise BadInputError(f"{source}: a vote count is not a number: {values}") from None


def _read_label_csv(path):
    rows = []
    with open(path, newline="") as handle:
        for line, row in enumerate(csv.reader(handle), start=1):
            if not row:
                continue
            source = f"{path}:{line}"
            if len(row) != 2 + len(VOTE_COLUMNS):
                raise BadInputError(
                    f"{source}: expected 12 columns (file, box, {len(VOTE_COLUMNS)} votes), "
                    f"found {len(row)}"
                )
            rows.append((source, row[0], _votes(row[2:], source)))
    if not rows:
        raise BadInputError(f"{path}: no rows (empty split)")
    return rows


def _read_fer2013new(path, root):
    by_split = {}
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"Usage", "Image name", *VOTE_COLUMNS} - set(reader.fieldnames or [])
        if missing:
            raise BadInputError(f"{path}: missing column(s) {sorted(missing)}")
        for line, row in enumerate(reader, start=2):
            name = (row["Image name"] or "").strip()
            split = USAGE_SPLITS.get(row["Usage"])
            if not name or split is None or not (root / FOLDERS[split]).is_dir():
                continue  # FER+ dropped this image, or its folder is not here
            source = f"{path}:{line}"
            by_split.setdefault(split, []).append(
                (source, name, _votes([row[c] for c in VOTE_COLUMNS], source))
            )
    if not by_split:
        raise BadInputError(f"{path}: no rows whose image folder exists under {root}")
    return by_split
