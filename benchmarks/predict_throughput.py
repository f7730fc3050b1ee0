"""End-to-end faces per second of `keras_fer.FER` (detection + crop + classification) on 640x480
photos holding 1 or 4 real FER2013 faces, with the Keras model and with its TFLite files —
measured side by side in one run.

    .venv/bin/python benchmarks/predict_throughput.py --photos 20 --tflite none.tflite int8.tflite

The .tflite files come from `keras_fer convert` (they need their .tflite.json beside them).
The Keras model is measured twice: as the package runs it (a call that fits one batch goes
through `predict_on_batch`) and, as "(predict)", through `model.predict` for every call, as the
package did before (`keras_fer.evaluation.model_outputs`).
"""

import argparse
import contextlib
import pathlib
import time
from unittest import mock

import numpy as np

from keras_fer import FER, evaluation
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


def predict_every_call(model, x, batch_size=256):
    return np.asarray(model.predict(x, verbose=0, batch_size=batch_size))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="fer2013")
    parser.add_argument("--tflite", nargs="*", default=[])
    parser.add_argument("--photos", type=int, default=20)
    args = parser.parse_args()
    test = load_dataset("fer2013", DATA, equalize=False)["test"]
    faces = test.images[np.random.default_rng(0).permutation(len(test))]
    models = [args.model, f"{args.model} (predict)", *args.tflite]
    print(f"{'model':<28}{'faces/photo':>12}{'call':>10}{'faces/s':>10}{'photos/s':>10}{'found':>7}")
    for per_photo in (1, 4):
        photos = [compose_photo(faces[i * per_photo:(i + 1) * per_photo], side=120, seed=i)[0]
                  for i in range(args.photos)]
        for model in models:
            old_path = model.endswith(" (predict)")
            fer = FER(model.removesuffix(" (predict)"))
            for batched in (False, True):
                with mock.patch.object(evaluation, "model_outputs", predict_every_call) if old_path \
                        else contextlib.nullcontext():
                    faces_s, photos_s, found = faces_per_second(fer, photos, batched)
                name = pathlib.Path(model).name
                print(f"{name:<28}{per_photo:>12}{'batch' if batched else 'single':>10}{faces_s:>10.1f}"
                      f"{photos_s:>10.1f}{found:>7}", flush=True)


if __name__ == "__main__":
    main()
