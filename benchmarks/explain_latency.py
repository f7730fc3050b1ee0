"""Seconds per photo of `keras_fer explain` after start-up: one 640x480 photo holding one real
FER2013 test face (happy), explained (detection, Grad-CAM, SimAM map) and its PNG and .npy maps
written, as the command does per image.

    .venv/bin/python benchmarks/explain_latency.py --photos 10

The first photo (tracing, the model cut in two) is start-up and reported apart; the rest are
timed one by one and their median and maximum reported.
"""

import argparse
import pathlib
import tempfile

import numpy as np
from common import dataset_path, timed  # also puts the repository on sys.path
from PIL import Image

from keras_fer import FER
from keras_fer.explain_report import save_explanation
from keras_fer.synthetic import compose_photo


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=10)
    parser.add_argument("--data", type=pathlib.Path, default=dataset_path("fer2013"))
    args = parser.parse_args()
    files = sorted((args.data / "test" / "happy").iterdir())[:args.photos + 1]
    photos = [compose_photo([np.asarray(Image.open(f))], side=150, seed=i)[0] for i, f in enumerate(files)]
    fer = FER()
    with tempfile.TemporaryDirectory() as out:
        times, explain_times = [], []
        for i, photo in enumerate(photos):
            faces, explain_seconds = timed(fer.explain, photo)
            _, save_seconds = timed(lambda: [save_explanation(face, out, f"photo{i}", index)
                                             for index, face in enumerate(faces)])
            times.append(explain_seconds + save_seconds)
            explain_times.append(explain_seconds)
    print(f"first photo (start-up): {times[0]:.2f} s")
    print(f"per photo after start-up ({len(times) - 1} photos): median {np.median(times[1:]):.3f} s, "
          f"max {np.max(times[1:]):.3f} s (maps alone: median {np.median(explain_times[1:]):.3f} s)")


if __name__ == "__main__":
    main()
