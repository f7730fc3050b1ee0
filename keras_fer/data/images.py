"""Decoding images and the one face preprocessing shared by training, evaluation and inference.

Faces are stored as uint8 grayscale (H, W) arrays. Histogram equalization (on by default) makes
FER2013's original pixels, the Kaggle JPEGs (which are mostly equalized already) and camera crops
look alike; it is recorded with every model so inference repeats it.
"""

import io
import pathlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")


class BadInputError(ValueError):
    """A file or row that cannot be used; the message names it and says what is wrong."""


def equalize_hist(image):
    """cv2.equalizeHist for one uint8 grayscale image, in NumPy."""
    image = np.asarray(image, dtype=np.uint8)
    hist = np.bincount(image.ravel(), minlength=256)
    first = int(np.flatnonzero(hist)[0])
    if hist[first] == image.size:  # one grey level: cv2 returns it unchanged
        return image.copy()
    scale = 255.0 / (image.size - hist[first])
    lut = np.clip(np.rint((np.cumsum(hist) - hist[first]) * scale), 0, 255).astype(np.uint8)
    return lut[image]


def to_grayscale(image):
    """PIL image of any mode (RGB, RGBA, CMYK, 16-bit, palette) -> uint8 grayscale array."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        high = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
        return np.clip(np.rint(array * 255.0 / high), 0, 255).astype(np.uint8)
    if image.mode in ("RGBA", "LA", "P", "PA"):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image)
    return np.asarray(image.convert("L"), dtype=np.uint8)


def resize_gray(gray, size):
    """uint8 grayscale (H, W) -> (size, size), bilinear (Pillow, antialiased when shrinking)."""
    if gray.shape == (size, size):
        return gray
    return np.asarray(Image.fromarray(gray).resize((size, size), Image.BILINEAR), dtype=np.uint8)


def prepare_face(gray_crop, preprocessing):
    """A grayscale face crop of any size -> the stored face a model was trained on: resized to
    the training faces' size, histogram-equalized if the model's preprocessing says so.
    (Loaders do the same: decode_image(path, size) then LabeledImages.from_faces.)"""
    face = resize_gray(np.asarray(gray_crop, np.uint8), int(preprocessing.get("stored_size", 48)))
    return equalize_hist(face) if preprocessing.get("equalize", True) else face


def open_image(path):
    """A PIL image, upright (EXIF orientation applied), fully read."""
    with Image.open(io.BytesIO(pathlib.Path(path).read_bytes())) as image:
        image.load()
        return ImageOps.exif_transpose(image)


def as_pil(image, color="rgb"):
    """A path, PIL image or NumPy array -> an upright PIL image.

    Arrays: (H, W) grayscale, (H, W, 3) RGB — or BGR with color="bgr", as OpenCV gives —,
    (H, W, 4) RGBA / BGRA; uint8, uint16 (scaled to 8 bit) or float in [0, 1].
    """
    if isinstance(image, (str, pathlib.Path)):
        return _named_errors(open_image, pathlib.Path(image))
    if isinstance(image, Image.Image):
        return ImageOps.exif_transpose(image)
    array = np.asarray(image)
    if color not in ("rgb", "bgr"):
        raise ValueError(f"color must be 'rgb' or 'bgr', got {color!r}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ValueError(f"an image array must be (H, W), (H, W, 3) or (H, W, 4); got shape {array.shape}")
    if array.dtype == np.uint16:
        array = np.rint(array / 257.0).astype(np.uint8)
    elif array.dtype.kind == "f":
        array = np.clip(np.rint(array * 255.0), 0, 255).astype(np.uint8)
    elif array.dtype != np.uint8:
        raise ValueError(f"image arrays must be uint8, uint16 or float in [0, 1]; got {array.dtype}")
    if array.ndim == 3 and color == "bgr":
        array = array[:, :, [2, 1, 0, 3][: array.shape[2]]]
    return Image.fromarray(np.ascontiguousarray(array))


def to_rgb(image):
    """Any PIL image -> uint8 RGB array (for drawing on; alpha over white)."""
    gray_modes = ("I;16", "I;16B", "I;16L", "I", "F")
    if image.mode in gray_modes:
        return np.repeat(to_grayscale(image)[:, :, None], 3, axis=2)
    if image.mode in ("RGBA", "LA", "P", "PA"):
        image = Image.alpha_composite(Image.new("RGBA", image.size, (255, 255, 255, 255)), image.convert("RGBA"))
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def decode_image(path, size=None):
    """Read one image file as uint8 grayscale, optionally resized to size x size (bilinear)."""
    path = pathlib.Path(path)

    def load(path):
        gray = to_grayscale(open_image(path))
        return gray if size is None else resize_gray(gray, size)

    return _named_errors(load, path)


def decode_many(paths, size=None, on_bad="error", workers=8, loader=None):
    """Decode files, `workers` at a time. Returns (images, kept_indices, bad) where
    bad = [(path, reason)].

    on_bad="error" raises BadInputError for the first bad file; "skip" leaves it out and reports it.
    `loader(path)` replaces `decode_image(path, size)` (its errors are reported the same way).
    Threads pay off for photos (decoding and face detection run outside the GIL); for 48x48 faces
    the work is Python-bound, and `workers=1` decodes in this thread without a pool
    (benchmarks/decode_faces.py).
    """
    _check_on_bad(on_bad)
    load = loader or (lambda path: decode_image(path, size))

    def one(path):
        try:
            return _named_errors(load, path), None
        except BadInputError as error:
            if on_bad == "error":
                raise
            return None, str(error)

    if workers <= 1:
        results = [one(path) for path in paths]
    else:
        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(one, paths))
    images, kept, bad = [], [], []
    for index, (image, error) in enumerate(results):
        if error is None:
            images.append(image)
            kept.append(index)
        else:
            bad.append((str(paths[index]), error))
    shapes = {image.shape for image in images}
    if size is None and len(shapes) > 1:
        raise BadInputError(f"images have different sizes {sorted(shapes)[:3]}...; pass size=")
    array = np.stack(images) if images else np.zeros((0, size or 0, size or 0), np.uint8)
    return array, kept, bad


def _named_errors(load, path):
    try:
        return load(path)
    except BadInputError:
        raise
    except FileNotFoundError:
        raise BadInputError(f"{path}: file not found") from None
    except UnidentifiedImageError:
        raise BadInputError(f"{path}: not an image file (cannot identify its format)") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise BadInputError(f"{path}: corrupt or truncated image ({error})") from None


def _check_on_bad(on_bad):
    if on_bad not in ("error", "skip"):
        raise ValueError(f"on_bad must be 'error' or 'skip', got {on_bad!r}")


def list_images(folder):
    """Image files directly inside `folder`, sorted by name (non-image names are not images)."""
    return sorted(p for p in pathlib.Path(folder).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
