"""`keras_fer train`: train a network on a data set with `model.fit` (see keras_fer.training)."""

import json
import pathlib


def add_parser(commands):
    from keras_fer.data import DATASETS
    from keras_fer.models import variant_names
    from keras_fer.training import RECIPES

    parser = commands.add_parser("train", help="train a model on FER2013, FER+, RaFD or a folder")
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument("--data", required=True, help="the data set's root folder (or fer2013.csv)")
    parser.add_argument("--model", default="improved", choices=variant_names())
    parser.add_argument("--out", required=True, help="run directory (checkpoints, history, config)")
    parser.add_argument("--recipe", default="paper", help=f"{' | '.join(RECIPES)} or a recipe JSON file")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--input-size", type=int, default=224)
    parser.add_argument("--input-channels", type=int, default=3, choices=(1, 3))
    parser.add_argument("--split", default="own", help="own | paper | TRAIN:VAL")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-budget", type=float, help="seconds; the schedule is fitted to it")
    parser.add_argument("--label-mode", default="majority", choices=("majority", "probability"),
                        help="FER+ labels")
    parser.add_argument("--on-bad", default="error", choices=("error", "skip"))
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run in --out from its last completed epoch")
    parser.set_defaults(run=run)


def run(args):
    import keras_fer
    from keras_fer.data import load_dataset, make_splits
    from keras_fer.training import fit, get_recipe

    out = pathlib.Path(args.out)
    if (out / "config.json").exists() and not args.resume:
        raise ValueError(f"{out} already holds a run; pass --resume to continue it, or choose another --out")
    options = {"label_mode": args.label_mode} if args.dataset == "ferplus" else {}
    splits = load_dataset(args.dataset, args.data, on_bad=args.on_bad, **options)
    train, val = make_splits(args.dataset, splits, split=args.split, seed=args.seed)
    skipped = train.skipped + [s for s in val.skipped if s not in train.skipped]
    if skipped:
        out.mkdir(parents=True, exist_ok=True)
        (out / "skipped.json").write_text(json.dumps(skipped, indent=1))
        print(f"skipped {len(skipped)} bad input(s); the list is in {out / 'skipped.json'}")
    recipe = get_recipe(args.recipe, epochs=args.epochs, batch_size=args.batch_size,
                        learning_rate=args.learning_rate)
    network = keras_fer.build_variant(args.model, input_size=args.input_size,
                                      input_channels=args.input_channels, classes=len(train.class_names))
    print(f"{args.model} on {args.dataset}: {len(train)} train / {len(val)} validation images, "
          f"{len(train.class_names)} classes, recipe {args.recipe}")
    history = fit(network, train, val, recipe, out, stored_size=train.images.shape[1], seed=args.seed,
                  time_budget=args.time_budget, dataset=args.dataset, split=args.split, verbose=2)
    best = max(history.history.get("val_accuracy", [float("nan")]))
    print(f"best validation accuracy {best:.4f}; model: {out / 'best.keras'}")
    return 0
