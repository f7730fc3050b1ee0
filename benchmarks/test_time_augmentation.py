"""Accuracy on a split of test-time augmentation: the mean probabilities of several views of each
face (the full face, its mirror image, and crops of CROP×CROP pixels of the stored 48×48 face at
the centre and four corners, each resized to the model's input as the full face is). "Ten-crop"
(five crops and their mirror images) is the usual FER2013 protocol of the literature; the paper
reports single views.

    .venv/bin/python benchmarks/test_time_augmentation.py [MODEL] [--crops 42,44] \
        [--dataset fer2013 --data $KERAS_FER_DATASETS/DATASET --split test]
"""

import argparse
import dataclasses

import numpy as np
from common import accuracy, add_split_arguments, load_split, timed  # also puts the repository on sys.path

from keras_fer.inference import crop_offsets, predict
from keras_fer.model_io import load_model


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?", default="fer2013")
    parser.add_argument("--crops", default="42,44", help="crop sides in stored pixels, comma-separated")
    add_split_arguments(parser)
    args = parser.parse_args()
    crops = [int(c) for c in args.crops.split(",")]

    model, metadata = load_model(args.model)
    data = load_split(metadata, args.dataset, args.data, args.split)
    side = data.images.shape[1]

    views = {}  # every view's probabilities, computed once; the combinations below are means of them

    def record(name, images):
        view = dataclasses.replace(data, images=np.ascontiguousarray(images))
        views[name], seconds = timed(predict, model, view)
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


if __name__ == "__main__":
    main()
