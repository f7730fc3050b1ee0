"""Test photos made from real faces: FER2013 crops, upscaled and placed on a larger canvas at
known positions, optionally saved with an EXIF rotation. Used by the tests and the benchmarks
(no photo needs downloading, and the true boxes are known exactly)."""

import io

import numpy as np
from PIL import Image

# EXIF orientation tag -> the PIL transpose that turns the stored pixels upright.
EXIF_ORIENTATION = 0x0112
UPRIGHT_FROM_STORED = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_270,
                       8: Image.Transpose.ROTATE_90}


def background(width, height, seed=0):
    """A smooth colour gradient with mild noise: a plain wall, no face-like structure."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width] / max(width, height)
    colour = rng.uniform(60, 200, 3)
    slope = rng.uniform(-60, 60, (2, 3))
    image = colour + xx[..., None] * slope[0] + yy[..., None] * slope[1] + rng.normal(0, 4, (height, width, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def compose_photo(faces, width=640, height=480, side=160, seed=0):
    """(RGB uint8 photo, boxes) with the 48x48 grayscale `faces` upscaled to side x side and placed
    without overlap at seeded random positions; boxes are (x, y, side, side)."""
    rng = np.random.default_rng(seed)
    photo = background(width, height, seed)
    boxes = []
    for face in faces:
        for _ in range(1000):
            x, y = int(rng.integers(0, width - side + 1)), int(rng.integers(0, height - side + 1))
            if all(x + side <= bx or bx + bs <= x or y + side <= by or by + bs <= y for bx, by, bs, _ in boxes):
                break
        else:
            raise ValueError(f"{len(faces)} faces of {side} px do not fit on {width}x{height}")
        big = Image.fromarray(np.asarray(face, np.uint8)).resize((side, side), Image.BICUBIC)
        photo[y:y + side, x:x + side] = np.asarray(big.convert("RGB"))
        boxes.append((x, y, side, side))
    return photo, boxes


def jpeg_with_orientation(photo, orientation):
    """JPEG bytes whose stored pixels are `photo` turned so that a viewer applying the EXIF
    `orientation` (3, 6 or 8) shows `photo` upright again."""
    upright = Image.fromarray(photo)
    inverse = {Image.Transpose.ROTATE_90: Image.Transpose.ROTATE_270,
               Image.Transpose.ROTATE_270: Image.Transpose.ROTATE_90,
               Image.Transpose.ROTATE_180: Image.Transpose.ROTATE_180}
    stored = upright.transpose(inverse[UPRIGHT_FROM_STORED[orientation]])
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", quality=95, exif=exif.tobytes())
    return buffer.getvalue()


def iou(a, b):
    """Intersection over union of two (x, y, w, h) boxes."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = w * h
    return inter / float(aw * ah + bw * bh - inter)
