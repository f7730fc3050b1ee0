"""`keras_fer train` on real faces: run directory contents, metadata, refusing to clobber a run."""

import csv
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import dataset_path
from keras_fer.model_io import load_model
from keras_fer.training import Recipe, scheduled_rate


def cli(*args):
    return subprocess.run([sys.executable, "-m", "keras_fer", *args], capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def face_folder(tmp_path_factory):
    """20 real FER2013 faces per class in a class-per-folder tree."""
    source = dataset_path("fer2013") / "test"
    root = tmp_path_factory.mktemp("faces")
    for folder in sorted(source.iterdir()):
        (root / folder.name).mkdir()
        for f in sorted(folder.iterdir())[:20]:
            shutil.copy(f, root / folder.name / f.name)
    return root


def test_train_writes_a_complete_run(tmp_path, face_folder):
    out = tmp_path / "run"
    args = ["train", "--dataset", "folder", "--data", str(face_folder), "--model", "improved",
            "--input-size", "48", "--epochs", "2", "--batch-size", "16", "--recipe", "paper",
            "--learning-rate", "0.01", "--out", str(out)]
    result = cli(*args)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("config.json", "splits.json", "history.csv", "best.keras", "last.keras"):
        assert (out / name).is_file(), name
    history = list(csv.DictReader(open(out / "history.csv")))
    assert [row["epoch"] for row in history] == ["0", "1"]
    assert float(history[0]["learning_rate"]) == pytest.approx(0.01)
    splits = json.loads((out / "splits.json").read_text())
    assert splits["train"]["n"] + splits["validation"]["n"] == 140
    assert set(splits["train"]["files"]).isdisjoint(splits["validation"]["files"])
    model, metadata = load_model(out / "best.keras")
    assert metadata["class_names"] == sorted(p.name for p in face_folder.iterdir())
    assert metadata["preprocessing"]["equalize"] is True and metadata["preprocessing"]["input_size"] == 48
    assert model.output_shape == (None, 7)
    assert max(float(r["val_accuracy"]) for r in history) == pytest.approx(metadata_best(out), abs=1e-6)

    again = cli(*args)
    assert again.returncode == 2 and "already holds a run; pass --resume" in again.stderr


def metadata_best(out):
    return json.loads((out / "best.json").read_text())["val_accuracy"]


def test_train_reports_a_bad_data_path(tmp_path):
    result = cli("train", "--dataset", "fer2013", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "r"))
    assert result.returncode == 2
    assert "missing: no such folder" in result.stderr


def test_schedule_warmup_and_cosine():
    recipe = Recipe(learning_rate=1.0, warmup_epochs=2, schedule="cosine")
    rates = [scheduled_rate(recipe, e, 12) for e in range(12)]
    assert rates[:3] == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert rates[7] == pytest.approx(0.5) and rates[-1] < rates[-2] < rates[3]
    assert np.all(np.diff(rates[2:]) < 0)
