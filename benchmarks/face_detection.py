"""Which bundled OpenCV cascade finds real faces best, and how fast: real FER2013 test faces,
upscaled and placed on 640x480 photos (keras_fer.synthetic), one or four per photo.

    .venv/bin/python benchmarks/face_detection.py --faces 100

Prints, per cascade: found (IoU >= 0.5 with a placed face), false detections, ms per photo, and
the median ratio of the detected box side to the placed face side (how to set the crop margin).
"""

import argparse
import pathlib
import time

import numpy as np

from keras_fer.data import load_dataset
from keras_fer.faces import CASCADES, FaceDetector
from keras_fer.synthetic import compose_photo, iou

DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "datasets" / "fer2013"


def measure(detector, photos):
    found = false = 0
    ratios, seconds = [], []
    for photo, boxes in photos:
        gray = photo.mean(axis=2).astype(np.uint8)
        start = time.perf_counter()
        detected = detector.detect(gray)
        seconds.append(time.perf_counter() - start)
        for box in boxes:
            best = max(detected, key=lambda d: iou(d, box), default=None)
            if best is not None and iou(best, box) >= 0.5:
                found += 1
                ratios.append(best[2] / box[2])
        false += sum(max((iou(d, b) for b in boxes), default=0) < 0.5 for d in detected)
    return found, false, 1000 * float(np.median(seconds)), float(np.median(ratios)) if ratios else float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--faces", type=int, default=100)
    parser.add_argument("--per-photo", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--side", type=int, default=140)
    args = parser.parse_args()
    test = load_dataset("fer2013", DATA, equalize=False)["test"]
    faces = test.images[np.random.default_rng(0).permutation(len(test))[: args.faces]]
    for per_photo in args.per_photo:
        photos = [compose_photo(faces[i:i + per_photo], side=args.side, seed=i)
                  for i in range(0, len(faces), per_photo)]
        print(f"{len(faces)} real FER2013 faces, {per_photo} per 640x480 photo, {args.side} px each")
        print(f"{'cascade':<10}{'found':>8}{'false':>7}{'ms/photo':>10}{'box/face':>10}")
        for name in CASCADES:
            for neighbors in (3, 5):
                found, false, ms, ratio = measure(FaceDetector(name, min_neighbors=neighbors), photos)
                print(f"{name + f'/n{neighbors}':<14}{found:>4}{false:>7}{ms:>10.1f}{ratio:>10.2f}")


if __name__ == "__main__":
    main()
