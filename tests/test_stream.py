"""`keras_fer predict --stream`: the real-time loop on a video file, on a simulated clock (a slow
model drops frames and stays in step; a fast one waits for each frame), its stops, the threaded
reader of live sources, and the command."""

import json

import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import dataset_path, run_cli
from keras_fer.stream import LatestFrameReader, PacedFileReader, open_reader, open_source, run_stream
from keras_fer.synthetic import compose_photo

FPS, FRAMES = 10, 40


class SimulatedClock:
    """Time moves only when the code sleeps or the "model" works."""

    def __init__(self):
        self.time = 0.0

    def now(self):
        return self.time

    def sleep(self, seconds):
        assert seconds >= 0
        self.time += seconds


@pytest.fixture(scope="module")
def numbered_video(tmp_path_factory):
    """FRAMES frames at FPS, frame k a flat grey of value 5 k: the pixels say which frame came."""
    path = tmp_path_factory.mktemp("video") / "numbered.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (64, 48))
    for k in range(FRAMES):
        writer.write(np.full((48, 64, 3), 5 * k, np.uint8))
    writer.release()
    return path


def run_simulated(video, cost, **stops):
    """Run the loop on `video` with a model that takes `cost` seconds; (frames processed, summary)."""
    clock = SimulatedClock()
    reader, fps = open_reader(video, clock)
    assert isinstance(reader, PacedFileReader) and fps == FPS
    frames = []

    def model(rgb):
        clock.sleep(cost)
        return []

    summary = run_stream(reader, model, clock, lambda frame, result: frames.append(frame), **stops)
    for frame in frames:  # the frame given is the frame named: its grey level is 5 x its index
        assert abs(frame.rgb.mean() - 5 * frame.index) < 1.5, (frame.index, frame.rgb.mean())
        # In step with the clock: taken after it arrived, before the next one did.
        assert frame.index / FPS <= frame.taken + 1e-9 < (frame.index + 1) / FPS
    return frames, summary


def test_slow_model_drops_frames_and_stays_in_step(numbered_video):
    frames, summary = run_simulated(numbered_video, cost=0.25)  # 4 frames/s on a 10 frames/s video
    # Taken at 0, 0.25, 0.5, ... s: the newest frame then, floor(2.5 k); the rest dropped.
    assert [f.index for f in frames] == [int(2.5 * k) for k in range(16)]
    assert [f.dropped_before for f in frames[:4]] == [0, 1, 2, 1]
    assert summary == {"processed": 16, "dropped": 24, "seconds": 4.0, "processed_per_second": 4.0, "stopped": "end"}


def test_fast_model_takes_every_frame_at_its_time(numbered_video):
    frames, summary = run_simulated(numbered_video, cost=0.01)
    assert [f.index for f in frames] == list(range(FRAMES))
    assert [round(f.taken, 6) for f in frames] == [k / FPS for k in range(FRAMES)]  # waits; never runs ahead
    # Ends when the file does: 40 frames at 10 frames/s last 4 s (the last frame is shown until then).
    assert summary["processed"] == FRAMES and summary["dropped"] == 0 and summary["seconds"] == 4.0


def test_stops_after_max_frames_seconds_and_ctrl_c(numbered_video):
    frames, summary = run_simulated(numbered_video, cost=0.25, max_frames=5)
    assert len(frames) == 5 and summary["stopped"] == "max-frames" and summary["dropped"] == 6
    frames, summary = run_simulated(numbered_video, cost=0.25, seconds=1.0)
    assert [f.index for f in frames] == [0, 2, 5, 7] and summary["stopped"] == "seconds"

    clock, calls = SimulatedClock(), []

    def interrupted_model(rgb):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return []

    reader = PacedFileReader(*open_source(numbered_video)[:2], clock)
    summary = run_stream(reader, interrupted_model, clock, lambda frame, result: None)
    assert summary["processed"] == 2 and summary["stopped"] == "interrupted"
    assert not reader.capture.isOpened()  # released on the way out


def test_live_reader_keeps_only_the_newest_frame(numbered_video):
    """A camera's reader on a file: the thread reads as fast as it decodes, a slow model gets the
    newest frame each time, and every frame is either processed or counted as dropped."""
    import time

    capture, fps, _ = open_source(numbered_video)
    reader = LatestFrameReader(capture, fps, SimulatedClock())
    frames = []

    def slow_model(rgb):
        time.sleep(0.05)
        return []

    summary = run_stream(reader, slow_model, SimulatedClock(), lambda frame, result: frames.append(frame))
    indices = [f.index for f in frames]
    assert indices == sorted(set(indices)) and len(frames) >= 1
    assert all(abs(f.rgb.mean() - 5 * f.index) < 1.5 for f in frames)
    assert summary["processed"] + summary["dropped"] == FRAMES
    assert sum(f.dropped_before for f in frames) + (FRAMES - 1 - indices[-1]) == summary["dropped"]


def test_bad_sources_are_named(tmp_path):
    with pytest.raises(ValueError, match="missing.avi: file not found"):
        open_source(tmp_path / "missing.avi")
    (tmp_path / "noise.avi").write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(ValueError, match=r"noise.avi: cannot open as a video stream \(unknown format or corrupt\)"):
        open_source(tmp_path / "noise.avi")
    result = run_cli("predict", "--stream", tmp_path / "noise.avi")
    assert result.returncode == 2 and "noise.avi: cannot open as a video stream" in result.stderr
    result = run_cli("predict", "photo.jpg", "--stream", "0")
    assert result.returncode == 2 and "--stream reads one source" in result.stderr
    result = run_cli("predict")
    assert result.returncode == 2 and "give image or video paths, or --stream SOURCE" in result.stderr


def test_stream_command_on_a_video_of_real_faces(tmp_path):
    faces = [np.asarray(Image.open(f)) for f in sorted((dataset_path("fer2013") / "test" / "happy").iterdir())[:3]]
    video = tmp_path / "faces.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 240))
    for k in range(30):
        writer.write(compose_photo(faces[k // 10:k // 10 + 1], 320, 240, side=140, seed=k // 10)[0][:, :, ::-1])
    writer.release()
    out = tmp_path / "out"
    result = run_cli("predict", "--stream", video, "--json", "--max-frames", 4, "--annotate", out)
    assert result.returncode == 0, result.stderr
    *lines, summary = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 4 and all(len(line["faces"]) == 1 for line in lines)
    assert [line["frame"] for line in lines] == sorted({line["frame"] for line in lines})
    assert set(lines[0]) == {"file", "frame", "time", "clock", "dropped", "faces"}
    assert summary["file"] == str(video) and summary["summary"]["processed"] == 4
    assert summary["summary"]["stopped"] == "max-frames"
    assert summary["summary"]["dropped"] == sum(line["dropped"] for line in lines)
    annotated = cv2.VideoCapture(str(out / "faces_annotated.avi"))
    # One video frame per stream frame up to the last one processed: the timing is kept.
    assert int(annotated.get(cv2.CAP_PROP_FRAME_COUNT)) == lines[-1]["frame"] + 1
    ok, first = annotated.read()
    assert ok and first.shape == (240, 320, 3)
    annotated.release()

    result = run_cli("predict", "--stream", video, "--seconds", 60)
    assert result.returncode == 0, result.stderr
    last = result.stdout.splitlines()[-1]
    assert last.startswith(f"{video}: ") and "dropped in" in last and last.endswith("(end)")
    processed = int(last.split(": ")[1].split()[0])
    assert processed + int(last.split(", ")[1].split()[0]) == 30
