"""Regenerate the shipped `.tflite` files from the shipped `.keras` models (run after replacing a
`.keras` in keras_fer/pretrained_models/; tests/test_pretrained.py fails on a stale `.tflite`):

    .venv/bin/python scripts/export_pretrained_tflite.py            # both models, ~1 min each on 2 cores

Each is `keras_fer convert NAME --quantize float16 --calibration-data DATA/NAME` (verified: top-1
agreement with the `.keras` >= 99.5 % on 500 real faces of its own data set), moved with its
`.tflite.json` into the package. The sidecar records the `.keras` file's sha256 (`source.model_sha256`),
which `keras_fer.shipped.tflite_staleness` compares; the new `.tflite`'s own sha256 goes into
`keras_fer/zoo.py`'s table (printed at the end). float16: as fast as float32 under LiteRT on x86
and half the size (BENCHMARKS.md, "Fast by default").
"""

import argparse
import os
import pathlib
import shutil
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
QUANTIZE = "float16"


def main():
    from keras_fer import shipped, zoo
    from keras_fer.cli.main import main as keras_fer
    from keras_fer.model_io import sha256

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", default=list(zoo.MODELS))
    parser.add_argument("--datasets", type=pathlib.Path, default=pathlib.Path(os.environ.get("KERAS_FER_DATASETS", ROOT.parent / "shared" / "datasets")),
                        help="the folder holding fer2013/ and ferplus/ (real faces for the verification)")
    args = parser.parse_args()
    for name in args.names:
        with tempfile.TemporaryDirectory() as tmp:
            out = pathlib.Path(tmp) / f"{name}.tflite"
            code = keras_fer(["convert", name, "--quantize", QUANTIZE, "--calibration-data",
                              str(args.datasets / name), "--out", str(out)])
            if code:
                sys.exit(f"{name}: conversion failed; the shipped files are unchanged")
            target = zoo.FOLDER / out.name
            shutil.move(out.with_name(out.name + ".json"), target.with_name(target.name + ".json"))
            shutil.move(out, target)  # labels.txt stays behind: the sidecar lists the classes
        print(f"{target}: up to date ({shipped.tflite_staleness(name) or 'sha256 of the .keras recorded'}); "
              f"its sha256 for keras_fer/zoo.py's table: {sha256(target)}")


if __name__ == "__main__":
    main()
