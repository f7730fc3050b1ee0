"""The GroupNorm formulation a TFLite file is exported with: keras_fer's per-channel one (the layer's
own) vs Keras' 5-D one. Batch-1 LiteRT latency, file size and top-1 agreement with Keras, side by
side in one run; by default for the float modes (`--modes int8` calibrates on the protocol's 500
calibration faces).

    .venv/bin/python benchmarks/tflite_group_norm.py [MODEL] [--modes none float16 dynamic]
        [--runs 100] [--rounds 3] [--threads 1]

Agreement on the faces of tests/test_convert.py (benchmarks/tflite_agreement.py's protocol).
Latency: the median of --runs single-face calls after 10 warm-up calls (`keras_fer benchmark`'s
timing), the formulations taking turns for --rounds rounds; the ratio is of the rounds' medians.
One thread (`--threads` to change), as an app on one core.
"""

import argparse
import contextlib
import pathlib
import statistics
import tempfile

from split_arguments import add_split_arguments  # also puts the repository on sys.path
from tflite_agreement import protocol_faces

from keras_fer.cli.benchmark import timings
from keras_fer.convert import converter_options, verify
from keras_fer.layers import GroupNormalization
from keras_fer.litert import TFLiteModel
from keras_fer.model_io import load_model, resolve_model_path

FORMULATIONS = ("per-channel", "keras")


def export(model, path, mode, formulation, calibration):
    with GroupNormalization.keras_formulation() if formulation == "keras" else contextlib.nullcontext():
        model.export(str(path), format="litert", verbose=False, **converter_options(mode, calibration))
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="fer2013")
    parser.add_argument("--modes", nargs="+", default=["none", "float16", "dynamic"])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    add_split_arguments(parser)
    args = parser.parse_args()
    model, metadata = load_model(resolve_model_path(args.model))
    calibration, x, labels = protocol_faces(model, metadata, args.dataset, args.data, args.split)
    print(f"{args.model}: {len(x)} verification faces; batch-1 latency, {args.threads} thread(s)")
    print("| mode | GroupNorm formulation | size (MB) | agreement | accuracy (Keras) | latency ms (rounds) |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for mode in args.modes:
            files = {f: export(model, pathlib.Path(folder) / f"{mode}_{f}.tflite", mode, f, calibration)
                     for f in FORMULATIONS}
            tflites = {f: TFLiteModel(path, num_threads=args.threads) for f, path in files.items()}
            times = {f: [] for f in FORMULATIONS}
            for _ in range(args.rounds):
                for f in FORMULATIONS:
                    times[f].append(timings(lambda: tflites[f].predict(x[:1]), args.runs, warmup=10)[0])
            medians = {}
            for f in FORMULATIONS:
                result = verify(model, tflites[f], x, labels)
                medians[f] = statistics.median(times[f])
                print(f"| {mode} | {f} | {files[f].stat().st_size / 1e6:.2f} | {result['agreement']:.3f} | "
                      f"{result['tflite_accuracy']:.3f} ({result['keras_accuracy']:.3f}) | "
                      f"{' / '.join(f'{t:.2f}' for t in times[f])} |", flush=True)
            print(f"{mode}: Keras' formulation takes {medians['keras'] / medians['per-channel']:.2f}x "
                  "the per-channel one's time", flush=True)


if __name__ == "__main__":
    main()
