"""Top-1 agreement with Keras of a model's four TFLite files, on the faces `tests/test_convert.py`
uses: FER2013 `test/` in a seed-0 permutation, the first 500 calibrating (int8), the next 500
verifying. The numbers pinned in that test and quoted in RESULTS.md / tflite/README.md.

    .venv/bin/python benchmarks/tflite_agreement.py [MODEL]     # default: the shipped fer2013; ~2 min
    .venv/bin/python benchmarks/tflite_agreement.py ferplus --dataset ferplus --split valid   # FER2013Valid
"""

import argparse
import pathlib
import tempfile

from common import add_split_arguments, load_split, timed  # also puts the repository on sys.path

from keras_fer.convert import QUANTIZE_MODES, agreement_protocol, convert, verify
from keras_fer.litert import TFLiteModel
from keras_fer.model_io import load_model, resolve_model_path

SAMPLES = 500


def protocol_faces(model, metadata=None, dataset="fer2013", data=None, split="test"):
    """(calibration inputs, verification inputs, verification labels) for `model`'s input, the
    faces preprocessed and labelled as `metadata` (the model's) says."""
    faces = load_split(metadata, dataset, data, split)
    return agreement_protocol(faces, model.input_shape, SAMPLES)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?", default="fer2013")
    add_split_arguments(parser)
    args = parser.parse_args()
    model, metadata = load_model(resolve_model_path(args.model))
    calibration, x, labels = protocol_faces(model, metadata, args.dataset, args.data, args.split)
    with tempfile.TemporaryDirectory() as folder:
        for mode in QUANTIZE_MODES:
            r, seconds = timed(lambda: verify(model, TFLiteModel(
                convert(model, pathlib.Path(folder) / f"{mode}.tflite", mode, calibration)), x, labels))
            print(f"{mode:8s} agreement {r['agreement']:.3f}  max prob diff {r['max_probability_difference']:.4f}  "
                  f"accuracy keras {r['keras_accuracy']:.3f} tflite {r['tflite_accuracy']:.3f}  "
                  f"({seconds:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
