"""Does the network learn from scratch? Validation accuracy per epoch of several variants, side by
side under one recipe, on a FER2013 subset (RESULTS.md, "Trainability").

    .venv/bin/python benchmarks/trainability.py --size 48 --images 10000 --epochs 3 \
        --runs improved improved_init first_conv mobilenetv3_large

`improved_faithful` is `improved` with Keras' default initialisers; `improved_init` adds identity-
initialised (dirac) dilated shortcuts to zero-initialised last norms of the residual blocks (the
registry's `improved` default); `improved_dirac` has the dirac shortcuts only. Prints one line per epoch and a table at the end.
"""

import argparse
import json
import pathlib
import tempfile

import numpy as np
from common import dataset_path, timed  # also puts the repository on sys.path

from keras_fer.data import load_dataset
from keras_fer.experiments import run_once
from keras_fer.training import get_recipe
RUNS = {
    "improved": ("improved", {}),  # the registry's (zero-initialised last norms)
    "improved_faithful": ("improved", {"zero_init_last_norm": False}),  # Keras default initialisers
    "improved_init": ("improved", {"shortcut_init": "dirac", "zero_init_last_norm": True}),
    "improved_dirac": ("improved", {"shortcut_init": "dirac", "zero_init_last_norm": False}),
    "improved_zero_last_norm": ("improved", {"zero_init_last_norm": True}),
    "first_conv": ("first_conv", {}),
    "mobilenetv3_large": ("mobilenetv3_large", {}),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=48)
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--recipe", default="strong")
    parser.add_argument("--runs", nargs="+", default=list(RUNS))
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    splits = load_dataset("fer2013", dataset_path("fer2013"))
    train = splits["train"].subset(np.sort(np.random.default_rng(0).permutation(len(splits["train"]))[: args.images]))
    val = splits["test"]
    recipe = get_recipe(args.recipe, epochs=args.epochs, batch_size=args.batch_size)
    results = {}
    for run in args.runs:
        name, extra = RUNS[run]
        with tempfile.TemporaryDirectory() as out:
            summary, seconds = timed(run_once, name, extra, train, val, recipe, out, args.size, 0,
                                     {"verbose": 0})
        results[run] = {"val_accuracy": [round(v, 4) for v in summary["val_accuracy"]],
                        "accuracy": [round(v, 4) for v in summary["accuracy"]],
                        "wall_s": round(seconds, 1)}
        print(run, json.dumps(results[run]), flush=True)
    print(f"\nFER2013, {len(train)} train images, {args.size}x{args.size}, recipe {args.recipe} "
          f"({args.epochs} epochs, batch {args.batch_size}); validation = test/ (PublicTest)")
    print("| run | " + " | ".join(f"val acc ep {e + 1}" for e in range(args.epochs)) + " | wall s |")
    print("|---|" + "---|" * (args.epochs + 1))
    for run, r in results.items():
        print(f"| {run} | " + " | ".join(f"{v:.3f}" for v in r["val_accuracy"]) + f" | {r['wall_s']} |")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
