"""`keras_fer tune`: a keras-tuner search whose best trial is written as a recipe file."""

from keras_fer.cli.data_args import add_data_arguments, load_train_val, run_folder


def add_parser(commands):
    from keras_fer.models import variant_names

    parser = commands.add_parser("tune", help="search hyper-parameters; writes OUT/best_recipe.json")
    add_data_arguments(parser)
    parser.add_argument("--model", default="improved", choices=variant_names())
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--epochs-per-trial", type=int, default=3)
    parser.set_defaults(run=run)


def run(args):
    from keras_fer.tuning import tune

    out = run_folder(args, "tune")
    train, val, recipe = load_train_val(args, out)
    best, summary = tune(args.model, train, val, recipe, out, trials=args.trials, epochs=args.epochs_per_trial,
                         input_size=args.input_size, seed=args.seed)
    print(f"best of {len(summary)} trials: val_accuracy {summary[0]['val_accuracy']:.4f} with {summary[0]['values']}")
    print(f"recipe: {out / 'best_recipe.json'} (use: keras_fer train --recipe {out / 'best_recipe.json'} ...)")
    return 0
