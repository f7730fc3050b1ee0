"""Train a keras_fer network from `.npz` face caches, on any Keras backend (JAX on a GPU, no TF).

    KERAS_BACKEND=jax python scripts/train_arrays.py --train fer2013_train.npz --val fer2013_test.npz \
        --model improved --input-size 96 --recipe strong --batch-size 128 --time-budget 300 --out runs/x

--train / --val take a `LabeledImages.save_npz` cache or `PACK.npz#NAME`, a split of a
`scripts/face_pack.py` pack (e.g. `.gpu/faces.npz#ferplus/train/majority`).

Checks itself on the CPU with a tiny run: `--limit 256 --epochs 1`.
"""

import argparse
import json
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_fer  # noqa: E402
from keras_fer.data.labeled import LabeledImages  # noqa: E402
from keras_fer.model_io import initialise_from  # noqa: E402
from keras_fer.training import fit, get_recipe  # noqa: E402


def load_arrays(spec):
    if "#" in spec:
        import face_pack

        path, name = spec.split("#", 1)
        return face_pack.load(path, name)
    return LabeledImages.load_npz(spec)


def dataset_name(spec):
    """fer2013 / ferplus for a pack split, else the cache's file name (fer2013_train)."""
    return spec.split("#", 1)[1].split("/")[0] if "#" in spec else pathlib.Path(spec).stem


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", required=True)
    parser.add_argument("--val", required=True)
    parser.add_argument("--model", default="improved")
    parser.add_argument("--input-size", type=int, default=96)
    parser.add_argument("--input-channels", type=int, default=3)
    parser.add_argument("--recipe", default="strong")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--time-budget", type=float, help="seconds; stop before overrunning")
    parser.add_argument("--limit", type=int, help="use the first N images (smoke test)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--builder", default="{}", help="JSON of extra builder arguments")
    parser.add_argument("--init-from", metavar="MODEL",
                        help="copy the weights of every matching layer (all but the classifier when the classes "
                             "differ) from a .keras file or a pretrained model's name")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    train, val = load_arrays(args.train), load_arrays(args.val)
    if args.limit:  # a random sample: the caches are sorted by class
        rng = np.random.default_rng(args.seed)
        train, val = (d.subset(np.sort(rng.permutation(len(d))[:args.limit])) for d in (train, val))
    recipe = get_recipe(args.recipe, batch_size=args.batch_size, learning_rate=args.learning_rate,
                        epochs=args.epochs)
    network = keras_fer.build_variant(args.model, input_size=args.input_size, input_channels=args.input_channels,
                                      classes=len(train.class_names), **json.loads(args.builder))
    if args.init_from:
        print(initialise_from(network, args.init_from))
    start = time.time()
    history = fit(network, train, val, recipe, args.out, stored_size=train.images.shape[1], seed=args.seed,
                  time_budget=args.time_budget, dataset=dataset_name(args.train), verbose=2)
    summary = {"backend": keras.backend.backend(), "model": args.model, "input_size": args.input_size,
               "recipe": args.recipe, "epochs_run": len(history.history["loss"]),
               "wall_s": round(time.time() - start, 1),
               "best_val_accuracy": max(history.history["val_accuracy"]),
               "val_accuracy": history.history["val_accuracy"], "builder": json.loads(args.builder),
               "init_from": args.init_from, "train": args.train, "val": args.val}
    pathlib.Path(args.out, "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
