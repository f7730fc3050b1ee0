"""Forward + backward time of one normalisation layer: keras.layers.GroupNormalization vs
keras_fer's GroupNormalization (same values, per-channel reductions) vs BatchNormalization
(training mode), side by side on the feature-map shapes `improved` has at 96x96, batch 64.

    .venv/bin/python benchmarks/group_norm.py [--reps 10]

Each: a tf.function computing d sum(y^2) / dx; median of --reps calls after one warm-up. Also
prints the largest difference between the two GroupNorms' outputs (they compute the same thing).
"""

import argparse
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_fer.layers import GroupNormalization  # noqa: E402

SHAPES = [(64, 48, 48, 16), (64, 24, 24, 72), (64, 12, 12, 240), (64, 6, 6, 960)]


def milliseconds(layer, x, reps):
    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.square(layer(x, training=True)))
        return tape.gradient(loss, x)

    step(x)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        step(x).numpy()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=10)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print("shape | keras GN ms | keras_fer GN ms (speed-up) | BN ms | max |difference|")
    for shape in SHAPES:
        x = tf.constant(rng.normal(1.0, 2.0, shape).astype("float32"))
        theirs = keras.layers.GroupNormalization(groups=8, epsilon=1e-3)
        ours = GroupNormalization(groups=8, epsilon=1e-3)
        batch = keras.layers.BatchNormalization(epsilon=1e-3)
        for layer in (theirs, ours, batch):
            layer.build(shape)
        weights = [rng.normal(1, 0.1, shape[-1]), rng.normal(0, 0.1, shape[-1])]
        theirs.set_weights(weights)
        ours.set_weights(weights)
        difference = float(np.abs(ours(x).numpy() - theirs(x).numpy()).max())
        t_theirs, t_ours, t_batch = (milliseconds(layer, x, args.reps) for layer in (theirs, ours, batch))
        print(f"{shape} | {t_theirs:.1f} | {t_ours:.1f} ({t_theirs / t_ours:.2f}x) | {t_batch:.1f} | {difference:.1e}",
              flush=True)


if __name__ == "__main__":
    main()
