"""Seconds to the first training step of `improved` (tracing included), with the optimizer's slot
variables created before the step (as `compile_for_training` does) or inside it (Keras' default
on TensorFlow without a distribution strategy, which makes TensorFlow trace the step twice).

    .venv/bin/python benchmarks/first_step.py [--size 32] [--optimizers sgd,adamw]

Each row runs in a fresh interpreter (traces are cached per process); an optimizer's two rows run
back to back, to see the same machine load. Prints first- and second-step seconds and the ratio.
"""

import argparse
import subprocess
import sys

CHILD = """
import sys, time, dataclasses
import keras, numpy as np
import keras_fer
from keras_fer.data.pipeline import with_input_layers
from keras_fer.training import RECIPES, compile_for_training, make_optimizer
optimizer, size, eager_build = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "before"
recipe = dataclasses.replace(RECIPES["strong"], optimizer=optimizer, momentum=0.9 if optimizer == "sgd" else 0.0)
network = keras_fer.build_variant("improved", input_size=size, input_channels=3, classes=7)
wrapper = compile_for_training(with_input_layers(network, 48, recipe.augment, 0), recipe)
if not eager_build:  # a fresh, unbuilt optimizer: Keras builds it inside the first traced step
    wrapper.compile(make_optimizer(recipe), wrapper.loss, metrics=["accuracy"], jit_compile=False)
x = np.random.default_rng(0).integers(0, 256, (32, 48, 48, 1), dtype=np.uint8)
y = np.eye(7, dtype="float32")[np.arange(32) % 7]
times = []
for _ in range(2):
    start = time.perf_counter()
    wrapper.train_on_batch(x, y)
    times.append(time.perf_counter() - start)
print(*times)
"""


def first_steps(optimizer, size, when):
    result = subprocess.run([sys.executable, "-c", CHILD, optimizer, str(size), when],
                            capture_output=True, text=True, check=True)
    return [float(t) for t in result.stdout.split()[-2:]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--optimizers", default="sgd,adamw")
    args = parser.parse_args()
    print(f"improved at {args.size}x{args.size}, batch 32, recipe strong's augmentation")
    print("| optimizer | slots built | first step (s) | second step (s) |")
    print("|---|---|---|---|")
    firsts = {}
    for optimizer in args.optimizers.split(","):
        for when in ("inside", "before"):
            first, second = first_steps(optimizer, args.size, when)
            firsts[optimizer, when] = first
            print(f"| {optimizer} | {when} the step | {first:.1f} | {second:.2f} |", flush=True)
    for optimizer in args.optimizers.split(","):
        ratio = firsts[optimizer, "inside"] / firsts[optimizer, "before"]
        print(f"{optimizer}: the first step is {ratio:.2f}x faster with the slots built before it")


if __name__ == "__main__":
    main()
