"""Drawing detected faces and their expressions on a copy of the photo."""

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def draw_faces(rgb, faces):
    """A PIL image: `rgb` (uint8 array) with each face's box and "class score" label."""
    image = Image.fromarray(np.asarray(rgb, np.uint8))
    draw = ImageDraw.Draw(image)
    width = max(2, round(max(image.size) / 300))
    font = ImageFont.load_default(size=max(12, round(max(image.size) / 40)))
    for face in faces:
        x, y, w, h = face["box"]
        draw.rectangle([x, y, x + w, y + h], outline=(255, 40, 40), width=width)
        label = f"{face['top_emotion']} {face['score']:.2f}"
        left, top, right, bottom = draw.textbbox((x, y), label, font=font)
        top_y = y - (bottom - top) - 2 * width if y - (bottom - top) - 2 * width >= 0 else y + h
        draw.rectangle([x, top_y, x + (right - left) + 2 * width, top_y + (bottom - top) + 2 * width], fill=(255, 40, 40))
        draw.text((x + width, top_y + width - (top - y)), label, fill=(255, 255, 255), font=font)
    return image
