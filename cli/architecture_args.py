"""The architecture's switches as options (`--attention`, `--norm`, `--shortcut`) of `info` and `train`.

One option per registry of keras_fer.models.registry, its choices the registry's names: a newly
registered attention is offered here without touching the command line.
"""


def add_architecture_arguments(parser):
    from keras_fer.models.registry import REGISTRIES

    for field, registry in REGISTRIES.items():
        parser.add_argument(f"--{field}", choices=list(registry),
                            help=f"the network's {field} in place of the --model variant's")


def architecture_overrides(args):
    """The switches given on the command line, as ArchitectureConfig fields."""
    from keras_fer.models.registry import REGISTRIES

    return {field: getattr(args, field) for field in REGISTRIES if getattr(args, field, None) is not None}
