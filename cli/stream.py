"""`keras_fer predict --stream SOURCE`: a camera index, a video file or a URL, in real time.

One line per processed frame (JSON with --json: file, frame, time in the stream, clock since the
start, frames dropped before it, faces), then a summary line: processed and dropped frames.
"""

import json
import pathlib


def add_arguments(parser):
    parser.add_argument("--stream", metavar="SOURCE", help="a camera index (0), a video file or an RTSP/HTTP URL, "
                        "processed in real time: frames the model cannot keep up with are dropped")
    parser.add_argument("--max-frames", type=int, help="with --stream: stop after this many processed frames")
    parser.add_argument("--seconds", type=float, help="with --stream: stop after this many seconds")


def run(args):
    import numpy as np

    from keras_fer.cli.records import emit
    from keras_fer.recognizer import FER
    from keras_fer.stream import AnnotatedVideo, SystemClock, open_reader, run_stream, stream_name

    if args.paths:
        raise ValueError("--stream reads one source; give no image or video paths with it")
    fer = FER(args.model, margin=args.margin, flip=args.flip, ten_crop=args.ten_crop)
    fer.classify_faces([np.zeros((48, 48), np.uint8)])  # trace the model before the clock starts
    clock = SystemClock()
    reader, fps = open_reader(args.stream, clock)
    video = AnnotatedVideo(pathlib.Path(args.annotate) / f"{stream_name(args.stream)}_annotated.avi", fps) \
        if args.annotate else None
    held = [0]

    def on_frame(frame, faces):
        emit({"file": args.stream, "frame": frame.index, "time": round(frame.time, 3), "clock": round(frame.taken, 3),
              "dropped": frame.dropped_before, "faces": faces}, args)
        if video:
            video.add(frame, faces)
            held[0] += frame.dropped_before

    summary = run_stream(reader, fer.detect_emotions, clock, on_frame, args.max_frames, args.seconds)
    if video:
        video.hold(summary["dropped"] - held[0])  # the frames dropped after the last one processed
        video.close()
    if args.json:
        print(json.dumps({"file": args.stream, "summary": summary}), flush=True)
    else:
        print(f"{args.stream}: {summary['processed']} frames processed, {summary['dropped']} dropped in "
              f"{summary['seconds']} s ({summary['stopped']})")
    return 0
