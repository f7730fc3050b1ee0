"""How well models fit their training set: accuracy on a seeded sample of clean training faces
(no augmentation, no mixup) beside the validation split, for each model, side by side.

    .venv/bin/python benchmarks/train_fit.py MODEL [MODEL ...] [--dataset fer2013] [--faces 3000]

MODEL is a .keras file or a pretrained name. A small gap between the two means the recipe has not
fitted the training set yet (underfitting); the shipped models are the yardstick.
"""

import argparse

import numpy as np
from common import dataset_path  # also puts the repository on sys.path

from keras_fer.evaluation import load_split_for_model
from keras_fer.inference import predict
from keras_fer.model_io import load_model

VALIDATION = {"fer2013": "test", "ferplus": "valid"}


def accuracy(model, data):
    return float(np.mean(predict(model, data).argmax(-1) == np.asarray(data.labels)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="+")
    parser.add_argument("--dataset", choices=sorted(VALIDATION), default="fer2013")
    parser.add_argument("--faces", type=int, default=3000, help="training faces sampled (seed 0)")
    args = parser.parse_args()
    print(f"{'model':<60} {'train':>7} {'validation':>10} {'gap':>6}")
    for name in args.models:
        model, metadata = load_model(name)
        splits = {split: load_split_for_model(metadata, args.dataset, dataset_path(args.dataset), split)
                  for split in ("train", VALIDATION[args.dataset])}
        train = splits["train"]
        sample = np.sort(np.random.default_rng(0).choice(len(train), min(args.faces, len(train)), replace=False))
        fit, validation = accuracy(model, train.subset(sample)), accuracy(model, splits[VALIDATION[args.dataset]])
        print(f"{name:<60} {fit:>7.4f} {validation:>10.4f} {fit - validation:>6.3f}")


if __name__ == "__main__":
    main()
