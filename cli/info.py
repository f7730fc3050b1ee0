"""`keras_fer info`: the built network's block table, parameter count and attention cost."""

import json

from keras_fer.cli.architecture_args import add_architecture_arguments, architecture_overrides


def add_parser(commands):
    from keras_fer.models import variant_names

    parser = commands.add_parser("info", help="print a model's block table and parameter count")
    parser.add_argument("--model", default="improved", choices=variant_names())
    parser.add_argument("--classes", type=int, default=7)
    parser.add_argument("--input-size", type=int, default=224)
    parser.add_argument("--input-channels", type=int, default=3, choices=(1, 3))
    add_architecture_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args):
    from keras_fer.models import build_model, variant_config
    from keras_fer.models.summary import attention_cost, block_table, format_table

    config = variant_config(args.model).replace(**architecture_overrides(args))
    model = build_model(args.input_size, args.input_channels, args.classes, config=config, name=args.model)
    rows = block_table(config, args.input_size, args.input_channels, args.classes)
    cost = attention_cost(rows)
    report = {
        "model": args.model,
        "params": model.count_params(),
        "trainable_params": sum(int(w.numpy().size) for w in model.trainable_weights),
        "input_shape": list(model.input_shape[1:]),
        "classes": args.classes,
        "architecture": config.to_dict(),
        "attention_cost": cost,
        "blocks": rows,
    }
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{args.model}: {report['params']:,} parameters "
          f"({report['trainable_params']:,} trainable), input {tuple(report['input_shape'])}, "
          f"{args.classes} classes")
    print(format_table(rows))
    print()
    print(f"Attention (paper's Table 1) over the {cost['attention_blocks']} attention blocks: "
          f"SE would cost 2C^2/r = {cost['se_params_2c2_over_r']:,} parameters (r = 4), "
          f"SimAM costs {cost['simam_params']}.")
    print("Architecture: " + ", ".join(f"{field}={value}" for field, value in config.to_dict().items()))
    return 0
