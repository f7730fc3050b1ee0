"""Accuracy on a split of test-time augmentation: the mean probabilities of several views of each
face (the full face, its mirror image, and crops of CROP×CROP pixels of the stored 48×48 face at
the centre and four corners, each resized to the model's input as the full face is). "Ten-crop"
(five crops and their mirror images) is the usual FER2013 protocol of the literature; the paper
reports single views.

    .venv/bin/python benchmarks/test_time_augmentation.py [MODEL] [--crops 42,44] \
        [--dataset fer2013 --data ../shared/datasets/DATASET --split test]
"""

import argparse
import dataclasses
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from keras_fer.evaluation import crop_offsets, load_split_for_model, predict  # noqa: E402
from keras_fer.model_io import load_model  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?", default="fer2013")
    parser.add_argument("--crops", default="42,44", help="crop sides in stored pixels, comma-separated")
    parser.add_argument("--dataset", default="fer2013")
    parser.add_argument("--data", help="default: ../shared/datasets/DATASET")
    parser.add_argument("--split", default="test")
    args = parser.parse_args()
    crops = [int(c) for c in args.crops.split(",")]

    model, metadata = load_model(args.model)
    path = args.data or ROOT.parent / "shared" / "datasets" / args.dataset
    data = load_split_for_model(metadata, args.dataset, path, args.split)
    side = data.images.shape[1]

    views = {}  # every view's probabilities, computed once; the combinations below are means of them

    def record(name, images):
        start = time.perf_counter()
        views[name] = predict(model, dataclasses.replace(data, images=np.ascontiguousarray(images)))
        seconds = time.perf_counter() - start
        print(f"view {name:<28} accuracy {accuracy(views[name], data):.4f}  ({seconds:.0f} s)", flush=True)

    record("full", data.images)
    record("full mirrored", data.images[:, :, ::-1])
    for crop in crops:
        for where, top, left in crop_offsets(side, crop):
            patch = data.images[:, top:top + crop, left:left + crop]
            record(f"{crop} {where}", patch)
            record(f"{crop} {where} mirrored", patch[:, :, ::-1])

    print(f"\n{len(data)} faces of {args.split}; mean probabilities of the views:")
    combinations = {"full (single view)": ["full"],
                    "full + mirrored (evaluate --flip)": ["full", "full mirrored"]}
    for crop in crops:
        names = [f"{crop} {where}" for where, _, _ in crop_offsets(side, crop)]
        ten_crop = names + [n + " mirrored" for n in names]
        combinations[f"{crop}: centre crop + mirrored"] = [names[0], names[0] + " mirrored"]
        combinations[f"{crop}: ten-crop"] = ten_crop
        combinations[f"{crop}: ten-crop + full + mirrored"] = ten_crop + ["full", "full mirrored"]
    combinations["every view"] = list(views)
    for label, names in combinations.items():
        mean = np.mean([views[n] for n in names], axis=0)
        print(f"{label:<40} {len(names):>2} views  accuracy {accuracy(mean, data):.4f}")


def accuracy(probabilities, data):
    return float((probabilities.argmax(axis=1) == data.hard_labels).mean())


if __name__ == "__main__":
    main()
