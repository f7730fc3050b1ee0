"""Does the BatchNorm baseline predict in inference what it learned? Per BN momentum.

Trains `mobilenetv3_large` from scratch on real FER2013 faces (AdamW 2e-3, weight decay 0.05, as
recipe `strong`) and compares, on those training faces, the predictions in inference mode (moving
statistics) with those in training mode (the batch's own statistics).

    .venv/bin/python benchmarks/batchnorm_momentum.py [--faces 512] [--size 32] [--epochs 6]
"""

import argparse
import pathlib
import time

import keras
import numpy as np

import keras_fer
from keras_fer.data import load_dataset
from keras_fer.data.pipeline import to_model_input

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets" / "fer2013"))
    parser.add_argument("--faces", type=int, default=512)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--momenta", type=float, nargs="+", default=[0.999, 0.99, 0.9])
    args = parser.parse_args()

    train = load_dataset("fer2013", args.data)["train"]
    faces = train.subset(np.random.default_rng(0).permutation(len(train))[:args.faces])
    x, labels = to_model_input(faces.images, args.size), faces.hard_labels
    steps = args.epochs * (args.faces // args.batch_size)
    print(f"{args.faces} FER2013 train faces at {args.size}x{args.size}, {steps} steps of {args.batch_size}")
    print("| BN momentum | train acc (fit log) | inference acc | training-mode acc | agreement "
          "| classes predicted | s |")
    print("|---|---|---|---|---|---|---|")
    for momentum in args.momenta:
        start = time.time()
        keras.utils.set_random_seed(0)
        model = keras_fer.build_variant("mobilenetv3_large", input_size=args.size, classes=7,
                                        bn_momentum=momentum)
        model.compile(keras.optimizers.AdamW(2e-3, weight_decay=0.05), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        history = model.fit(x, labels, batch_size=args.batch_size, epochs=args.epochs, verbose=0)
        inference = model.predict(x, verbose=0).argmax(1)
        training_mode = keras.ops.convert_to_numpy(model(x, training=True)).argmax(1)
        print(f"| {momentum} | {history.history['accuracy'][-1]:.3f} | {np.mean(inference == labels):.3f} "
              f"| {np.mean(training_mode == labels):.3f} | {np.mean(inference == training_mode):.3f} "
              f"| {len(np.unique(inference))} | {time.time() - start:.0f} |")


if __name__ == "__main__":
    main()
