"""Data and recipe arguments shared by `train` and `experiment`."""


def add_data_arguments(parser):
    from keras_fer.data import DATASETS
    from keras_fer.training import RECIPES

    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument("--data", required=True, help="the data set's root folder (or fer2013.csv)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--recipe", default="paper", help=f"{' | '.join(RECIPES)} or a recipe JSON file")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--input-size", type=int, default=224)
    parser.add_argument("--split", default="own", help="own | paper | TRAIN:VAL")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label-mode", default="majority", choices=("majority", "probability"),
                        help="FER+ labels")
    parser.add_argument("--on-bad", default="error", choices=("error", "skip"))
    parser.add_argument("--limit", type=int, help="use a seeded random sample of N training images")


def dataset_options(args):
    """Loader options that only some data sets take (FER+'s label mode)."""
    return {"label_mode": args.label_mode} if args.dataset == "ferplus" else {}


def load_train_val(args, out):
    """(train, val, recipe) for the parsed arguments; bad inputs skipped are listed in out/skipped.json."""
    import json

    import numpy as np

    from keras_fer.data import load_dataset, make_splits
    from keras_fer.training import get_recipe

    splits = load_dataset(args.dataset, args.data, on_bad=args.on_bad, **dataset_options(args))
    train, val = make_splits(args.dataset, splits, split=args.split, seed=args.seed)
    if args.limit:
        train = train.subset(np.sort(np.random.default_rng(args.seed).permutation(len(train))[: args.limit]))
    skipped = train.skipped + [s for s in val.skipped if s not in train.skipped]
    if skipped:
        out.mkdir(parents=True, exist_ok=True)
        (out / "skipped.json").write_text(json.dumps(skipped, indent=1))
        print(f"skipped {len(skipped)} bad input(s); the list is in {out / 'skipped.json'}")
    recipe = get_recipe(args.recipe, epochs=args.epochs, batch_size=args.batch_size,
                        learning_rate=args.learning_rate)
    return train, val, recipe
