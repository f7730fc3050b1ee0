"""Accuracy on a split of a model, of a second model trained on other labels for the same classes
(the shipped `ferplus`, eight FER+ classes, for `fer2013`'s seven), and of their weighted mean:
whether a network of another label set is a useful ensemble member. The second model's classes
are matched by name (FER+'s "happiness" is FER2013's "happy", ...); its classes without a match
(contempt) are dropped and the rest renormalised.

    .venv/bin/python benchmarks/cross_label_ensemble.py fer2013 ferplus [--flip] \
        [--weights 0.2,0.3,0.4,0.5] [--dataset fer2013 --data ../shared/datasets/DATASET --split test]
"""

import argparse

import numpy as np

from split_arguments import accuracy, add_split_arguments, load_split  # also puts the repository on sys.path

from keras_fer.inference import predict
from keras_fer.model_io import load_model

# FER+ names of FER2013's classes; the others are spelled alike.
SAME_CLASS = {"happiness": "happy", "sadness": "sad", "anger": "angry"}


def matching_columns(classes, other_classes):
    """For each of `classes`, the index of the same class in `other_classes`."""
    renamed = [SAME_CLASS.get(name, name) for name in other_classes]
    missing = [name for name in classes if name not in renamed]
    if missing:
        raise SystemExit(f"the second model has no class for {missing} (its classes: {other_classes})")
    return [renamed.index(name) for name in classes]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="the model whose split and classes are scored")
    parser.add_argument("other", help="the model trained on other labels")
    parser.add_argument("--flip", action="store_true", help="each model's mirror-averaged probabilities")
    parser.add_argument("--weights", default="0.2,0.3,0.4,0.5", help="the second model's weights in the mean")
    add_split_arguments(parser)
    args = parser.parse_args()

    model, metadata = load_model(args.model)
    other, other_metadata = load_model(args.other)
    data = load_split(metadata, args.dataset, args.data, args.split)
    columns = matching_columns(metadata["class_names"], other_metadata["class_names"])
    mine = predict(model, data, flip=args.flip)
    theirs = predict(other, data, flip=args.flip)[:, columns]
    theirs /= theirs.sum(axis=1, keepdims=True)
    print(f"accuracy {accuracy(mine, data):.4f}  {args.model}")
    print(f"accuracy {accuracy(theirs, data):.4f}  {args.other} (classes matched)")
    for weight in (float(w) for w in args.weights.split(",")):
        print(f"accuracy {accuracy((1 - weight) * mine + weight * theirs, data):.4f}  weight {weight:g}")


if __name__ == "__main__":
    main()
