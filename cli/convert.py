"""`keras_fer convert`: a `.keras` model -> `.tflite` + labels.txt + JSON, verified on real faces."""

import json
import pathlib

CALIBRATION_SPLITS = ("train", "FER2013Train", "all")
VERIFY_SPLITS = ("test", "valid", "public_test", "private_test", "all")


def add_parser(commands):
    from keras_fer.convert import QUANTIZE_MODES
    from keras_fer.data import DATASETS

    parser = commands.add_parser("convert", help="convert a .keras model to TFLite (LiteRT) for Android")
    parser.add_argument("model", help="a .keras file (or a pretrained name: fer2013, ferplus)")
    parser.add_argument("--out", help="the .tflite file to write (default: NAME_MODE/NAME_MODE.tflite in the current "
                        "folder, a folder of its own as labels.txt goes beside it)")
    parser.add_argument("--quantize", default="none", choices=QUANTIZE_MODES)
    parser.add_argument("--dataset", choices=DATASETS, help="kind of --calibration-data (default: the "
                        "data set the model was trained on, else fer2013)")
    parser.add_argument("--calibration-data", help="real images: int8 calibration uses its train split, "
                        "verification its test / valid split (disjoint halves of a single-split folder)")
    parser.add_argument("--samples", type=int, default=500, help="images for calibration and for verification")
    parser.add_argument("--verify-samples", type=int, help="images for verification (default: --samples; for int8 "
                        "every face of the verification split, as its accuracy drop is measured to a tenth of a point)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-verify", action="store_true", help="skip the check against the Keras model")
    parser.add_argument("--min-agreement", type=float, help="accept another top-1 agreement with Keras than the "
                        "mode's default (none/float16 0.995, dynamic 0.99; int8: reported, not gated unless given)")
    parser.add_argument("--max-accuracy-drop", type=float, help="the accuracy (points) the file may lose against "
                        "Keras on the labelled verification faces (int8 default 1.0; other modes: not gated "
                        "unless given)")
    parser.set_defaults(run=run)


def default_out(model, quantize):
    """fer2013_int8/fer2013_int8.tflite for `convert fer2013 --quantize int8`: a folder per file, so
    the labels.txt of models with other classes never meet."""
    name = f"{pathlib.Path(str(model)).stem}_{quantize}"
    return pathlib.Path(name) / f"{name}.tflite"


def calibration_dataset(requested, metadata):
    """--dataset as given; else the data set the model was trained on (`ferplus` for the shipped
    ferplus model, whose folder has no FER2013 layout); else fer2013."""
    from keras_fer.data import DATASETS

    trained_on = metadata.get("dataset")
    return requested or (trained_on if trained_on in DATASETS else "fer2013")


def sample_inputs(metadata, class_names, dataset, path, samples, seed, size, channels, verify_samples=None):
    """(calibration inputs, verification inputs, verification labels) from a real data set:
    `samples` images for calibration, `verify_samples` (default: all) for verification."""
    import numpy as np

    from keras_fer.data import load_dataset
    from keras_fer.data.pipeline import to_model_input
    from keras_fer.evaluation import match_classes

    equalize = metadata.get("preprocessing", {}).get("equalize", True)
    splits = load_dataset(dataset, path, equalize=equalize)
    rng = np.random.default_rng(seed)
    calibration_name = next((s for s in CALIBRATION_SPLITS if s in splits), next(iter(splits)))
    verify_name = next((s for s in VERIFY_SPLITS if s in splits and s != calibration_name), None)
    order = rng.permutation(len(splits[calibration_name]))
    if verify_name is None:  # one split only: two disjoint samples of it
        verify_name, verify_order = calibration_name, order[len(order) // 2:]
        order = order[: len(order) // 2]
    else:
        verify_order = rng.permutation(len(splits[verify_name]))
    calibration = splits[calibration_name].subset(np.sort(order[:samples]))
    verify_order = verify_order[:verify_samples]
    verification = match_classes(splits[verify_name].subset(np.sort(verify_order)), class_names)
    print(f"real images from {path}: {len(calibration)} of {calibration_name!r} for calibration, "
          f"{len(verification)} of {verify_name!r} for verification")
    return (to_model_input(calibration.images, size, channels),
            to_model_input(verification.images, size, channels), verification.hard_labels)


def run(args):
    from keras_fer import __version__
    from keras_fer.convert import (
        ConversionCheckError, check, convert, describe, verify, write_sidecars,
    )
    from keras_fer.litert import TFLiteModel
    from keras_fer.model_io import load_model, resolve_model_path, sha256

    model, metadata = load_model(args.model)
    out = pathlib.Path(args.out or default_out(args.model, args.quantize))
    if out.suffix != ".tflite":
        raise ValueError(f"{out}: the output file must end in .tflite")
    class_names = metadata.get("class_names") or [f"class_{i}" for i in range(model.output_shape[-1])]
    needs_data = args.quantize == "int8" or not args.no_verify
    if needs_data and not args.calibration_data:
        raise ValueError("real images are needed (int8 calibration and/or verification): give "
                         "--calibration-data PATH [--dataset KIND], or --no-verify for none/float16/dynamic")
    calibration = verification = labels = None
    if needs_data:
        dataset = calibration_dataset(args.dataset, metadata)
        verify_samples = args.verify_samples or (None if args.quantize == "int8" else args.samples)
        calibration, verification, labels = sample_inputs(
            metadata, class_names, dataset, args.calibration_data, args.samples, args.seed,
            model.input_shape[1], model.input_shape[3], verify_samples)
    out.parent.mkdir(parents=True, exist_ok=True)
    convert(model, out, args.quantize, calibration)
    tflite_model = TFLiteModel(out)
    source = {"model": str(args.model), "model_sha256": sha256(resolve_model_path(args.model)),
              "keras_fer": __version__, "training": {k: metadata[k] for k in ("dataset", "model") if k in metadata}}
    description = describe(tflite_model, class_names, metadata, args.quantize, source)
    if not args.no_verify:
        result = verify(model, tflite_model, verification, labels)
        description["verification"] = result
        try:
            check(result, args.quantize, out, args.min_agreement, args.max_accuracy_drop)
        except ConversionCheckError as error:
            failed = out.with_name(out.stem + ".failed.tflite")
            out.replace(failed)  # never leave a file that disagrees with Keras where the app expects it
            print(json.dumps(result, indent=2))
            raise ValueError(f"{error} (the file is kept for inspection as {failed})") from None
        print(_summary(result, args.quantize, args.min_agreement, args.max_accuracy_drop))
    write_sidecars(out, description)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB), {out.name}.json, labels.txt")
    return 0


def _summary(result, quantize, min_agreement=None, max_accuracy_drop=None):
    from keras_fer.convert import accuracy_drop, allowed_accuracy_drop, required_agreement

    needed, drop_limit = required_agreement(quantize, min_agreement), allowed_accuracy_drop(quantize, max_accuracy_drop)
    text = (f"verified on {result['n']} real images: top-1 agreement {result['agreement']:.2%} "
            + (f"(needs {needed:.1%})" if needed is not None else "(not gated)")
            + f", max probability difference {result['max_probability_difference']:.4f}, NaN/Inf {result['nonfinite']}")
    if "keras_accuracy" in result:
        text += (f"; accuracy Keras {result['keras_accuracy']:.2%}, TFLite {result['tflite_accuracy']:.2%}: "
                 f"a drop of {accuracy_drop(result):.2f} points"
                 + (f" (at most {drop_limit:g} allowed)" if drop_limit is not None else ""))
    return text
