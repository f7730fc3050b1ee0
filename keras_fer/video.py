"""Video files: frames through OpenCV, and the emotion-over-time summary of a video."""

import csv
import json
import pathlib

import numpy as np

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")


def is_video(path):
    return pathlib.Path(path).suffix.lower() in VIDEO_SUFFIXES


def open_video(path):
    """(cv2.VideoCapture, frames per second, frame count) with a named error for a bad file."""
    import cv2

    path = pathlib.Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: file not found")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ValueError(f"{path}: cannot open as a video (unknown format or corrupt)")
    fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    return capture, (fps if fps > 0 else 25.0), count


def iter_frames(path, stride=1):
    """(frame index, time in seconds, RGB uint8 frame) for every `stride`-th frame."""
    capture, fps, _ = open_video(path)
    try:
        index = 0
        while True:
            ok = capture.grab()
            if not ok:
                break
            if index % stride == 0:
                ok, frame = capture.retrieve()
                if not ok:
                    raise ValueError(f"{path}: frame {index} cannot be decoded")
                yield index, index / fps, np.ascontiguousarray(frame[:, :, ::-1])
            index += 1
    finally:
        capture.release()


def write_summary(records, class_names, out_dir, name):
    """Emotion over time of one video: per sampled frame, the probabilities of its largest face.

    Writes `<name>.csv` (frame, time, faces, top, one column a class), `<name>.json` (the rows and
    the mean probability of each class over frames with a face) and `<name>.png` (a plot).
    """
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for record in records:
        faces = record["faces"]
        probabilities = faces[0]["emotions"] if faces else {c: None for c in class_names}
        rows.append({"frame": record["frame"], "time": round(record["time"], 3), "faces": len(faces),
                     "top": faces[0]["top_emotion"] if faces else "", **probabilities})
    with open(out_dir / f"{name}.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, ["frame", "time", "faces", "top", *class_names])
        writer.writeheader()
        writer.writerows(rows)
    with_face = [r for r in rows if r["faces"]]
    mean = {c: float(np.mean([r[c] for r in with_face])) if with_face else None for c in class_names}
    (out_dir / f"{name}.json").write_text(json.dumps(
        {"frames": rows, "frames_with_face": len(with_face), "mean_probabilities": mean}, indent=1))
    _plot(rows, class_names, out_dir / f"{name}.png", name)
    return out_dir / f"{name}.csv"


def _plot(rows, class_names, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(9, 4))
    times = [r["time"] for r in rows]
    for name in class_names:
        axis.plot(times, [np.nan if r[name] is None else r[name] for r in rows], label=name)
    axis.set(xlabel="time (s)", ylabel="probability (largest face)", ylim=(0, 1), title=title)
    axis.legend(loc="upper right", fontsize="small", ncol=2)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
