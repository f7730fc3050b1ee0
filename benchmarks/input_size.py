"""A trained model's weights evaluated at other input sizes: does a larger (or smaller) enlargement
of the stored 48x48 face than the one it was trained at buy accuracy ("FixRes", Touvron et al.,
2019)? The network is fully convolutional up to its global pooling, so the same weights run at any
size; the model is rebuilt from its own config with another input shape.

    .venv/bin/python benchmarks/input_size.py MODEL [--sizes 88,96,104,112] [--dataset ... --data ... --split test]
"""

import argparse

import keras

from split_arguments import accuracy, add_split_arguments, load_split  # also puts the repository on sys.path

from keras_fer.inference import predict
from keras_fer.model_io import load_model


def at_input_size(model, size):
    """The same functional model and weights with a (size, size) input."""
    config = model.get_config()
    for layer in config["layers"]:
        if layer["class_name"] == "InputLayer":
            shape = list(layer["config"]["batch_shape"])
            layer["config"]["batch_shape"] = [shape[0], size, size, shape[3]]
    resized = keras.Model.from_config(config)
    resized.set_weights(model.get_weights())
    return resized


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help=".keras file or pretrained name")
    parser.add_argument("--sizes", default="88,96,104,112", help="input sizes, comma-separated")
    add_split_arguments(parser)
    args = parser.parse_args()

    model, metadata = load_model(args.model)
    data = load_split(metadata, args.dataset, args.data, args.split)
    print(f"{args.model}, trained at {model.input_shape[1]}, on {args.split} ({len(data)} faces):")
    for size in (int(s) for s in args.sizes.split(",")):
        resized = model if size == model.input_shape[1] else at_input_size(model, size)
        print(f"  input {size}x{size}: {accuracy(predict(resized, data), data):.4f}", flush=True)


if __name__ == "__main__":
    main()
