"""First-epoch time (compilation included) of `improved` with and without a smaller last training
batch, each in its own process, on any Keras backend. A ragged last batch has another shape, so the
train step is traced (TF) or compiled (JAX/XLA) twice; `ArrayBatches(drop_remainder=True)`, as
training uses it, keeps one shape.

    KERAS_BACKEND=jax .venv/bin/python benchmarks/ragged_batch.py [--faces 200 --batch-size 64]
"""

import argparse
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def one_run(drop, faces, batch_size, size):
    import keras_fer
    from keras_fer.data import load_dataset
    from keras_fer.data.pipeline import ArrayBatches, with_input_layers
    from keras_fer.training import Recipe, compile_for_training

    data = load_dataset("fer2013", ROOT.parent / "shared" / "datasets" / "fer2013")["test"].subset(range(faces))
    network = keras_fer.build_variant("improved", input_size=size, classes=7)
    wrapper = compile_for_training(with_input_layers(network, 48, "standard", 0), Recipe())
    batches = ArrayBatches(data, batch_size, shuffle=True, drop_remainder=drop)
    times = []
    for _ in range(2):
        start = time.perf_counter()
        wrapper.fit(batches, epochs=1, verbose=0)
        times.append(time.perf_counter() - start)
    return len(batches), times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--faces", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--input-size", type=int, default=48)
    parser.add_argument("--child", choices=["ragged", "drop"])
    args = parser.parse_args()
    if args.child:
        n, (first, second) = one_run(args.child == "drop", args.faces, args.batch_size, args.input_size)
        print(f"{first} {second} {n}")
        return
    import keras

    print(f"backend {keras.backend.backend()}, {args.faces} faces, batch {args.batch_size}, "
          f"{args.input_size}x{args.input_size}")
    results = {}
    for child in ("ragged", "drop"):
        out = subprocess.run([sys.executable, __file__, "--child", child, "--faces", str(args.faces),
                              "--batch-size", str(args.batch_size), "--input-size", str(args.input_size)],
                             capture_output=True, text=True, env=os.environ, check=True).stdout.split()
        first, second, n = float(out[-3]), float(out[-2]), int(out[-1])
        results[child] = first
        print(f"{child:7s} {n} batches: epoch 1 {first:6.1f} s, epoch 2 {second:5.1f} s")
    print(f"epoch 1, ragged / full batches only: {results['ragged'] / results['drop']:.2f}x")


if __name__ == "__main__":
    main()
