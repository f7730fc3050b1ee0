"""Expressions on a live stream: a camera, a file or a URL that OpenCV opens, kept in real time.

The model takes the newest frame each time it is free; the frames that arrived while it worked
are dropped (counted, not decoded). A camera or URL is read by a thread that keeps only the
newest frame; a file is played as if it were live, frame i arriving i / fps seconds after the
start, so a slow model drops frames on a file exactly as it would on a camera. The clock is
injectable (`now`, `sleep`): the tests run the loop on a simulated one.
"""

import collections
import pathlib
import threading
import time

import numpy as np

Frame = collections.namedtuple("Frame", "index time rgb dropped_before taken")


class SystemClock:
    now = staticmethod(time.monotonic)
    sleep = staticmethod(time.sleep)


def open_source(source):
    """(cv2.VideoCapture, frames per second, live) for a camera index ("0"), a video file or a
    URL (rtsp://, http://...), with an error naming the source and the problem."""
    import cv2

    source = str(source)
    live = source.isdigit() or "://" in source
    if not live and not pathlib.Path(source).is_file():
        raise ValueError(f"{source}: file not found")
    capture = cv2.VideoCapture(int(source) if source.isdigit() else source)
    if not capture.isOpened():
        what = "no such camera" if source.isdigit() else "unreachable or not a video stream" if live else \
            "unknown format or corrupt"
        raise ValueError(f"{source}: cannot open as a video stream ({what})")
    fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
    return capture, (fps if 0 < fps < 1000 else 25.0), live


class PacedFileReader:
    """A video file played in real time: `read` returns the newest frame whose time has come,
    waiting for the next one when the model is ahead of the video."""

    def __init__(self, capture, fps, clock):
        self.capture, self.fps, self.clock = capture, fps, clock
        self.position, self.dropped, self.start = 0, 0, None

    def read(self):
        """The next Frame to process, or None at the end of the file."""
        if self.start is None:
            self.start = self.clock.now()
        elapsed = self.clock.now() - self.start
        due = int(elapsed * self.fps)  # the newest frame that has arrived
        if due < self.position:  # the model is ahead: wait for the frame
            self.clock.sleep(self.position / self.fps - elapsed)
            due = self.position
        skipped = 0
        while self.position < due:  # arrived while the model worked: dropped, not decoded
            if not self.capture.grab():
                self.dropped += skipped
                return None
            self.position, skipped = self.position + 1, skipped + 1
        self.dropped += skipped
        ok, bgr = self.capture.read()
        if not ok:
            return None
        self.position += 1
        return Frame(self.position - 1, (self.position - 1) / self.fps, np.ascontiguousarray(bgr[:, :, ::-1]),
                     skipped, self.clock.now() - self.start)

    def close(self):
        self.capture.release()


class LatestFrameReader:
    """A camera or URL: a thread reads every frame as it arrives and keeps the newest; a frame
    replaced before the model took it is dropped."""

    def __init__(self, capture, fps, clock):
        self.capture, self.fps, self.clock = capture, fps, clock
        self.dropped, self.start = 0, clock.now()
        self._newest, self._ended, self._unseen = None, False, 0
        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self):
        index = 0
        while not self._ended:
            ok, bgr = self.capture.read()
            with self._condition:
                if not ok:
                    self._ended = True
                else:
                    if self._newest is not None:
                        self.dropped += 1
                        self._unseen += 1
                    self._newest = (index, self.clock.now() - self.start, bgr)
                    index += 1
                self._condition.notify_all()

    def read(self):
        with self._condition:
            self._condition.wait_for(lambda: self._newest is not None or self._ended)
            if self._newest is None:
                return None
            (index, arrived, bgr), self._newest = self._newest, None
            skipped, self._unseen = self._unseen, 0
        return Frame(index, arrived, np.ascontiguousarray(bgr[:, :, ::-1]), skipped, self.clock.now() - self.start)

    def close(self):
        with self._condition:
            self._ended = True
        self._thread.join(timeout=5)
        self.capture.release()


def open_reader(source, clock=None):
    """The reader for `source` (see open_source) and its frames per second."""
    capture, fps, live = open_source(source)
    clock = clock or SystemClock()
    return (LatestFrameReader if live else PacedFileReader)(capture, fps, clock), fps


def run_stream(reader, process, clock, on_frame, max_frames=None, seconds=None):
    """Process the newest frame each time `process(rgb)` returns, until the source ends,
    `max_frames` frames are processed, `seconds` have passed or Ctrl-C; `on_frame(frame, result)`
    after each. Returns the summary: processed, dropped, seconds, stopped."""
    start, processed, stopped = clock.now(), 0, "end"
    try:
        while True:
            if max_frames is not None and processed >= max_frames:
                stopped = "max-frames"
                break
            if seconds is not None and clock.now() - start >= seconds:
                stopped = "seconds"
                break
            frame = reader.read()
            if frame is None:
                break
            result = process(frame.rgb)
            processed += 1
            on_frame(frame, result)
    except KeyboardInterrupt:
        stopped = "interrupted"
    finally:
        reader.close()
    elapsed = clock.now() - start
    return {"processed": processed, "dropped": reader.dropped, "seconds": round(elapsed, 3),
            "processed_per_second": round(processed / elapsed, 2) if elapsed > 0 else None, "stopped": stopped}


class AnnotatedVideo:
    """An MJPG .avi of the processed frames with their boxes and labels, each held on screen for
    the frames dropped after it, so the video keeps the stream's timing."""

    def __init__(self, path, fps):
        self.path, self.fps, self.writer, self.last = pathlib.Path(path), fps, None, None

    def add(self, frame, faces):
        from keras_fer.annotate import draw_faces

        self.hold(frame.dropped_before)
        self.last = np.asarray(draw_faces(frame.rgb, faces))[:, :, ::-1]
        self._write(self.last)

    def hold(self, count):
        for _ in range(count if self.last is not None else 0):
            self._write(self.last)

    def _write(self, bgr):
        import cv2

        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            height, width = bgr.shape[:2]
            self.writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"MJPG"), self.fps, (width, height))
        self.writer.write(np.ascontiguousarray(bgr))

    def close(self):
        if self.writer is not None:
            self.writer.release()


def stream_name(source):
    """A file name for a source's outputs: the file's stem, camera0, or the URL's last part."""
    source = str(source)
    if source.isdigit():
        return f"camera{source}"
    stem = pathlib.Path(source.split("?")[0].rstrip("/")).stem
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in stem) or "stream"
