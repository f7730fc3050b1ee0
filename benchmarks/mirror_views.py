"""How a model's mirror-image view differs from its single view on a split, and whether cheap
post-hoc fixes carry over to faces they were not fitted on:

- accuracy of the face alone, of its mirror image alone, of their mean (`evaluate --flip`), and
  how often the two views' top classes differ;
- per-class biases added to the log-probabilities (a coordinate search for the best accuracy),
  fitted on a random half of the split and scored on the other half, over several random halves:
  a positive mean gain would say the model's class priors are off for this split.

    .venv/bin/python benchmarks/mirror_views.py MODEL [--dataset fer2013 --data DIR --split test] [--halves 10]
"""

import argparse
import dataclasses

import numpy as np

from split_arguments import accuracy, add_split_arguments, load_split  # also puts the repository on sys.path

from keras_fer.inference import predict
from keras_fer.model_io import load_model

BIAS_GRID = np.linspace(-1, 1, 41)


def fit_class_biases(log_probabilities, labels, rounds=3):
    """Per-class additive biases maximising top-1 accuracy, one class at a time over BIAS_GRID."""
    biases = np.zeros(log_probabilities.shape[1])
    for _ in range(rounds):
        for column in range(len(biases)):
            scores = []
            for value in BIAS_GRID:
                trial = biases.copy()
                trial[column] = value
                scores.append(((log_probabilities + trial).argmax(axis=1) == labels).mean())
            biases[column] = BIAS_GRID[int(np.argmax(scores))]  # ties: the first, the most negative
    return biases


def held_out_bias_gains(probabilities, labels, halves, seed=0):
    """Accuracy gains (fraction) of biases fitted on one random half, scored on the other."""
    log_probabilities, rng, gains = np.log(np.maximum(probabilities, 1e-12)), np.random.default_rng(seed), []
    for _ in range(halves):
        order = rng.permutation(len(labels))
        for fit, held_out in ((order[::2], order[1::2]), (order[1::2], order[::2])):
            biases = fit_class_biases(log_probabilities[fit], labels[fit])
            plain = (log_probabilities[held_out].argmax(axis=1) == labels[held_out]).mean()
            biased = ((log_probabilities[held_out] + biases).argmax(axis=1) == labels[held_out]).mean()
            gains.append(biased - plain)
    return np.array(gains)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help=".keras file or pretrained name")
    parser.add_argument("--halves", type=int, default=10, help="random half splits for the bias check")
    add_split_arguments(parser)
    args = parser.parse_args()

    model, metadata = load_model(args.model)
    data = load_split(metadata, args.dataset, args.data, args.split)
    # The mirror image of the stored faces, predicted as any face is (as test_time_augmentation.py does).
    mirrored = dataclasses.replace(data, images=np.ascontiguousarray(data.images[:, :, ::-1]))
    single, mirror = predict(model, data), predict(model, mirrored)
    both = (single + mirror) / 2
    print(f"{args.model} on {args.split} ({len(data)} faces): single view {accuracy(single, data):.4f}, "
          f"mirror image {accuracy(mirror, data):.4f}, their mean {accuracy(both, data):.4f}; the views' top "
          f"classes differ on {(single.argmax(axis=1) != mirror.argmax(axis=1)).mean():.3f} of the faces")
    for name, probabilities in (("single view", single), ("mean of both views", both)):
        gains = held_out_bias_gains(probabilities, data.hard_labels, args.halves) * 100
        print(f"class biases fitted on half the faces, {name}: {gains.mean():+.2f} points on the other half "
              f"(sd {gains.std():.2f}, {len(gains)} fits)")


if __name__ == "__main__":
    main()
