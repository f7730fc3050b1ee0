"""Input pipeline speed beside the `improved` model's training speed, measured in one run.

    .venv/bin/python benchmarks/input_pipeline.py [--images 4096] [--sizes 224 96]

For each input size: images/s of the tf.data training pipeline (shuffle, batch, augment "standard"
at the stored 48x48, resize, replicate to RGB, prefetch) iterated alone, and images/s of
`improved`'s training step (train_throughput.images_per_second: train_on_batch on a fixed batch,
after warm-up). The pipeline must
be at least 3x faster than the model consumes, so that it is never the bottleneck.
"""

import argparse

import keras
import numpy as np
from common import dataset_path, timed  # also puts the repository on sys.path
from train_throughput import images_per_second  # same timing, one implementation

import keras_fer
from keras_fer.data import load_dataset
from keras_fer.data.pipeline import tf_dataset


def pipeline_rate(data, size, batch_size):
    dataset = tf_dataset(data, size, 3, batch_size=batch_size, training=True, augment="standard")
    for _ in dataset.take(3):  # warm-up: tracing and the first shuffle buffer
        pass
    count, seconds = timed(lambda: sum(int(images.shape[0]) for images, _ in dataset))
    return count / seconds


def model_rate(size, batch_size, steps):
    return images_per_second(keras_fer.build_variant("improved", input_size=size, classes=7), batch_size, steps)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=4096)
    parser.add_argument("--sizes", type=int, nargs="+", default=[224, 96])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    data = load_dataset("fer2013", dataset_path("fer2013"))["train"]
    data = data.subset(np.random.default_rng(0).permutation(len(data))[: args.images])
    print(f"keras {keras.__version__} ({keras.backend.backend()}), batch {args.batch_size}, "
          f"{len(data)} FER2013 train images")
    print(f"{'size':>5} {'pipeline img/s':>15} {'improved train img/s':>21} {'ratio':>7}")
    for size in args.sizes:
        pipe = pipeline_rate(data, size, args.batch_size)
        train = model_rate(size, args.batch_size, args.steps)
        print(f"{size:>5} {pipe:>15.0f} {train:>21.1f} {pipe / train:>6.1f}x", flush=True)


if __name__ == "__main__":
    main()
