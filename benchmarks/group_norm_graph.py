"""Graph size and tracing time of `improved` with keras_fer's GroupNormalization broadcasting each
group's mean back to its channels by a product with ones (the package), by `ops.repeat` (its
formulation before), or traced as Keras' own 5-D formulation; side by side in one run.

    .venv/bin/python benchmarks/group_norm_graph.py [--size 32] [--rounds 2]

Each row runs in a fresh interpreter (traces are cached per process), the formulations taking
turns for --rounds rounds: the op count of the forward graph (training mode, TF), and seconds to
the first AdamW training step (tracing included, batch 64) and to the first predict. Ratios are
of the medians, against the package's formulation. Steady-state training speed is
benchmarks/train_throughput.py's.
"""

import argparse
import json
import statistics
import subprocess
import sys

CHILD = """
import json, sys, time
import keras, numpy as np, tensorflow as tf
from keras import ops
import keras_fer
from keras_fer.layers import GroupNormalization
from keras_fer.training import RECIPES, compile_for_training

formulation, size = sys.argv[1], int(sys.argv[2])
if formulation == "repeat":
    def repeat_group_mean(self, per_channel):  # the package's formulation before the product with ones
        channels = per_channel.shape[-1]
        per_group = channels // self.groups
        grouped = ops.mean(ops.reshape(per_channel, (-1, self.groups, per_group)), axis=-1, keepdims=True)
        return ops.reshape(ops.repeat(grouped, per_group, axis=-1), (-1, 1, 1, channels))
    GroupNormalization._group_mean = repeat_group_mean
if formulation == "keras":
    GroupNormalization._use_keras_formulation = True

network = keras_fer.build_variant("improved", input_size=size, classes=7)
compile_for_training(network, RECIPES["strong"])
graph = tf.function(lambda x: network(x, training=True)).get_concrete_function(
    tf.TensorSpec((None, size, size, 3))).graph
x = np.random.default_rng(0).uniform(0, 255, (64, size, size, 3)).astype("float32")
y = np.eye(7, dtype="float32")[np.arange(64) % 7]
start = time.perf_counter(); network.train_on_batch(x, y); first_step = time.perf_counter() - start
start = time.perf_counter(); network.predict(x, verbose=0); first_predict = time.perf_counter() - start
print(json.dumps({"ops": len(graph.get_operations()), "first_step": first_step,
                  "first_predict": first_predict}))
"""

FORMULATIONS = ("ones", "repeat", "keras")


def measure(formulation, size):
    result = subprocess.run([sys.executable, "-c", CHILD, formulation, str(size)],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(f"improved at {args.size}x{args.size}: forward graph; first AdamW step and first predict, batch 64")
    runs = {formulation: [] for formulation in FORMULATIONS}
    for _ in range(args.rounds):
        for formulation in FORMULATIONS:
            runs[formulation].append(measure(formulation, args.size))
    print("| GroupNorm formulation | forward ops | first step (s) | first predict (s) |")
    print("|---|---|---|---|")
    medians = {}
    for formulation, rows in runs.items():
        medians[formulation] = {key: statistics.median(row[key] for row in rows) for key in rows[0]}
        cells = [" / ".join(f"{row[key]:.1f}" for row in rows) for key in ("first_step", "first_predict")]
        print(f"| {formulation} | {rows[0]['ops']} | {cells[0]} | {cells[1]} |")
    base = medians["ones"]
    for formulation in FORMULATIONS[1:]:
        row = medians[formulation]
        print(f"{formulation} vs ones: {row['ops'] / base['ops']:.2f}x the ops; first step "
              f"{row['first_step'] / base['first_step']:.2f}x as long, first predict "
              f"{row['first_predict'] / base['first_predict']:.2f}x")


if __name__ == "__main__":
    main()
