"""Accuracy on a split of weights interpolated between two models of one architecture:
(1 - a) * A + a * B for each a. Fine-tunes that start from the same model often stay in one basin,
where the average of their weights can beat both (a "model soup"); at no extra inference cost,
unlike averaging their predictions. A GroupNorm network has no batch statistics to re-estimate.

    .venv/bin/python benchmarks/weight_interpolation.py A.keras B.keras [--alphas 0,0.25,0.5,0.75,1] \
        [--dataset fer2013 --data $KERAS_FER_DATASETS/DATASET --split test] [--save-best OUT.keras]
"""

import argparse

from common import accuracy, add_split_arguments, load_split, timed  # also puts the repository on sys.path

from keras_fer.inference import predict
from keras_fer.model_io import load_model, save_model


def interpolate(weights_a, weights_b, alpha):
    return [(1 - alpha) * a + alpha * b for a, b in zip(weights_a, weights_b)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--alphas", default="0,0.25,0.5,0.75,1")
    add_split_arguments(parser)
    parser.add_argument("--save-best", help="write the best interpolation here (.keras, with A's metadata)")
    args = parser.parse_args()

    model_a, metadata = load_model(args.a)
    model_b, _ = load_model(args.b)
    if [w.shape for w in model_a.weights] != [w.shape for w in model_b.weights]:
        raise SystemExit(f"{args.a} and {args.b} are not the same architecture")
    weights_a, weights_b = model_a.get_weights(), model_b.get_weights()
    data = load_split(metadata, args.dataset, args.data, args.split)

    best = (-1.0, None)
    for alpha in [float(a) for a in args.alphas.split(",")]:
        model_a.set_weights(interpolate(weights_a, weights_b, alpha))
        probabilities, seconds = timed(predict, model_a, data)
        score = accuracy(probabilities, data)
        print(f"alpha {alpha:.2f}  accuracy {score:.4f}  ({seconds:.0f} s)", flush=True)
        best = max(best, (score, alpha))
    if args.save_best:
        model_a.set_weights(interpolate(weights_a, weights_b, best[1]))
        save_model(model_a, args.save_best, {**metadata, "interpolation": {"a": args.a, "b": args.b,
                                                                           "alpha": best[1]}})
        print(f"saved alpha {best[1]} ({best[0]:.4f}) to {args.save_best}")


if __name__ == "__main__":
    main()
