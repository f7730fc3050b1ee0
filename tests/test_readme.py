"""The README's Python blocks run as written."""

import re

from conftest import ROOT, dataset_path, run_python


def python_block(heading):
    """The first ```python block after the README heading `heading`."""
    text = (ROOT / "README.md").read_text()
    section = text.split(f"## {heading}\n", 1)[1]
    return re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)


def test_readme_quick_start_runs(tmp_path):
    run_python(python_block("Quick start (Python)"), cwd=tmp_path)
    assert (tmp_path / "fer.keras").is_file()


def test_readme_photo_example_runs(tmp_path):
    """With photo.jpg, frame_bgr and list_of_images made from real FER2013 faces."""
    prelude = f"""
from PIL import Image
from keras_fer.data import load_dataset
from keras_fer.synthetic import compose_photo
faces = load_dataset("fer2013", {str(dataset_path("fer2013"))!r}, equalize=False, split="test")["test"].images
photo, _ = compose_photo(faces[:2], side=150)
Image.fromarray(photo).save("photo.jpg")
frame_bgr = photo[:, :, ::-1]
list_of_images = [photo, "photo.jpg"]
"""
    checks = """
result = fer.detect_emotions("photo.jpg")
assert isinstance(result, list) and all(set(f) == {"box", "emotions", "top_emotion", "score"} for f in result)
assert model.keras_fer_metadata["class_names"][3] == "happy"
print("ok")
"""
    assert run_python(prelude + python_block("Recognise expressions in photos (pretrained, offline)") + checks,
                      cwd=tmp_path).strip().endswith("ok")
