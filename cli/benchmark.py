"""`keras_fer benchmark`: latency and throughput of a model in Keras and as TFLite files in every
quantization mode (or those --quantize names; LiteRT, 1 and 2 threads), and file sizes — measured
side by side in one run.

Batch 1: median and p90 of single-image calls after warm-up (Keras `predict`, and a direct eager
call `model(x)` — measured slower than `predict` on this CPU, see BENCHMARKS.md). Batch 32: images
per second.
"""

import json
import pathlib
import statistics
import tempfile
import time

import numpy as np


def add_parser(commands):
    from keras_fer.convert import QUANTIZE_MODES

    parser = commands.add_parser("benchmark", help="Keras vs TFLite latency, throughput and file size")
    parser.add_argument("--model", required=True, help="a .keras file or a pretrained name")
    parser.add_argument("--calibration-data", help="FER2013-layout folder for the int8 file's calibration "
                        "(int8 is left out without it)")
    parser.add_argument("--dataset", help="kind of --calibration-data (default: the data set the model was "
                        "trained on, else fer2013)")
    parser.add_argument("--quantize", nargs="+", choices=QUANTIZE_MODES, default=list(QUANTIZE_MODES),
                        metavar="MODE", help="the TFLite files to measure: any of "
                        f"{', '.join(QUANTIZE_MODES)} (default: all)")
    parser.add_argument("--runs", type=int, default=50, help="timed single-image calls per row")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--accuracy", action="store_true", help="also the accuracy of every row on the whole "
                        "verification split of --calibration-data (FER2013: test/)")
    parser.add_argument("--out", help="keep the .tflite files here (default: a temporary folder)")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(run=run)


def timings(call, runs, warmup=5):
    for _ in range(warmup):
        call()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return 1000 * statistics.median(seconds), 1000 * float(np.percentile(seconds, 90))


def throughput(call, batch, repeats=3):
    call()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        call()
    return batch * repeats / (time.perf_counter() - start)


def run(args):
    from keras_fer.cli.convert import calibration_dataset, sample_inputs
    from keras_fer.convert import QUANTIZE_MODES, convert
    from keras_fer.inference import model_outputs
    from keras_fer.litert import TFLiteModel
    from keras_fer.model_io import load_model, resolve_model_path

    model, metadata = load_model(args.model)
    size, channels = model.input_shape[1], model.input_shape[3]
    rng = np.random.default_rng(0)
    calibration = None
    labels = None
    if args.calibration_data:
        calibration, faces, labels = sample_inputs(metadata, metadata["class_names"],
                                                   calibration_dataset(args.dataset, metadata),
                                                   args.calibration_data, 500, 0, size, channels,
                                                   verify_samples=None if args.accuracy else 32)
        batch = faces[:32]
    else:
        batch = rng.uniform(0, 255, (32, size, size, channels)).astype(np.float32)
    one = batch[:1]
    rows = []
    median, p90 = timings(lambda: model.predict(one, verbose=0), args.runs)
    rows.append({"model": "keras predict", "threads": "all", "batch1_median_ms": median, "batch1_p90_ms": p90,
                 "batch32_images_per_s": throughput(lambda: model.predict(batch, batch_size=32, verbose=0), 32),
                 "file_mb": resolve_model_path(args.model).stat().st_size / 1e6})
    if args.accuracy and labels is not None:
        rows[0]["accuracy"] = _accuracy(model_outputs(model, faces), labels)
    median, p90 = timings(lambda: model(one, training=False), args.runs)
    rows.append({"model": "keras model(x)", "threads": "all", "batch1_median_ms": median, "batch1_p90_ms": p90,
                 "batch32_images_per_s": throughput(lambda: model(batch, training=False), 32), "file_mb": rows[0]["file_mb"]})
    folder = pathlib.Path(args.out) if args.out else pathlib.Path(tempfile.mkdtemp(prefix="keras_fer_bench_"))
    folder.mkdir(parents=True, exist_ok=True)
    for mode in (mode for mode in QUANTIZE_MODES if mode in args.quantize):
        if mode == "int8" and calibration is None:
            print("int8 left out: it needs --calibration-data")
            continue
        path = convert(model, folder / f"{mode}.tflite", mode, calibration)
        accuracy = None
        if args.accuracy and labels is not None:
            accuracy = _accuracy(model_outputs(TFLiteModel(path, num_threads=max(args.threads)), faces), labels)
        for threads in args.threads:
            tflite = TFLiteModel(path, num_threads=threads)
            median, p90 = timings(lambda: tflite.predict(one), args.runs)
            rows.append({"model": f"tflite {mode}", "threads": threads, "batch1_median_ms": median,
                         "batch1_p90_ms": p90, "batch32_images_per_s": throughput(lambda: tflite.predict(batch, batch_size=32), 32),
                         "file_mb": path.stat().st_size / 1e6, **({"accuracy": accuracy} if accuracy is not None else {})})
    keras_median = rows[0]["batch1_median_ms"]
    for row in rows:
        row["speedup_vs_keras_predict"] = keras_median / row["batch1_median_ms"]
    if args.json:
        print(json.dumps({"model": str(args.model), "input": [size, size, channels], "rows": rows}))
    else:
        print(format_table(rows, f"{args.model}: input {size}x{size}x{channels}"))
    return 0


def _accuracy(probabilities, labels):
    return float((np.asarray(probabilities).argmax(1) == np.asarray(labels)).mean())


def format_table(rows, title):
    lines = [title, "", "| model | threads | batch 1 median ms | batch 1 p90 ms | x vs Keras predict | "
             "batch 32 img/s | file MB | accuracy |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        accuracy = f"{100 * r['accuracy']:.2f} %" if "accuracy" in r else ""
        lines.append(f"| {r['model']} | {r['threads']} | {r['batch1_median_ms']:.2f} | {r['batch1_p90_ms']:.2f} | "
                     f"{r['speedup_vs_keras_predict']:.1f} | {r['batch32_images_per_s']:.0f} | {r['file_mb']:.2f} "
                     f"| {accuracy} |")
    return "\n".join(lines)
