"""Training images/s of `improved` vs `mobilenetv3_large` vs keras.applications.MobileNetV3Large,
side by side in one run (same machine, same moment), at several input sizes and batch sizes.

    .venv/bin/python benchmarks/train_throughput.py [--sizes 224 96] [--batches 16 64] [--steps 5]

Each model: compiled with SGD (no XLA: it is slower for this network on a TF CPU), two warm-up
steps, then `--steps` timed train_on_batch calls on a fixed batch. Ratios are against
`mobilenetv3_large` measured in the same round. `improved_keras_gn` is `improved` with every
GroupNorm traced as keras.layers.GroupNormalization's own 5-D formulation (the A/B of keras_fer's
per-channel formulation, keras_fer.layers.GroupNormalization).
"""

import argparse
import contextlib

import keras
import numpy as np
from common import timed, with_ratios  # also puts the repository on sys.path

import keras_fer
from keras_fer.layers import GroupNormalization

MODELS = {
    "improved": lambda size: keras_fer.build_variant("improved", input_size=size, classes=7),
    "improved_keras_gn": lambda size: keras_fer.build_variant("improved", input_size=size, classes=7),
    "first_conv": lambda size: keras_fer.build_variant("first_conv", input_size=size, classes=7),
    "mobilenetv3_large": lambda size: keras_fer.build_variant("mobilenetv3_large", input_size=size, classes=7),
    "keras.applications": lambda size: keras.applications.MobileNetV3Large(
        input_shape=(size, size, 3), weights=None, classes=7, include_preprocessing=True),
}


def images_per_second(model, batch, steps):
    model.compile(keras.optimizers.SGD(1e-3, momentum=0.9), "categorical_crossentropy", jit_compile=False)
    rng = np.random.default_rng(0)
    size = model.input_shape[1]
    x = rng.uniform(0, 255, (batch, size, size, 3)).astype("float32")
    y = np.eye(7, dtype="float32")[rng.integers(0, 7, batch)]
    for _ in range(2):
        model.train_on_batch(x, y)
    _, seconds = timed(lambda: [model.train_on_batch(x, y) for _ in range(steps)])
    return steps * batch / seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[224, 96])
    parser.add_argument("--batches", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    args = parser.parse_args()
    print(f"keras {keras.__version__} ({keras.backend.backend()}); train images/s, ratio vs mobilenetv3_large")
    for size in args.sizes:
        for batch in args.batches:
            rates = {}
            for name in args.models:
                with (GroupNormalization.keras_formulation() if name.endswith("_keras_gn")
                      else contextlib.nullcontext()):  # read when train_on_batch traces
                    rates[name] = images_per_second(MODELS[name](size), batch, args.steps)
            print(f"{size}x{size} batch {batch}: {with_ratios(rates, 'mobilenetv3_large')}", flush=True)


if __name__ == "__main__":
    main()
