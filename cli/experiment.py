"""`keras_fer experiment ablation|repeat`: the paper's Table 4 and Table 3 as commands."""

from keras_fer.cli.data_args import add_data_arguments, load_train_val, run_folder


def add_parser(commands):
    from keras_fer.models import variant_names

    parser = commands.add_parser("experiment", help="the paper's ablation (Table 4) or repeated runs (Table 3)")
    kinds = parser.add_subparsers(dest="kind", required=True)
    ablation = kinds.add_parser("ablation", help="train the five variants under one recipe")
    add_data_arguments(ablation)
    ablation.add_argument("--variants", nargs="+", choices=variant_names())
    ablation.add_argument("--report-epochs", type=int, nargs="+", help="default: 1 2 3 4 5 10 20 30")
    repeat = kinds.add_parser("repeat", help="mean +- std of the final accuracy over several runs")
    add_data_arguments(repeat)
    repeat.add_argument("--model", default="improved", choices=variant_names())
    repeat.add_argument("--runs", type=int, default=5)
    parser.set_defaults(run=run)


def run(args):
    from keras_fer import experiments

    out = run_folder(args, f"experiment-{args.kind}")
    train, val, recipe = load_train_val(args, out)
    options = {"fit_options": {"dataset": args.dataset, "split": args.split, "verbose": 2},
               "input_size": args.input_size, "seed": args.seed}
    if args.kind == "ablation":
        _, table = experiments.ablation(train, val, recipe, out, variants=args.variants,
                                        epochs=args.report_epochs, **options)
        print(f"validation accuracy (%) after N epochs; {args.dataset}, {recipe.epochs} epochs, recipe {args.recipe}")
    else:
        _, table = experiments.repeat(args.model, train, val, recipe, out, runs=args.runs, **options)
    print(table)
    print(f"written to {out}")
    return 0
