"""What the benchmarks share: the repository on sys.path (import this module first), where the data
sets are, the --dataset / --data / --split arguments of the scripts that probe a trained model, the
split they name loaded as the model expects it, top-1 accuracy, timing, and side-by-side ratios."""

import os
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from keras_fer.data import load_dataset  # noqa: E402
from keras_fer.evaluation import load_split_for_model  # noqa: E402

# As the tests: $KERAS_FER_DATASETS, else ../shared/datasets beside the checkout.
DATASETS = pathlib.Path(os.environ.get("KERAS_FER_DATASETS", ROOT.parent / "shared" / "datasets"))


def dataset_path(name="fer2013"):
    return DATASETS / name


def add_split_arguments(parser):
    parser.add_argument("--dataset", default="fer2013")
    parser.add_argument("--data", help="default: $KERAS_FER_DATASETS/DATASET")
    parser.add_argument("--split", default="test")


def load_split(metadata, dataset="fer2013", data=None, split="test"):
    """The split's faces, preprocessed and labelled as a model's `metadata` says."""
    return load_split_for_model(metadata or {}, dataset, data or dataset_path(dataset), split)


def accuracy(probabilities, data):
    return float((probabilities.argmax(axis=1) == data.hard_labels).mean())


def test_faces(seed=0):
    """FER2013 test/ faces with their raw (not equalized) pixels, in a seeded permutation: the faces
    the photo benchmarks place on photos."""
    test = load_dataset("fer2013", dataset_path("fer2013"), equalize=False)["test"]
    return test.images[np.random.default_rng(seed).permutation(len(test))]


def timed(function, *args, **kwargs):
    """(function's result, seconds it took)."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def median_seconds(function, calls, warmup=1):
    """Median seconds of `calls` calls of `function()` after `warmup` untimed ones."""
    for _ in range(warmup):
        function()
    return statistics.median(timed(function)[1] for _ in range(calls))


def with_ratios(values, base, digits=1):
    """'name value (ratio to values[base]x), ...' for side-by-side rows of one run."""
    reference = values.get(base)
    return ", ".join(f"{name} {value:.{digits}f}" + (f" ({value / reference:.2f}x)" if reference else "")
                     for name, value in values.items())
