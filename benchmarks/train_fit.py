"""How well models fit their training set: accuracy on a seeded sample of clean training faces
(no augmentation, no mixup) beside the validation split, for each model, side by side.

    .venv/bin/python benchmarks/train_fit.py MODEL [MODEL ...] [--dataset fer2013] [--faces 3000]

MODEL is a .keras file or a pretrained name. A small gap between the two means the recipe has not
fitted the training set yet (underfitting); the shipped models are the yardstick.
"""

import argparse

import numpy as np
from common import accuracy, load_split  # also puts the repository on sys.path

from keras_fer.data.splits import OWN_SPLITS
from keras_fer.inference import predict
from keras_fer.model_io import load_model


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="+")
    parser.add_argument("--dataset", choices=sorted(OWN_SPLITS), default="fer2013")
    parser.add_argument("--faces", type=int, default=3000, help="training faces sampled (seed 0)")
    args = parser.parse_args()
    print(f"{'model':<60} {'train':>7} {'validation':>10} {'gap':>6}")
    for name in args.models:
        model, metadata = load_model(name)
        train, validation = (load_split(metadata, args.dataset, split=split) for split in OWN_SPLITS[args.dataset])
        train = train.subset(np.sort(np.random.default_rng(0).choice(len(train), min(args.faces, len(train)),
                                                                      replace=False)))
        fit, held = (accuracy(predict(model, data), data) for data in (train, validation))
        print(f"{name:<60} {fit:>7.4f} {held:>10.4f} {fit - held:>6.3f}")


if __name__ == "__main__":
    main()
