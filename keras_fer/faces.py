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

    Images larger than `max_side` are downscaled for detection (a 24-megapixel photo takes
    seconds otherwise); boxes come back in the original image's coordinates.
    """

    def __init__(self, cascade="default", scale_factor=1.1, min_neighbors=5, min_size=0.05,
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
        scale = min(1.0, self.max_side / max(height, width))
        small = gray if scale == 1.0 else cv2.resize(gray, (round(width * scale), round(height * scale)),
                                                     interpolation=cv2.INTER_AREA)
        side = max(20, int(self.min_size * min(small.shape)))  # ignore faces under 5 % of the short side
        found = self.classifier.detectMultiScale(small, scaleFactor=self.scale_factor,
                                                 minNeighbors=self.min_neighbors, minSize=(side, side))
        boxes = [tuple(int(round(v / scale)) for v in box) for box in np.asarray(found).reshape(-1, 4)]
        return sorted(boxes, key=lambda b: -b[2] * b[3])


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
