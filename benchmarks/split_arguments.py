"""What the benchmarks that probe a trained model share: the --dataset / --data / --split arguments,
the split they name loaded as the model expects it, and top-1 accuracy of probabilities on it."""

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from keras_fer.evaluation import load_split_for_model  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"


def add_split_arguments(parser):
    parser.add_argument("--dataset", default="fer2013")
    parser.add_argument("--data", help="default: ../shared/datasets/DATASET")
    parser.add_argument("--split", default="test")


def load_split(metadata, dataset="fer2013", data=None, split="test"):
    """The split's faces, preprocessed and labelled as a model's `metadata` says."""
    return load_split_for_model(metadata or {}, dataset, data or DATASETS / dataset, split)


def accuracy(probabilities, data):
    return float((probabilities.argmax(axis=1) == data.hard_labels).mean())
