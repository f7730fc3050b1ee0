"""Data and recipe arguments shared by `train` and `experiment`."""

from keras_fer.cli.architecture_args import architecture_overrides

RUNS_VARIABLE = "KERAS_FER_RUNS"  # where runs go without --out: outside any checkout, so a fresh clone keeps them
DEFAULT_RUNS = "~/keras_fer_runs"
DEFAULT_INPUT_SIZE = 224  # the paper's, where neither --input-size nor the recipe sets one


def add_data_arguments(parser):
    from keras_fer.data import DATASETS
    from keras_fer.training import recipe_names

    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument("--data", required=True,
                        help="the data set's root folder (or fer2013.csv, or a face pack .npz of FER2013 and FER+)")
    parser.add_argument("--out", help=f"output directory (default: ${RUNS_VARIABLE}/NAME, ${RUNS_VARIABLE} defaulting "
                        f"to {DEFAULT_RUNS}, NAME from the data set, recipe, model, seed and time budget)")
    parser.add_argument("--recipe", default="paper",
                        help=f"a named recipe ({' | '.join(recipe_names())}; the shipped models' stages as "
                             "stages/NAME) or a recipe JSON file")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--input-size", type=int,
                        help=f"network input size (default: the recipe's, else {DEFAULT_INPUT_SIZE})")
    parser.add_argument("--split", default="own", help="own | paper | TRAIN:VAL")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label-mode", choices=("majority", "probability"),
                        help="FER+ labels (default: the recipe's, else majority)")
    parser.add_argument("--on-bad", default="error", choices=("error", "skip"))
    parser.add_argument("--limit", type=int, help="use a seeded random sample of N training images")


def run_folder(args, command):
    """--out, or $KERAS_FER_RUNS/NAME: the same command names the same folder, so that adding
    --resume finds the run. Sets args.out and returns it as a Path."""
    import os
    import pathlib

    if args.out is None:
        recipe = pathlib.Path(args.recipe).stem if args.recipe.endswith(".json") else args.recipe
        parts = [recipe if recipe.startswith(args.dataset) else f"{args.dataset}-{recipe}"]
        if command != "train":
            parts.insert(0, command)
        if getattr(args, "model", "improved") != "improved":
            parts.append(args.model)
        budget = getattr(args, "time_budget", None)  # a short version must not land in the long run's folder
        parts += [f"{flag}{value}" for flag, value in (("size", args.input_size), ("seed", args.seed),
                                                        ("limit", args.limit), ("budget", budget and f"{budget:g}"))
                  if value]
        parts += [f"{field}-{value}" for field, value in architecture_overrides(args).items()]
        root = pathlib.Path(os.environ.get(RUNS_VARIABLE) or DEFAULT_RUNS).expanduser()
        args.out = str(root / "-".join(parts))
        print(f"run folder: {pathlib.Path(args.out).resolve()}", flush=True)
    return pathlib.Path(args.out)


def dataset_options(args):
    """Loader options that only some data sets take (FER+'s label mode)."""
    return {"label_mode": args.label_mode} if args.dataset == "ferplus" else {}


def load_train_val(args, out):
    """(train, val, recipe) for the parsed arguments; bad inputs skipped are listed in out/skipped.json."""
    import json

    import numpy as np

    from keras_fer.data import load_dataset, make_splits
    from keras_fer.training import get_recipe

    recipe = get_recipe(args.recipe, epochs=args.epochs, batch_size=args.batch_size,
                        learning_rate=args.learning_rate)
    # What the command line leaves open, the recipe may fix (a reference recipe names its size).
    args.input_size = args.input_size or recipe.input_size or DEFAULT_INPUT_SIZE
    args.label_mode = args.label_mode or recipe.label_mode or "majority"
    splits = load_dataset(args.dataset, args.data, on_bad=args.on_bad, **dataset_options(args))
    train, val = make_splits(args.dataset, splits, split=args.split, seed=args.seed)
    if args.limit:
        train = train.subset(np.sort(np.random.default_rng(args.seed).permutation(len(train))[: args.limit]))
    skipped = train.skipped + [s for s in val.skipped if s not in train.skipped]
    if skipped:
        out.mkdir(parents=True, exist_ok=True)
        (out / "skipped.json").write_text(json.dumps(skipped, indent=1))
        print(f"skipped {len(skipped)} bad input(s); the list is in {out / 'skipped.json'}")
    return train, val, recipe
