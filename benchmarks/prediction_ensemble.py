"""Accuracy on a split of each model alone and of the mean of their class probabilities, for every
subset of two or more models: what an ensemble of already-trained networks would buy, at the
inference cost of all its members (unlike `weight_interpolation.py`, whose average costs one).
Each model is predicted once; the subsets reuse those probabilities.

    .venv/bin/python benchmarks/prediction_ensemble.py A.keras B.keras [C.keras ...] [--flip] \
        [--dataset fer2013 --data $KERAS_FER_DATASETS/DATASET --split test]
"""

import argparse
import itertools

import numpy as np

from common import accuracy, add_split_arguments, load_split, timed  # also puts the repository on sys.path

from keras_fer.inference import predict
from keras_fer.model_io import load_model


def ensemble_accuracies(probabilities, data):
    """{tuple of member indices: accuracy of their mean probabilities} for every subset of one or
    more members."""
    members = range(len(probabilities))
    return {subset: accuracy(np.mean([probabilities[i] for i in subset], axis=0), data)
            for size in range(1, len(probabilities) + 1)
            for subset in itertools.combinations(members, size)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="two or more .keras files or pretrained names")
    parser.add_argument("--flip", action="store_true", help="each model's mirror-averaged probabilities")
    add_split_arguments(parser)
    args = parser.parse_args()
    if len(args.models) < 2:
        parser.error("give two or more models")

    probabilities, data, classes = [], None, None
    for name in args.models:
        (model, metadata), seconds = timed(load_model, name)
        if classes is not None and metadata.get("class_names") != classes:
            raise SystemExit(f"{name} predicts {metadata.get('class_names')}, not {classes}")
        classes = metadata.get("class_names")
        data, load_seconds = timed(load_split, metadata, args.dataset, args.data, args.split)
        result, predict_seconds = timed(predict, model, data, flip=args.flip)
        probabilities.append(result)
        print(f"predicted {name} ({seconds + load_seconds + predict_seconds:.0f} s)", flush=True)

    for subset, accuracy in ensemble_accuracies(probabilities, data).items():
        print(f"accuracy {accuracy:.4f}  {' + '.join(args.models[i] for i in subset)}")


if __name__ == "__main__":
    main()
