"""Which face detector finds real faces best, and how fast: real FER2013 test faces, upscaled and
placed on 640x480 photos (keras_fer.synthetic), one or four per photo.

    .venv/bin/python benchmarks/face_detection.py --faces 100 --side 60 120 140   # the detectors
    .venv/bin/python benchmarks/face_detection.py --faces 100 --cascades          # the cascades

Prints, per detector: found (IoU >= 0.5 with a placed face), false detections, ms per photo, and
the median ratio of the detected box side to the placed face side (how to set the crop margin).
The detectors: the Haar cascade as it detected before issue 38 (full size, faces from 5 % of the
short side), as it detects now (on a copy downscaled for faces from 10 %), and MTCNN.
"""

import argparse

import numpy as np
from common import test_faces, timed  # also puts the repository on sys.path

from keras_fer.faces import CASCADES, FaceDetector, MTCNNDetector
from keras_fer.synthetic import compose_photo, iou


def measure(detector, photos):
    found = false = 0
    ratios, seconds = [], []
    for photo, boxes in photos:
        gray = photo.mean(axis=2).astype(np.uint8)
        detected, took = timed(detector.detect, gray)
        seconds.append(took)
        for box in boxes:
            best = max(detected, key=lambda d: iou(d, box), default=None)
            if best is not None and iou(best, box) >= 0.5:
                found += 1
                ratios.append(best[2] / box[2])
        false += sum(max((iou(d, b) for b in boxes), default=0) < 0.5 for d in detected)
    return found, false, 1000 * float(np.median(seconds)), float(np.median(ratios)) if ratios else float("nan")


def detectors():
    yield "haar, min 5 % (before)", FaceDetector(min_size=0.05)
    yield "haar, min 10 % (now)", FaceDetector()
    yield "mtcnn", MTCNNDetector()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--faces", type=int, default=100)
    parser.add_argument("--per-photo", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--side", type=int, nargs="+", default=[140])
    parser.add_argument("--cascades", action="store_true", help="compare OpenCV's cascades instead")
    args = parser.parse_args()
    faces = test_faces()[: args.faces]
    if args.cascades:
        candidates = [(f"{name}/n{n}", FaceDetector(name, min_neighbors=n, min_size=0.05))
                      for name in CASCADES for n in (3, 5)]
    else:
        candidates = list(detectors())
    for side in args.side:
        for per_photo in args.per_photo:
            photos = [compose_photo(faces[i:i + per_photo], side=side, seed=i)
                      for i in range(0, len(faces), per_photo)]
            print(f"{len(faces)} real FER2013 faces, {per_photo} per 640x480 photo, {side} px each")
            print(f"{'detector':<26}{'found':>6}{'false':>7}{'ms/photo':>10}{'box/face':>10}")
            for name, detector in candidates:
                found, false, ms, ratio = measure(detector, photos)
                print(f"{name:<26}{found:>6}{false:>7}{ms:>10.1f}{ratio:>10.2f}", flush=True)


if __name__ == "__main__":
    main()
