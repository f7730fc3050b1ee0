"""Train / validation splits: each data set's own, or the paper's ratios, seeded and reproducible."""

import json

import numpy as np

from keras_fer.data.images import BadInputError
from keras_fer.data.labeled import concatenate

PAPER_TRAIN_FRACTION = {"fer2013": 0.9, "ferplus": 0.8, "rafd": 0.8, "folder": 0.8}
# The data set's own (train, validation) split names.
OWN_SPLITS = {"fer2013": ("train", "test"), "ferplus": ("train", "valid")}


def stratified_split(data, train_fraction, seed):
    """Per class, shuffle with `seed` and put `train_fraction` of it in train (at least one of
    each in both where the class has two or more images)."""
    rng = np.random.default_rng(seed)
    labels = data.hard_labels
    train, val = [], []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        members = members[rng.permutation(len(members))]
        cut = int(round(train_fraction * len(members)))
        if len(members) >= 2:
            cut = min(max(cut, 1), len(members) - 1)
        train += members[:cut].tolist()
        val += members[cut:].tolist()
    return data.subset(sorted(train)), data.subset(sorted(val))


def subject_split(data, train_fraction, seed):
    """Split by `data.subjects` so that no person is in both parts (RaFD)."""
    if data.subjects is None:
        raise ValueError("a subject-disjoint split needs the data's subjects; this data set names none")
    subjects = data.subjects
    unique = np.unique(subjects)
    rng = np.random.default_rng(seed)
    unique = unique[rng.permutation(len(unique))]
    cut = min(max(int(round(train_fraction * len(unique))), 1), len(unique) - 1)
    train_subjects = set(unique[:cut].tolist())
    in_train = np.array([s in train_subjects for s in subjects])
    return data.subset(np.flatnonzero(in_train)), data.subset(np.flatnonzero(~in_train))


def make_splits(kind, splits, split="own", seed=0):
    """(train, validation) LabeledImages for a loaded data set.

    split: "own" (the data set's: FER2013 train/test, FER+ train/valid; RaFD and folders have none,
    so the paper's ratio is used), "paper" (all images pooled, FER2013 9:1, others 8:2, stratified;
    RaFD by subject), or NAME:NAME to pick two of the loaded splits.
    """
    if ":" in split:
        train_name, val_name = split.split(":", 1)
        return _pick(splits, train_name, kind), _pick(splits, val_name, kind)
    if split == "own" and kind in OWN_SPLITS:
        train_name, val_name = OWN_SPLITS[kind]
        return _pick(splits, train_name, kind), _pick(splits, val_name, kind)
    if split not in ("own", "paper"):
        raise ValueError(f"split must be 'own', 'paper' or TRAIN:VAL, got {split!r}")
    names = [n for n in ("train", "valid", "test", "all") if n in splits]
    pooled = concatenate([splits[n] for n in names])
    fraction = PAPER_TRAIN_FRACTION[kind]
    if kind == "rafd":
        return subject_split(pooled, fraction, seed)
    return stratified_split(pooled, fraction, seed)


def _pick(splits, name, kind):
    if name not in splits:
        raise BadInputError(f"{kind} has no split {name!r} here (found: {', '.join(splits)})")
    if len(splits[name]) == 0:
        raise BadInputError(f"{kind} split {name!r} is empty")
    return splits[name]


def split_record(train, val, kind, split, seed):
    """What a run stores to reproduce its data: file lists, their hashes, the seed."""
    return {
        "dataset": kind,
        "split": split,
        "seed": seed,
        "class_names": list(train.class_names),
        "train": {"n": len(train), "fingerprint": train.fingerprint(), "files": train.files},
        "validation": {"n": len(val), "fingerprint": val.fingerprint(), "files": val.files},
    }


def write_split_record(path, *args):
    with open(path, "w") as handle:
        json.dump(split_record(*args), handle)
