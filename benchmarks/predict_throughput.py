"""End-to-end faces per second of `keras_fer.FER` (detection + crop + classification) on 640x480
photos holding 1 or 4 real FER2013 faces, today's default against the defaults before issue 38
(the `.keras` model through Keras, Haar detection at full size) — measured side by side in one run —
and the milliseconds to classify one face crop.

    .venv/bin/python benchmarks/predict_throughput.py --photos 20 [--tflite other.tflite ...]

Rows: "before" = FER(backend="keras", detector=FaceDetector(min_size=0.05)), the defaults before;
"keras" = FER(backend="keras") (the Keras path, today's detector); "default" = FER() (the shipped
.tflite under LiteRT, detection on a downscaled copy); then any --tflite files (with their
.tflite.json beside them). "found" counts the faces detected: recall must not drop.
"""

import argparse
import pathlib
import time

import numpy as np

from keras_fer import FER
from keras_fer.faces import FaceDetector
from keras_fer.data import load_dataset
from keras_fer.synthetic import compose_photo

DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "datasets" / "fer2013"


def faces_per_second(fer, photos, batched):
    # Warm-up with the call measured: graph tracing (one per new batch shape until TensorFlow relaxes
    # the shape) and allocation are paid once by a stream of photos, not per photo.
    fer.detect_emotions_batch(photos) if batched else fer.detect_emotions(photos[0])
    start = time.perf_counter()
    if batched:
        found = sum(len(f) for f in fer.detect_emotions_batch(photos))
    else:
        found = sum(len(fer.detect_emotions(photo)) for photo in photos)
    seconds = time.perf_counter() - start
    return found / seconds, len(photos) / seconds, found


def classify_ms(fer, crop, calls=50):
    """Median milliseconds of `classify_faces` on one face crop (preprocessing included)."""
    fer.classify_faces([crop])
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fer.classify_faces([crop])
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def recognizers(tflite_files):
    yield "before (keras, full-size haar)", FER(backend="keras", detector=FaceDetector(min_size=0.05))
    yield "keras", FER(backend="keras")
    yield "default (litert)", FER()
    for path in tflite_files:
        yield pathlib.Path(path).name, FER(path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tflite", nargs="*", default=[])
    parser.add_argument("--photos", type=int, default=20)
    args = parser.parse_args()
    test = load_dataset("fer2013", DATA, equalize=False)["test"]
    faces = test.images[np.random.default_rng(0).permutation(len(test))]
    fers = list(recognizers(args.tflite))
    print(f"{'recognizer':<32}{'classify 1 face ms':>20}")
    for name, fer in fers:
        print(f"{name:<32}{classify_ms(fer, faces[0]):>20.2f}", flush=True)
    print(f"{'recognizer':<32}{'faces/photo':>12}{'call':>8}{'faces/s':>10}{'photos/s':>10}{'found':>7}")
    for per_photo in (1, 4):
        photos = [compose_photo(faces[i * per_photo:(i + 1) * per_photo], side=120, seed=i)[0]
                  for i in range(args.photos)]
        rates = {}
        for name, fer in fers:
            for batched in (False, True):
                faces_s, photos_s, found = faces_per_second(fer, photos, batched)
                rates[name, batched] = faces_s
                print(f"{name:<32}{per_photo:>12}{'batch' if batched else 'single':>8}{faces_s:>10.1f}"
                      f"{photos_s:>10.1f}{found:>7}", flush=True)
        before = fers[0][0]
        for batched in (False, True):
            ratios = ", ".join(f"{name} {rates[name, batched] / rates[before, batched]:.2f}x"
                               for name, _ in fers[1:])
            print(f"  {per_photo} face(s)/photo, {'batch' if batched else 'single'}: vs before: {ratios}")


if __name__ == "__main__":
    main()
