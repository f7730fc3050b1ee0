"""Data loaders on the real images in ../shared/datasets, on generated fixtures, and bad input."""

import csv
import dataclasses
import pathlib
import shutil

import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import dataset_path
from keras_fer.data import BadInputError, LabeledImages, equalize_hist, load_dataset, make_splits
from keras_fer.data import fer2013, ferplus, rafd
from keras_fer.data.labeled import concatenate

FER2013_TRAIN = {"angry": 3995, "disgust": 436, "fear": 4097, "happy": 7215, "neutral": 4965,
                 "sad": 4830, "surprise": 3171}
FER2013_TEST = {"angry": 467, "disgust": 56, "fear": 496, "happy": 895, "neutral": 607, "sad": 653,
                "surprise": 415}
# FER+ FER2013Train / FER2013Valid under the authors' "majority" rule (votes of 1 removed, winner
# must hold > 50 % of the rest, unknown / NF winners dropped), as measured on ../shared/datasets.
FERPLUS_TRAIN_MAJORITY = {"neutral": 8733, "happiness": 7284, "surprise": 3136, "sadness": 3022,
                          "anger": 2098, "disgust": 116, "fear": 536, "contempt": 120}
FERPLUS_VALID_PROBABILITY_N = 3508


@pytest.fixture(scope="module")
def fer2013_real():
    return load_dataset("fer2013", dataset_path("fer2013"))


def test_fer2013_folder_counts(fer2013_real):
    assert len(fer2013_real["train"]) == 28_709
    assert fer2013_real["train"].counts() == FER2013_TRAIN
    assert fer2013_real["test"].counts() == FER2013_TEST
    assert fer2013_real["train"].class_names == fer2013.CLASSES  # fer2013.csv's order, not folders'
    assert len(fer2013_real["public_test"]) == 3_589 and "private_test" not in fer2013_real
    assert fer2013_real["train"].images.shape[1:] == (48, 48)
    assert fer2013_real["train"].images.dtype == np.uint8


def test_equalization_matches_opencv(fer2013_real):
    faces = fer2013_real["test"].images[:50]
    for face in faces:
        np.testing.assert_array_equal(equalize_hist(face), cv2.equalizeHist(face))
    flat = np.full((4, 4), 7, np.uint8)
    np.testing.assert_array_equal(equalize_hist(flat), cv2.equalizeHist(flat))


def test_ferplus_majority_counts():
    splits = load_dataset("ferplus", dataset_path("ferplus"))
    assert splits["train"].counts() == FERPLUS_TRAIN_MAJORITY
    assert len(splits["train"]) == sum(FERPLUS_TRAIN_MAJORITY.values())
    assert splits["train"].class_names == ferplus.CLASSES and "valid" in splits
    valid_only = load_dataset("ferplus", dataset_path("ferplus"), split="valid")  # train/ not decoded
    assert list(valid_only) == ["valid"] and valid_only["valid"].files == splits["valid"].files
    np.testing.assert_array_equal(valid_only["valid"].images, splits["valid"].images)
    np.testing.assert_array_equal(valid_only["valid"].labels, splits["valid"].labels)


def test_one_split_decodes_only_the_folder_that_holds_it(tmp_path):
    from keras_fer.evaluation import load_split_for_model

    root = _mini_kaggle_tree(tmp_path)
    full = load_dataset("fer2013", root)
    assert sorted(full) == ["private_test", "public_test", "test", "train"]
    for split, expected in [("train", ["train"]), ("private_test", ["private_test", "public_test", "test"]),
                            ("valid", sorted(full))]:  # a split no folder holds: everything, as before
        loaded = load_dataset("fer2013", root, split=split)
        assert sorted(loaded) == expected, split
        for name in loaded:
            assert loaded[name].files == full[name].files
            np.testing.assert_array_equal(loaded[name].images, full[name].images)
    shutil.rmtree(root / "test")  # the split's folder is missing: the error names what was found
    metadata = {"class_names": list(fer2013.CLASSES)}
    with pytest.raises(ValueError, match=r"no split 'test' \(found: train\)"):
        load_split_for_model(metadata, "fer2013", root, "test")


def test_ferplus_probability_labels():
    root = dataset_path("ferplus")
    splits = ferplus.load_ferplus(root, label_mode="probability", split="valid")
    valid = splits["valid"]
    assert len(valid) == FERPLUS_VALID_PROBABILITY_N
    assert valid.labels.shape == (len(valid), 8)
    np.testing.assert_allclose(valid.labels.sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize(
    "votes,majority",
    [
        ([6, 2, 0, 0, 0, 0, 0, 0, 1, 1], 0),  # clear winner; the single votes are outliers
        ([4, 4, 2, 0, 0, 0, 0, 0, 0, 0], None),  # tie: nobody holds more than half
        ([0, 0, 0, 0, 0, 0, 0, 0, 7, 3], None),  # unknown wins: dropped
        ([0, 0, 0, 0, 0, 0, 0, 0, 0, 10], None),  # not a face
        ([5, 1, 1, 1, 1, 1, 0, 0, 0, 0], 0),  # 5 of 5 after removing single votes
        ([0, 0, 0, 0, 0, 0, 0, 6, 2, 2], 7),  # contempt
    ],
)
def test_ferplus_majority_rule(votes, majority):
    assert ferplus.majority_label(votes) == majority


def test_ferplus_probability_rule():
    # The authors keep the top emotions until they hold 75 % of the votes (at most three).
    np.testing.assert_allclose(ferplus.probability_label([6, 2, 0, 0, 0, 0, 0, 0, 1, 1]), [1, 0, 0, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(ferplus.probability_label([5, 3, 2, 0, 0, 0, 0, 0, 0, 0]),
                               [0.625, 0.375, 0, 0, 0, 0, 0, 0])
    assert ferplus.probability_label([2, 2, 2, 2, 2, 0, 0, 0, 0, 0]) is None  # too many emotions
    assert ferplus.probability_label([3, 0, 0, 0, 0, 0, 0, 0, 5, 2]) is None  # unknown leads


# ----- FER2013 CSV <-> folders, on real faces ----------------------------------------------------

def _mini_kaggle_tree(tmp_path, per_class=30, with_private=True):
    """A Kaggle-layout tree of real FER2013 files; test/ mixes PublicTest and PrivateTest names."""
    source = dataset_path("fer2013")
    root = tmp_path / "fer2013"
    for name in fer2013.CLASSES:
        for split in ("train", "test"):
            (root / split / name).mkdir(parents=True)
        files = sorted((source / "train" / name).iterdir())[:per_class]
        for f in files:
            shutil.copy(f, root / "train" / name / f.name)
        tests = sorted((source / "test" / name).iterdir())[:6]
        for i, f in enumerate(tests):
            target = f.name.replace("PublicTest", "PrivateTest") if with_private and i % 2 else f.name
            shutil.copy(f, root / "test" / name / target)
    return root


def _write_csv(path, splits_by_usage, header=("emotion", "pixels", "Usage"), pixel_count=2304):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for usage, data in splits_by_usage:
            for image, label in zip(data.images, data.labels):
                writer.writerow([label, " ".join(map(str, image.ravel()[:pixel_count])), usage])


def test_csv_and_folder_give_identical_pixels_and_labels(tmp_path):
    folder = load_dataset("fer2013", _mini_kaggle_tree(tmp_path), equalize=False)
    assert len(folder["train"]) == 7 * 30
    assert len(folder["public_test"]) == len(folder["private_test"]) == 21
    csv_path = tmp_path / "fer2013.csv"
    _write_csv(csv_path, [("Training", folder["train"]), ("PublicTest", folder["public_test"]),
                          ("PrivateTest", folder["private_test"])])
    from_csv = load_dataset("fer2013", csv_path, equalize=False)
    for split in ("train", "public_test", "private_test", "test"):
        assert from_csv[split].class_names == folder[split].class_names == fer2013.CLASSES
        np.testing.assert_array_equal(from_csv[split].images, folder[split].images)
        np.testing.assert_array_equal(from_csv[split].labels, folder[split].labels)
    # Label 4 in the CSV is "sad" (not alphabetical): the folder loader agrees by name.
    sad = folder["train"].files[int(np.flatnonzero(folder["train"].labels == 4)[0])]
    assert "/sad/" in sad


@pytest.mark.parametrize(
    "header,pixel_count,row_fix,message",
    [
        (("emotion", "pixels", "Usage"), 2303, None, "pixels has 2303 values, expected 2304"),
        (("emotion", "pixel", "Usage"), 2304, None, "missing column(s) ['pixels']"),
        (("emotion", "pixels", "Usage"), 2304, ("emotion", "9"), "unknown label 9"),
        (("emotion", "pixels", "Usage"), 2304, ("Usage", "Validation"), "unknown Usage 'Validation'"),
    ],
)
def test_bad_csv_names_file_and_row(tmp_path, header, pixel_count, row_fix, message):
    data = LabeledImages(np.full((3, 48, 48), 9, np.uint8), np.array([0, 1, 2]), fer2013.CLASSES, ["a", "b", "c"])
    path = tmp_path / "fer2013.csv"
    _write_csv(path, [("Training", data)], header=header, pixel_count=pixel_count)
    if row_fix:
        rows = list(csv.DictReader(open(path)))
        rows[1][row_fix[0]] = row_fix[1]
        with open(path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=header)
            writer.writeheader()
            writer.writerows(rows)
    with pytest.raises(BadInputError) as error:
        load_dataset("fer2013", path)
    assert str(path) in str(error.value) and message in str(error.value)
    if header == ("emotion", "pixels", "Usage") and pixel_count == 2304:
        assert f"{path}:3" in str(error.value)  # the header is line 1; the bad row is line 3
        skipped = load_dataset("fer2013", path, on_bad="skip")
        assert len(skipped["train"]) == 2 and skipped["train"].skipped[0][0] == f"{path}:3"


# ----- image files: corrupt, not an image, empty folders ----------------------------------------

def _folder_tree(tmp_path, classes=("happy", "sad"), n=3):
    root = tmp_path / "faces"
    rng = np.random.default_rng(0)
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 255, (40, 40), dtype=np.uint8)).save(root / name / f"{i}.png")
    return root


def test_folder_loader_classes_from_folders(tmp_path):
    root = _folder_tree(tmp_path, classes=("surprised", "calm", "angry"))
    (root / "calm" / "notes.txt").write_text("not an image, ignored by suffix")
    data = load_dataset("folder", root)["all"]
    assert data.class_names == ("angry", "calm", "surprised")
    assert data.counts() == {"angry": 3, "calm": 3, "surprised": 3}
    assert data.images.shape == (9, 48, 48)


def test_corrupt_and_non_image_files(tmp_path):
    root = _folder_tree(tmp_path)
    good = (root / "happy" / "0.png").read_bytes()
    (root / "happy" / "truncated.png").write_bytes(good[: len(good) // 2])
    (root / "sad" / "text.jpg").write_text("this is not a JPEG")
    with pytest.raises(BadInputError, match=r"happy/truncated\.png: corrupt or truncated image"):
        load_dataset("folder", root)
    (root / "happy" / "truncated.png").unlink()
    with pytest.raises(BadInputError, match=r"sad/text\.jpg: not an image file"):
        load_dataset("folder", root)
    data = load_dataset("folder", root, on_bad="skip")["all"]
    assert len(data) == 6
    assert [pathlib.Path(path).name for path, _ in data.skipped] == ["text.jpg"]


def test_empty_class_folder_and_empty_root(tmp_path):
    root = _folder_tree(tmp_path)
    (root / "fear").mkdir()
    with pytest.raises(BadInputError, match=r"fear: empty class folder"):
        load_dataset("folder", root)
    empty = tmp_path / "nothing"
    empty.mkdir()
    with pytest.raises(BadInputError, match=r"nothing: no class folders"):
        load_dataset("folder", empty)


def test_image_modes_are_read_as_grayscale(tmp_path):
    from keras_fer.data import decode_image

    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "cmyk.jpg")
    Image.fromarray((rgb[..., 0].astype(np.uint16) * 257)).save(tmp_path / "deep.png")
    Image.fromarray(np.dstack([rgb, np.full((20, 20), 255, np.uint8)])).save(tmp_path / "rgba.png")
    expected = np.asarray(Image.fromarray(rgb).convert("L"))
    np.testing.assert_array_equal(decode_image(tmp_path / "rgb.png"), expected)
    np.testing.assert_array_equal(decode_image(tmp_path / "rgba.png"), expected)  # opaque alpha
    np.testing.assert_array_equal(decode_image(tmp_path / "deep.png"), rgb[..., 0])  # 16-bit scaled
    assert decode_image(tmp_path / "cmyk.jpg").shape == (20, 20)
    assert decode_image(tmp_path / "rgb.png", size=48).shape == (48, 48)


# ----- RaFD names ---------------------------------------------------------------------------------

def _rafd_tree(tmp_path, subjects=(1, 2, 3, 4, 5), angles=("090", "045"), gazes=("frontal", "left")):
    root = tmp_path / "rafd"
    root.mkdir()
    rng = np.random.default_rng(1)
    for subject in subjects:
        for angle in angles:
            for emotion in rafd.CLASSES:
                for gaze in gazes:
                    name = f"Rafd{angle}_{subject:02d}_Caucasian_{'female' if subject % 2 else 'male'}_{emotion}_{gaze}.jpg"
                    Image.fromarray(rng.integers(0, 255, (64, 42, 3), dtype=np.uint8)).save(root / name)
    return root


def test_rafd_names_filters_and_subject_split(tmp_path):
    root = _rafd_tree(tmp_path)
    data = load_dataset("rafd", root, size=32)["all"]
    assert len(data) == 5 * 8 * 2  # angle 090 only, both gazes
    assert data.counts() == {name: 10 for name in rafd.CLASSES}
    frontal = load_dataset("rafd", root, size=32, angles=("090", "045"), gazes=("frontal",))["all"]
    assert len(frontal) == 5 * 8 * 2
    train, val = make_splits("rafd", load_dataset("rafd", root, size=32), split="paper", seed=3)
    subjects = lambda d: {rafd.parse_rafd_name(f)["subject"] for f in d.files}  # noqa: E731
    assert subjects(train).isdisjoint(subjects(val))
    assert len(subjects(train)) == 4 and len(val) == 16


def test_rafd_subjects_survive_relabel_subset_concatenate_and_npz(tmp_path):
    data = load_dataset("rafd", _rafd_tree(tmp_path), size=16)["all"]
    named = lambda d: [rafd.parse_rafd_name(f)["subject"] for f in d.files]  # noqa: E731
    assert data.subjects.tolist() == named(data)
    relabeled = data.relabel(tuple(reversed(data.class_names)))
    both = concatenate([relabeled.subset([3, 1]), relabeled.subset(np.arange(20, 40))])
    assert both.subjects.tolist() == named(both)
    both.save_npz(tmp_path / "c.npz")
    assert LabeledImages.load_npz(tmp_path / "c.npz").subjects.tolist() == named(both)
    train, val = make_splits("rafd", {"all": relabeled}, split="paper", seed=3)  # was an AttributeError
    assert set(train.subjects).isdisjoint(val.subjects)
    with pytest.raises(ValueError, match="subjects must name one person per image"):
        dataclasses.replace(data, subjects=data.subjects[:-1])


def test_rafd_bad_name(tmp_path):
    root = _rafd_tree(tmp_path, subjects=(1,), angles=("090",), gazes=("frontal",))
    Image.new("RGB", (10, 10)).save(root / "Rafd090_01_Caucasian_female_bored_frontal.jpg")
    with pytest.raises(BadInputError, match="bored_frontal.jpg: unknown emotion 'bored'"):
        load_dataset("rafd", root)
    Image.new("RGB", (10, 10)).save(root / "IMG_0001.jpg")
    data = load_dataset("rafd", root, on_bad="skip", size=16)["all"]
    assert len(data) == 8 and len(data.skipped) == 2


# ----- splits -----------------------------------------------------------------------------------

def test_paper_split_is_seeded_and_stratified(fer2013_real):
    sample = {k: v.subset(range(0, len(v), 20)) for k, v in fer2013_real.items()}
    train, val = make_splits("fer2013", sample, split="paper", seed=7)
    again, _ = make_splits("fer2013", sample, split="paper", seed=7)
    other, _ = make_splits("fer2013", sample, split="paper", seed=8)
    assert train.files == again.files and train.files != other.files
    pooled = len(sample["train"]) + len(sample["test"])
    assert len(train) + len(val) == pooled and abs(len(train) / pooled - 0.9) < 0.01
    assert set(train.files).isdisjoint(val.files)
    own_train, own_val = make_splits("fer2013", sample)
    assert own_val.files == sample["test"].files


def test_missing_or_empty_split(fer2013_real):
    with pytest.raises(BadInputError, match="fer2013 has no split 'valid'"):
        make_splits("fer2013", {"train": fer2013_real["train"]}, split="train:valid")
    empty = fer2013_real["test"].subset([])
    with pytest.raises(BadInputError, match="split 'test' is empty"):
        make_splits("fer2013", {"train": fer2013_real["train"], "test": empty})


def test_relabel_matches_by_name():
    data = LabeledImages(np.zeros((3, 4, 4), np.uint8), np.array([0, 1, 2]), ("a", "b", "c"), ["x", "y", "z"])
    moved = data.relabel(("c", "a", "b", "d"))
    assert moved.labels.tolist() == [1, 2, 0] and moved.class_names == ("c", "a", "b", "d")
    with pytest.raises(ValueError, match=r"classes \['c'\] of the data are not among"):
        data.relabel(("a", "b"))


@pytest.mark.parametrize("compression", ["deflate", "lzma"])
def test_npz_cache_round_trip(tmp_path, fer2013_real, compression):
    data = fer2013_real["test"].subset(range(0, 3589, 10))
    path = tmp_path / "cache.npz"
    data.save_npz(path, compression=compression)
    back = LabeledImages.load_npz(path)
    np.testing.assert_array_equal(back.images, data.images)
    np.testing.assert_array_equal(back.labels, data.labels)
    assert back.class_names == data.class_names and back.files == data.files
    assert back.preprocessing == {"grayscale": True, "equalize": True}
    assert np.load(path)["images"].shape == data.images.shape  # plain NumPy reads it


def test_class_weights_balance_the_classes(fer2013_real):
    weights = fer2013_real["train"].class_weights()
    counts = fer2013_real["train"].counts()
    disgust, happy = fer2013.CLASSES.index("disgust"), fer2013.CLASSES.index("happy")
    assert weights[disgust] / weights[happy] == pytest.approx(counts["happy"] / counts["disgust"])
    total = sum(weights[i] * counts[name] for i, name in enumerate(fer2013.CLASSES))
    assert total == pytest.approx(len(fer2013_real["train"]))


def test_ferplus_from_fer2013new_csv(tmp_path):
    """The fer2013new.csv layout (labels in one CSV beside the image folders): FER2013Valid loads
    with the labels the CSV's PublicTest rows give (parsed here independently), and agrees with the
    folder's own label.csv on almost every image (the two files' votes differ on a few rows)."""
    real = dataset_path("ferplus")
    root = tmp_path / "ferplus"
    (root / "FER2013Valid").mkdir(parents=True)
    for png in (real / "FER2013Valid").glob("*.png"):
        (root / "FER2013Valid" / png.name).symlink_to(png)
    (root / "fer2013new.csv").symlink_to(real / "fer2013new.csv")
    from_new = ferplus.load_ferplus(root)["valid"]
    expected = {}
    for row in csv.DictReader(open(real / "fer2013new.csv")):
        if row["Usage"] == "PublicTest" and row["Image name"]:
            label = ferplus.majority_label([float(row[c]) for c in ferplus.VOTE_COLUMNS])
            if label is not None:
                expected[row["Image name"]] = label
    got = {pathlib.Path(f).name: int(label) for f, label in zip(from_new.files, from_new.labels)}
    assert got == expected
    valid = ferplus.load_ferplus(real, split="valid")["valid"]
    from_label = {pathlib.Path(f).name: int(label) for f, label in zip(valid.files, valid.labels)}
    agree = sum(got.get(name) == label for name, label in from_label.items())
    assert agree / len(from_label) > 0.97, agree
