"""`keras_fer` / `python -m keras_fer`: one sub-command per module of this package."""

import argparse
import sys

from keras_fer import allocator
from keras_fer.cli import benchmark, convert, evaluate, experiment, explain, info, predict, train, tune

COMMANDS = {"info": info, "train": train, "evaluate": evaluate, "experiment": experiment,
            "tune": tune, "convert": convert, "predict": predict, "explain": explain,
            "benchmark": benchmark}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="keras_fer",
        description="Facial expression recognition with the improved MobileNetV3 (Jiang et al. 2024).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        module.add_parser(commands)
    return parser


# Commands that train: worth a restart under a faster allocator (keras_fer.allocator).
TRAINING_COMMANDS = ("train", "experiment", "tune")


def main(argv=None):
    training = argv is None and len(sys.argv) > 1 and sys.argv[1] in TRAINING_COMMANDS
    if training and not {"-h", "--help"} & set(sys.argv):
        allocator.restart_with_training_allocator()
    args = build_parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except (ValueError, FileNotFoundError) as error:  # BadInputError is a ValueError
        print(f"keras_fer {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
