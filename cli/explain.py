"""`keras_fer explain`: what the network looks at in each face of some photos.

Per face: `<out>/<image>_face<i>.png` (crop, Grad-CAM and SimAM overlays, top-3 probabilities),
`..._gradcam.npy` and `..._simam.npy` (the maps), and one line on stdout (JSON with --json).
"""

import json
import pathlib
import sys


def add_parser(commands):
    parser = commands.add_parser("explain", help="Grad-CAM and SimAM attention maps of the faces in images")
    parser.add_argument("images", nargs="+", help="image files")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the PNGs and .npy maps")
    parser.add_argument("--model", default="fer2013",
                        help="a pretrained name (fer2013, ferplus) or a .keras file (default fer2013)")
    parser.add_argument("--class", dest="class_name", metavar="NAME",
                        help="explain this class (default: each face's predicted class)")
    parser.add_argument("--layer", help="layer Grad-CAM reads (default: the last convolutional stage with a map of at least 6x6: "
                        "head_act at 224 px, block12_add for the shipped 96-px models)")
    parser.add_argument("--simam-block", help="SimAM block number or layer name (default: the deepest of the "
                        "largest map, block 6 of the paper's network)")
    parser.add_argument("--no-detect", action="store_true", help="each image is one face crop (skip detection)")
    parser.add_argument("--margin", type=float, default=0.0, help="enlarge detected boxes by this fraction")
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    parser.set_defaults(run=run)


def run(args):
    from keras_fer.explain import cached_explainer
    from keras_fer.explain_report import save_explanation
    from keras_fer.recognizer import FER

    fer = FER(args.model, margin=args.margin)
    # A wrong model, layer or class stops the run here, before any file: per file, only its own errors.
    explainer = cached_explainer(fer, args.layer, args.simam_block)
    if args.class_name:
        explainer.class_index(args.class_name)
    failures = 0
    for path in map(pathlib.Path, args.images):
        try:
            faces = fer.explain(path, args.class_name, layer=args.layer, simam_layer=args.simam_block,
                                detect=not args.no_detect)
        except (ValueError, FileNotFoundError) as error:  # BadInputError names the file and the problem
            _emit({"file": str(path), "error": str(error)}, args)
            print(f"keras_fer explain: {error}", file=sys.stderr)
            failures += 1
            continue
        if not faces:
            _emit({"file": str(path), "faces": []}, args)
        for index, face in enumerate(faces):
            written = save_explanation(face, args.out, path.stem, index)
            _emit({"file": str(path), "face": index, "box": face["box"], "top_emotion": face["top_emotion"],
                   "score": face["score"], "explained": face["explained"],
                   **{key: str(value) if value else None for key, value in written.items()}}, args)
    return 1 if failures else 0


def _emit(record, args):
    if args.json:
        print(json.dumps(record), flush=True)
    elif "error" in record:
        print(f"{record['file']}: error: {record['error']}")
    elif "faces" in record:
        print(f"{record['file']}: no face found")
    else:
        print(f"{record['file']} face {record['face']} at {tuple(record['box'])}: {record['top_emotion']} "
              f"{record['score']:.2f}; {record['explained']} explained in {record['png']}")
