"""`keras_fer predict`: expressions of the faces in photos, folders and videos.

One JSON line per image or sampled video frame (with --json): file (the path as given), relative
(the path inside the folder given, or the file's name), frame, time, and faces — each with box
[x, y, w, h], probabilities, top class and score. A file that cannot be read gets a line with
"error" and the run goes on (exit status 1 at the end). Folders are walked with their sub-folders
(photo libraries are nested); files in them that are neither images nor videos are skipped and
counted on stderr.
"""

import pathlib
import sys

from keras_fer.cli import stream
from keras_fer.cli.records import emit


def add_parser(commands):
    parser = commands.add_parser("predict", help="find faces and their expressions in images and videos")
    parser.add_argument("paths", nargs="*",
                        help="image files, folders of images (with their sub-folders), video files")
    parser.add_argument("--no-recursive", dest="recursive", action="store_false",
                        help="read only the files directly inside the folders given, not their sub-folders")
    parser.add_argument("--model", default="fer2013",
                        help="a pretrained name (fer2013, ferplus), or a .keras or .tflite file (default fer2013)")
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    parser.add_argument("--annotate", metavar="OUT_DIR",
                        help="write copies with boxes and labels, and videos' emotion-over-time CSV/JSON/PNG")
    parser.add_argument("--video-stride", type=int, default=5, help="classify every N-th video frame")
    parser.add_argument("--margin", type=float, default=0.0, help="enlarge detected boxes by this fraction")
    parser.add_argument("--detector", choices=("haar", "mtcnn"), default="haar",
                        help="face detector: OpenCV's Haar cascade (default, fast) or MTCNN (more faces, 12-28x slower)")
    parser.add_argument("--backend", choices=("litert", "keras"),
                        help="for a pretrained --model: run its .tflite with LiteRT (default) or its .keras with Keras")
    augmentation = parser.add_mutually_exclusive_group()  # test-time; off by default
    augmentation.add_argument("--flip", action="store_true",
                              help="average each face's probabilities with its mirror image's (twice the compute)")
    augmentation.add_argument("--ten-crop", action="store_true", help="average the probabilities of ten crops "
                              "of each face: centre and corners, each mirrored (ten times the compute)")
    stream.add_arguments(parser)
    parser.set_defaults(run=run)


def expand(paths, recursive=True):
    """([(path, relative path), ...], number of files skipped): the files named, and the images and
    videos inside the folders named (with their sub-folders unless `recursive` is false), sorted.
    Files in folders that are neither images nor videos are skipped, not errors."""
    from keras_fer.data.images import IMAGE_SUFFIXES
    from keras_fer.video import VIDEO_SUFFIXES

    files, skipped = [], 0
    for path in map(pathlib.Path, paths):
        if not path.is_dir():
            files.append((path, pathlib.Path(path.name)))  # a missing or unreadable file is reported in its turn
            continue
        inside = sorted(p for p in (path.rglob("*") if recursive else path.iterdir()) if p.is_file())
        wanted = [p for p in inside if p.suffix.lower() in IMAGE_SUFFIXES + VIDEO_SUFFIXES]
        if not wanted:
            hint = "; its sub-folders are not read with --no-recursive" if not recursive else ""
            raise ValueError(f"{path}: folder has no images or videos ({len(inside)} other files{hint})")
        skipped += len(inside) - len(wanted)
        files.extend((p, p.relative_to(path)) for p in wanted)
    return files, skipped


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
    files, skipped = expand(args.paths, args.recursive)
    if skipped:  # stderr: stdout stays JSON lines with --json
        print(f"keras_fer predict: skipped {skipped} file(s) that are neither images nor videos", file=sys.stderr)
    fer = FER(args.model, margin=args.margin, flip=args.flip, ten_crop=args.ten_crop, detector=args.detector,
              backend=args.backend)
    out = pathlib.Path(args.annotate) if args.annotate else None
    failures = 0
    images = [f for f in files if not is_video(f[0])]
    for path, relative in tqdm(images, desc="images", unit="image", disable=len(images) < 2, file=sys.stderr):
        failures += not _image(fer, path, relative, args, out)
    for path, relative in (f for f in files if is_video(f[0])):
        failures += not _video(fer, path, relative, args, out)
    if failures:
        print(f"keras_fer predict: {failures} file(s) could not be read (see the error lines)", file=sys.stderr)
    return 1 if failures else 0


def _image(fer, path, relative, args, out):
    from keras_fer.data.images import as_pil, to_rgb

    try:
        image = as_pil(path)
        faces = fer.detect_emotions(image)
    except ValueError as error:  # BadInputError: names the file and the problem
        emit({"file": str(path), "relative": str(relative), "error": str(error)}, args)
        print(f"keras_fer predict: {error}", file=sys.stderr)
        return False
    emit({"file": str(path), "relative": str(relative), "frame": None, "time": None, "faces": faces}, args)
    if out:
        from keras_fer.annotate import draw_faces

        folder = out / relative.parent  # the input's sub-folders: same-named photos do not collide
        folder.mkdir(parents=True, exist_ok=True)
        draw_faces(to_rgb(image), faces).save(folder / f"{path.stem}_annotated.png")
    return True


def _video(fer, path, relative, args, out):
    from tqdm import tqdm

    from keras_fer.video import iter_frames, open_video, write_summary

    records = []
    try:
        capture, _, count = open_video(path)
        capture.release()
        for frame, time, rgb in tqdm(iter_frames(path, args.video_stride), total=-(-count // args.video_stride) or None,
                                     desc=path.name, unit="frame", file=sys.stderr):
            record = {"file": str(path), "relative": str(relative), "frame": frame, "time": round(time, 3),
                      "faces": fer.detect_emotions(rgb)}
            records.append(record)
            emit(record, args)
    except ValueError as error:
        emit({"file": str(path), "relative": str(relative), "error": str(error)}, args)
        print(f"keras_fer predict: {error}", file=sys.stderr)
        return False
    if out:
        csv_path = write_summary(records, fer.class_names, out / relative.parent, path.stem)
        print(f"{path}: emotion over time in {csv_path} (.json, .png)", file=sys.stderr)
    return True
