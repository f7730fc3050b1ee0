"""Finding faces in photos, offline: OpenCV's Haar cascades, which ship inside the pinned
`opencv-python-headless` 4.x wheel (`cv2.data.haarcascades`; the 5.0 wheels have none).

Choice by measurement (`benchmarks/face_detection.py`, real FER2013 faces placed on photos):
see BENCHMARKS.md. Boxes are (x, y, w, h) in the coordinates of the image given, upright.
"""

import cv2
import numpy as np

CASCADES = {
    "default": "haarcascade_frontalface_default.xml",
    "alt": "haarcascade_frontalface_alt.xml",
    "alt2": "haarcascade_frontalface_alt2.xml",
    "alt_tree": "haarcascade_frontalface_alt_tree.xml",
}


class FaceDetector:
    """Haar-cascade face detector.

    Detection runs on a downscaled copy, boxes come back in the original image's coordinates: the
    copy is just large enough for the smallest face looked for (`min_size`, a fraction of the short
    side) to fill the cascade's 24-pixel window — 320x240 for a 640x480 photo with the default 0.1,
    about 4x faster than at full size with the same recall on faces of 120 px (BENCHMARKS.md) —
    and never larger than `max_side` (a 24-megapixel photo takes seconds otherwise). Smaller
    faces (group photos): `min_size=0.05` (the default before), at about 4x the time.
    """

    WINDOW = 24  # the side of the frontal cascades' training window, pixels

    def __init__(self, cascade="default", scale_factor=1.1, min_neighbors=5, min_size=0.1,
                 max_side=1024):
        if cascade not in CASCADES:
            raise ValueError(f"unknown cascade {cascade!r}; choose one of {', '.join(CASCADES)}")
        path = cv2.data.haarcascades + CASCADES[cascade]
        self.classifier = cv2.CascadeClassifier(path)
        if self.classifier.empty():
            raise RuntimeError(f"OpenCV could not load its bundled cascade {path}")
        self.cascade, self.scale_factor, self.min_neighbors = cascade, scale_factor, min_neighbors
        self.min_size, self.max_side = min_size, max_side

    def detect(self, gray):
        """Boxes [(x, y, w, h), ...] of the faces in a uint8 grayscale image, largest first."""
        gray = np.asarray(gray, np.uint8)
        height, width = gray.shape
        smallest_face = self.min_size * min(height, width)
        scale = min(1.0, self.max_side / max(height, width), self.WINDOW / max(smallest_face, 1e-6))
        small = gray if scale == 1.0 else cv2.resize(gray, (round(width * scale), round(height * scale)),
                                                     interpolation=cv2.INTER_AREA)
        side = max(20, int(self.min_size * min(small.shape)))  # ignore faces under min_size of the short side
        found = self.classifier.detectMultiScale(small, scaleFactor=self.scale_factor,
                                                 minNeighbors=self.min_neighbors, minSize=(side, side))
        boxes = [tuple(int(round(v / scale)) for v in box) for box in np.asarray(found).reshape(-1, 4)]
        return sorted(boxes, key=lambda b: -b[2] * b[3])


class MTCNNDetector:
    """MTCNN (the `mtcnn` 1.0.0 wheel: MIT, TensorFlow, its weights inside the wheel, offline), the
    detector users of the `fer` package know. It finds more of FER2013's tilted and cut-off faces
    than the Haar cascade but takes 12-28x its time (BENCHMARKS.md), so it is a choice, not the default."""

    def __init__(self, max_side=1024):
        from mtcnn import MTCNN

        # All three stages: without the last (ONet) the boxes are loose proposals (IoU < 0.5).
        self.model = MTCNN(device="CPU:0")
        self.max_side = max_side

    def detect(self, gray):
        gray = np.asarray(gray, np.uint8)
        height, width = gray.shape
        scale = min(1.0, self.max_side / max(height, width))
        small = gray if scale == 1.0 else cv2.resize(gray, (round(width * scale), round(height * scale)),
                                                     interpolation=cv2.INTER_AREA)
        found = self.model.detect_faces(np.repeat(small[..., None], 3, axis=2))  # faces from 20 px
        boxes = [tuple(int(round(v / scale)) for v in face["box"]) for face in found]
        return sorted(boxes, key=lambda b: -b[2] * b[3])


DETECTORS = {"haar": FaceDetector, "mtcnn": MTCNNDetector}


def make_detector(detector=None):
    """A detector by name ("haar", the default, or "mtcnn"), or the object given (anything with
    `detect(gray) -> boxes`)."""
    if detector is None or isinstance(detector, str):
        name = detector or "haar"
        if name not in DETECTORS:
            raise ValueError(f"unknown face detector {name!r}; choose one of {', '.join(DETECTORS)}")
        return DETECTORS[name]()
    return detector


def crop_square(gray, box, margin=0.0):
    """The square around `box` enlarged by `margin` (fraction of its side), edges replicated
    where it leaves the image."""
    x, y, w, h = box
    side = int(round(max(w, h) * (1 + margin)))
    cx, cy = x + w / 2, y + h / 2
    left, top = int(round(cx - side / 2)), int(round(cy - side / 2))
    pad = max(0, -left, -top, left + side - gray.shape[1], top + side - gray.shape[0])
    if pad:
        gray = np.pad(gray, pad, mode="edge")
        left, top = left + pad, top + pad
    return gray[top:top + side, left:left + side]
