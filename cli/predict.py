"""`keras_fer predict`: expressions of the faces in photos, folders and videos.

One JSON line per image or sampled video frame (with --json): file, frame, time, and faces —
each with box [x, y, w, h], probabilities, top class and score. A file that cannot be read gets
a line with "error" and the run goes on (exit status 1 at the end).
"""

import json
import pathlib
import sys

from keras_fer.cli import stream


def add_parser(commands):
    parser = commands.add_parser("predict", help="find faces and their expressions in images and videos")
    parser.add_argument("paths", nargs="*", help="image files, folders of images, video files")
    parser.add_argument("--model", default="fer2013",
                        help="a pretrained name (fer2013, ferplus), or a .keras or .tflite file (default fer2013)")
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    parser.add_argument("--annotate", metavar="OUT_DIR",
                        help="write copies with boxes and labels, and videos' emotion-over-time CSV/JSON/PNG")
    parser.add_argument("--video-stride", type=int, default=5, help="classify every N-th video frame")
    parser.add_argument("--margin", type=float, default=0.0, help="enlarge detected boxes by this fraction")
    augmentation = parser.add_mutually_exclusive_group()  # test-time; off by default
    augmentation.add_argument("--flip", action="store_true",
                              help="average each face's probabilities with its mirror image's (twice the compute)")
    augmentation.add_argument("--ten-crop", action="store_true", help="average the probabilities of ten crops "
                              "of each face: centre and corners, each mirrored (ten times the compute)")
    stream.add_arguments(parser)
    parser.set_defaults(run=run)


def expand(paths):
    """Images and videos named, and those directly inside folders named (sorted)."""
    from keras_fer.data.images import IMAGE_SUFFIXES
    from keras_fer.video import VIDEO_SUFFIXES

    files = []
    for path in map(pathlib.Path, paths):
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES + VIDEO_SUFFIXES)
            if not inside:
                raise ValueError(f"{path}: folder has no images or videos")
            files.extend(inside)
        else:
            files.append(path)  # a missing or unreadable file is reported in its turn
    return files


def run(args):
    from tqdm import tqdm

    from keras_fer.recognizer import FER
    from keras_fer.video import is_video

    if args.stream is not None:
        return stream.run(args)
    if not args.paths:
        raise ValueError("give image or video paths, or --stream SOURCE")
    if args.video_stride < 1:
        raise ValueError("--video-stride must be >= 1")
    files = expand(args.paths)
    fer = FER(args.model, margin=args.margin, flip=args.flip, ten_crop=args.ten_crop)
    out = pathlib.Path(args.annotate) if args.annotate else None
    failures = 0
    images = [f for f in files if not is_video(f)]
    for path in tqdm(images, desc="images", unit="image", disable=len(images) < 2, file=sys.stderr):
        failures += not _image(fer, path, args, out)
    for path in (f for f in files if is_video(f)):
        failures += not _video(fer, path, args, out)
    if failures:
        print(f"keras_fer predict: {failures} file(s) could not be read (see the error lines)", file=sys.stderr)
    return 1 if failures else 0


def _image(fer, path, args, out):
    from keras_fer.data.images import as_pil, to_rgb

    try:
        image = as_pil(path)
        faces = fer.detect_emotions(image)
    except ValueError as error:  # BadInputError: names the file and the problem
        _emit({"file": str(path), "error": str(error)}, args)
        print(f"keras_fer predict: {error}", file=sys.stderr)
        return False
    _emit({"file": str(path), "frame": None, "time": None, "faces": faces}, args)
    if out:
        from keras_fer.annotate import draw_faces

        out.mkdir(parents=True, exist_ok=True)
        draw_faces(to_rgb(image), faces).save(out / f"{path.stem}_annotated.png")
    return True


def _video(fer, path, args, out):
    from tqdm import tqdm

    from keras_fer.video import iter_frames, open_video, write_summary

    records = []
    try:
        capture, _, count = open_video(path)
        capture.release()
        for frame, time, rgb in tqdm(iter_frames(path, args.video_stride), total=-(-count // args.video_stride) or None,
                                     desc=path.name, unit="frame", file=sys.stderr):
            record = {"file": str(path), "frame": frame, "time": round(time, 3), "faces": fer.detect_emotions(rgb)}
            records.append(record)
            _emit(record, args)
    except ValueError as error:
        _emit({"file": str(path), "error": str(error)}, args)
        print(f"keras_fer predict: {error}", file=sys.stderr)
        return False
    if out:
        csv_path = write_summary(records, fer.class_names, out, path.stem)
        print(f"{path}: emotion over time in {csv_path} (.json, .png)", file=sys.stderr)
    return True


def _emit(record, args):
    if args.json:
        print(json.dumps(record), flush=True)
        return
    where = record["file"] + (f" frame {record['frame']}" if record.get("frame") is not None else "")
    if "error" in record:
        print(f"{where}: error: {record['error']}")
    elif not record["faces"]:
        print(f"{where}: no face found")
    else:
        faces = "; ".join(f"{f['top_emotion']} {f['score']:.2f} at {tuple(f['box'])}" for f in record["faces"])
        print(f"{where}: {len(record['faces'])} face(s): {faces}")
