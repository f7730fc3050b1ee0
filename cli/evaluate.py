"""`keras_fer evaluate`: accuracy, per-class metrics and the confusion matrix of a model on a split."""

import json
import pathlib

from keras_fer.cli.data_args import dataset_options


def add_parser(commands):
    from keras_fer.data import DATASETS

    parser = commands.add_parser("evaluate", help="evaluate a .keras or .tflite model on a data set split")
    parser.add_argument("model", nargs="?", help="a .keras file written by keras_fer train, a .tflite file "
                        "written by keras_fer convert, or a pretrained name (fer2013, ferplus)")
    parser.add_argument("--model", dest="model_option", metavar="MODEL", help="the same, as an option")
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="test", help="a split of the data set: train, test, "
                        "public_test, private_test (FER2013), valid (FER+), all (folder, RaFD)")
    parser.add_argument("--label-mode", default="majority", choices=("majority", "probability"))
    augmentation = parser.add_mutually_exclusive_group()  # test-time; off by default, as the paper evaluates
    augmentation.add_argument("--flip", action="store_true", help="average each face's probabilities with its "
                              "mirror image's (twice the compute)")
    augmentation.add_argument("--ten-crop", action="store_true", help="average the probabilities of ten crops "
                              "of each face: centre and corners, each mirrored (ten times the compute)")
    parser.add_argument("--out", help="folder for confusion_matrix.csv / .png and report.json")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args):
    if (args.model is None) == (args.model_option is None):
        raise ValueError("give the model once: as the first argument or as --model")
    args.model = args.model or args.model_option
    from keras_fer.evaluation import classification_report, format_report, load_split_for_model, save_report
    from keras_fer.inference import predict
    from keras_fer.model_io import load_model

    model, metadata = load_model(args.model)
    data = load_split_for_model(metadata, args.dataset, args.data, args.split, **dataset_options(args))
    class_names = data.class_names
    if len(class_names) != model.output_shape[-1]:
        raise ValueError(f"{args.model}: {model.output_shape[-1]} outputs but {len(class_names)} class names")
    probabilities = predict(model, data, flip=args.flip, ten_crop=args.ten_crop)
    report = classification_report(data.hard_labels, probabilities.argmax(axis=1), class_names)
    report.update(model=str(args.model), dataset=args.dataset, split=args.split, flip=args.flip,
                  ten_crop=args.ten_crop)
    out = pathlib.Path(args.out) if args.out else pathlib.Path(args.model).with_suffix("").parent / (
        f"eval_{args.dataset}_{args.split}")
    save_report(report, out, title=f"{pathlib.Path(args.model).name} on {args.dataset} {args.split}")
    if args.json:
        print(json.dumps(report))
    else:
        print(format_report(report))
        print(f"\nsaved: {out}/confusion_matrix.csv, confusion_matrix.png, report.json")
    return 0
