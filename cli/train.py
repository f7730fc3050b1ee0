"""`keras_fer train`: train a network on a data set with `model.fit` (see keras_fer.training)."""

from keras_fer.cli.architecture_args import add_architecture_arguments, architecture_overrides
from keras_fer.cli.data_args import add_data_arguments, load_train_val, run_folder


def add_parser(commands):
    from keras_fer.models import variant_names

    parser = commands.add_parser("train", help="train a model on FER2013, FER+, RaFD or a folder")
    add_data_arguments(parser)
    parser.add_argument("--model", default="improved", choices=variant_names())
    add_architecture_arguments(parser)
    parser.add_argument("--input-channels", type=int, default=3, choices=(1, 3))
    parser.add_argument("--time-budget", type=float, help="seconds of training in all (a --resume continues the same plan); the schedule is fitted to it")
    parser.add_argument("--strategy", default="default", choices=("default", "mirrored", "multiworker"),
                        help="tf.distribute strategy (TensorFlow backend): mirrored = all local GPUs/CPUs")
    parser.add_argument("--mixed-precision", action="store_true",
                        help="mixed_float16 compute (GPUs); the output layer stays float32")
    parser.add_argument("--init-from", metavar="MODEL",
                        help="start from a trained .keras (or pretrained name): every layer whose name and "
                        "shapes match is copied (fine-tuning; the classifier when the classes differ is not)")
    parser.add_argument("--teacher", action="append", metavar="MODEL",
                        help="distil: blend the labels with this trained model's probabilities (repeat for the "
                        "mean of several; keras_fer.distillation)")
    parser.add_argument("--teacher-weight", type=float, default=0.5,
                        help="the teachers' share of each target (default 0.5; 1 = their probabilities only)")
    parser.add_argument("--teacher-flip", action="store_true",
                        help="teachers predict each face as the mean of it and its mirror image (as evaluate --flip)")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run in --out from its last completed epoch")
    parser.set_defaults(run=run)


def distribution_scope(name):
    """The tf.distribute strategy's scope ("default": no distribution)."""
    import contextlib

    if name == "default":
        return contextlib.nullcontext()
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ValueError(f"--strategy {name} needs the TensorFlow backend (KERAS_BACKEND=tensorflow)")
    import tensorflow as tf

    strategy = (tf.distribute.MirroredStrategy() if name == "mirrored"
                else tf.distribute.MultiWorkerMirroredStrategy())
    print(f"{name} strategy over {strategy.num_replicas_in_sync} replica(s)")
    return strategy.scope()


def run(args):
    import keras_fer
    from keras_fer.training import fit

    out = run_folder(args, "train")
    if (out / "config.json").exists() and not args.resume:
        raise ValueError(f"{out} already holds a run; pass --resume to continue it, or choose another --out")
    if args.resume and (out / "history.csv").exists() and not (out / "backup").exists():
        # BackupAndRestore removes its backup when a run completes: resuming would start over.
        raise ValueError(f"{out} holds a finished run (no backup/ to resume from); choose another --out")
    train, val, recipe = load_train_val(args, out)
    provenance = {}
    if args.teacher:
        from keras_fer.distillation import TEACHER_TARGETS, distill

        out.mkdir(parents=True, exist_ok=True)
        print(f"teacher probabilities for {len(train)} training faces from {', '.join(args.teacher)}", flush=True)
        train = distill(train, args.teacher, args.teacher_weight, out / TEACHER_TARGETS, flip=args.teacher_flip)
        provenance = {"teachers": [str(teacher) for teacher in args.teacher], "teacher_weight": args.teacher_weight,
                      "teacher_flip": args.teacher_flip}
    if args.mixed_precision:
        import keras

        keras.mixed_precision.set_global_policy("mixed_float16")
    with distribution_scope(args.strategy):  # the model and its optimizer are created inside
        network = keras_fer.build_variant(args.model, input_size=args.input_size,
                                          input_channels=args.input_channels, classes=len(train.class_names),
                                          **{**recipe.model_options, **architecture_overrides(args)})
        if args.init_from and not args.resume:  # a resumed run restores its own weights
            from keras_fer.model_io import initialise_from

            print(initialise_from(network, args.init_from))
        print(f"{args.model} on {args.dataset}: {len(train)} train / {len(val)} validation images, "
              f"{len(train.class_names)} classes, recipe {args.recipe}, strategy {args.strategy}", flush=True)
        fit(network, train, val, recipe, out, seed=args.seed, time_budget=args.time_budget,
            dataset=args.dataset, split=args.split, verbose=2, provenance=provenance)
    print(best_summary(out))
    return 0


def best_summary(out):
    """The run's best epoch, from best.json: after a --resume, the epochs this process trained may
    all score under the best.keras of an earlier leg (this line used to report their best)."""
    from keras_fer.training import best_record

    record = best_record(out)
    if not record:  # a NaN loss, or only a progressive recipe's small-size epochs so far: no best.keras
        return f"no best.keras yet; model: {out / 'last.keras'}"
    return (f"best validation accuracy {record['val_accuracy']:.4f} (epoch {record['epoch']}); "
            f"model: {out / 'best.keras'}")
