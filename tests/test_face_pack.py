"""keras_fer.data.pack: FER2013 + FER+ in one file for the GPU machine, each face stored once."""

import cv2
import numpy as np
import pytest

from conftest import dataset_path, ferplus_sample, run_cli
from keras_fer.data import load_dataset
from keras_fer.data import pack as face_pack
from keras_fer.data.fer2013 import CLASSES

FERPLUS_ROWS = {"FER2013Train": 60, "FER2013Valid": 30}


@pytest.fixture(scope="module")
def small_sets(tmp_path_factory):
    """A FER+ folder of real rows (label.csv + PNGs), and a Kaggle-style FER2013 folder holding the
    same faces as equalized JPEGs (as Kaggle's are), shuffled, plus real Kaggle faces FER+ lacks."""
    root = tmp_path_factory.mktemp("pack")
    ferplus_root, fer2013_root = ferplus_sample(root / "ferplus", FERPLUS_ROWS), root / "fer2013"
    rng = np.random.default_rng(0)
    for folder, kaggle_split in (("FER2013Train", "train"), ("FER2013Valid", "test")):
        rows = (ferplus_root / folder / "label.csv").read_text().splitlines()
        for number, row in enumerate(rng.permutation(rows)):
            name = row.split(",")[0]
            face = cv2.equalizeHist(cv2.imread(str(ferplus_root / folder / name), cv2.IMREAD_GRAYSCALE))
            target = fer2013_root / kaggle_split / CLASSES[number % len(CLASSES)] / f"face_{number:03d}.jpg"
            target.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(target), face, [cv2.IMWRITE_JPEG_QUALITY, 95])
        for extra in sorted((dataset_path("fer2013") / kaggle_split / "happy").iterdir())[:5]:
            (fer2013_root / kaggle_split / "happy" / extra.name).symlink_to(extra)
    out = root / "faces.npz"
    report = face_pack.build(fer2013_root, ferplus_root, out)
    return fer2013_root, ferplus_root, out, report


def test_fer2013_splits_round_trip_within_jpeg_error(small_sets):
    fer2013_root, _, out, _ = small_sets
    for split in ("train", "test"):
        expected = load_dataset("fer2013", fer2013_root)[split]
        packed = face_pack.load(out, f"fer2013/{split}")
        assert packed.class_names == expected.class_names and packed.preprocessing == expected.preprocessing
        np.testing.assert_array_equal(packed.labels, expected.labels)
        error = np.abs(packed.images.astype(int) - expected.images).mean(axis=(1, 2))
        assert error.max() < 4, error.max()  # quality-90 JPEG of 48x48 faces: ~2.4 grey levels


@pytest.mark.parametrize("mode", ["majority", "probability"])
def test_ferplus_splits_point_at_their_own_faces(small_sets, mode):
    fer2013_root, ferplus_root, out, report = small_sets
    for split in ("train", "valid"):
        expected = load_dataset("ferplus", ferplus_root, label_mode=mode)[split]
        packed = face_pack.load(out, f"ferplus/{split}/{mode}")
        assert report[f"ferplus/{split}/{mode}"]["kept"] == len(expected) == len(packed)  # all matched
        assert packed.class_names == expected.class_names
        np.testing.assert_array_equal(packed.labels, expected.labels)
        # Each index finds the shuffled Kaggle copy of its own face (two equalizations and two JPEG
        # encodings away: a few grey levels), which is nearer than any other face of the split.
        error = np.abs(packed.images[:, None].astype(int) - expected.images[None]).mean(axis=(2, 3))
        assert (error.argmin(axis=1) == np.arange(len(packed))).all()
        assert error.diagonal().max() < 10 < np.sort(error, axis=1)[:, 1].min(), error.diagonal().max()


def test_unknown_split_names_what_the_pack_holds(small_sets):
    out = small_sets[2]
    with pytest.raises(ValueError, match=r"no split 'ferplus/test/majority'; it holds \['fer2013/test'"):
        face_pack.load(out, "ferplus/test/majority")


def test_load_dataset_reads_a_pack_as_the_folders(small_sets):
    fer2013_root, ferplus_root, out, _ = small_sets
    packed = load_dataset("ferplus", out, label_mode="probability")
    assert set(packed) == {"train", "valid"} and packed["valid"].soft
    np.testing.assert_array_equal(packed["valid"].labels,
                                  load_dataset("ferplus", ferplus_root, label_mode="probability")["valid"].labels)
    assert set(load_dataset("fer2013", out)) == {"train", "test"}
    with pytest.raises(ValueError, match="a face pack holds fer2013 and ferplus, not 'rafd'"):
        load_dataset("rafd", out)


def test_train_runs_from_a_pack(small_sets, tmp_path):
    """`keras_fer train --data PACK.npz`: what the GPU machine runs (on JAX, without TensorFlow;
    scripts/gpu_runs.sh), here on TensorFlow, started from a shipped model."""
    from keras_fer.model_io import load_model

    ferplus_root, pack, out = small_sets[1], small_sets[2], tmp_path / "run"
    valid = load_dataset("ferplus", ferplus_root, split="valid")["valid"]  # majority labels: the default
    result = run_cli("train", "--dataset", "ferplus", "--data", pack, "--model", "improved", "--input-size", "32",
                     "--recipe", "strong", "--epochs", "1", "--batch-size", "16", "--init-from", "fer2013",
                     "--out", out)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "initialised 104 layers from fer2013; not copied: logits" in result.stdout  # 7 classes -> 8
    assert f"{len(valid)} validation images" in result.stdout
    model, metadata = load_model(out / "best.keras")
    assert metadata["dataset"] == "ferplus" and metadata["class_names"][0] == "neutral"
    assert model.output_shape == (None, 8) and model.input_shape == (None, 32, 32, 3)


def test_gpu_runs_files_are_train_commands():
    """Every line of the runs files that scripts/gpu_runs.sh runs on a device parses as `keras_fer train`
    arguments, so a renamed flag fails here, not on a rare GPU machine."""
    from conftest import ROOT
    from keras_fer.cli.main import build_parser

    files = sorted(ROOT.glob("scripts/*.runs")) + sorted(ROOT.glob("benchmarks/*.runs"))
    assert len(files) >= 3
    for path in files:
        for line in path.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                name, *args = line.split()
                parsed = build_parser().parse_args(["train", *args, "--time-budget", "60", "--out", "x"])
                assert parsed.data == ".gpu/faces.npz", (path.name, name)
