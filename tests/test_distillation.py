"""keras_fer.distillation and `train --teacher`: targets blended from labels and teachers' probabilities."""

import json

import numpy as np
import pytest

from conftest import copy_face_folder, pretrained_file, run_cli
from keras_fer import distillation
from keras_fer.data import load_dataset
from keras_fer.data.images import BadInputError
from keras_fer.data.pipeline import to_model_input
from keras_fer.model_io import load_model


@pytest.fixture(scope="module")
def face_folder(tmp_path_factory):
    """5 real FER2013 faces per class; the folder data set orders classes alphabetically, unlike the
    shipped models (neutral last), so the teacher's columns must be matched by name."""
    return copy_face_folder(tmp_path_factory.mktemp("faces"), 5)


@pytest.fixture(scope="module")
def teacher_views(face_folder):
    """The folder's faces and the shipped fer2013 model's probabilities for them and for their
    mirror images, its columns put in the folder's class order: (faces, plain, mirrored)."""
    faces = load_dataset("folder", face_folder)["all"]
    teacher, metadata = load_model(pretrained_file("fer2013"))
    assert list(faces.class_names) != metadata["class_names"]
    columns = [metadata["class_names"].index(name) for name in faces.class_names]
    x = to_model_input(faces.images, 96, 3)
    plain, mirrored = (teacher.predict(view, verbose=0)[:, columns] for view in (x, x[:, :, ::-1]))
    return faces, plain, mirrored


def test_targets_blend_one_hot_labels_with_the_teachers_probabilities(tmp_path, teacher_views, monkeypatch):
    faces, expected, _ = teacher_views

    cache = tmp_path / "targets.npz"
    distilled = distillation.distill(faces, ["fer2013"], 0.3, cache)
    one_hot = np.eye(7)[faces.labels]
    np.testing.assert_allclose(distilled.labels, 0.7 * one_hot + 0.3 * expected, atol=1e-5)
    np.testing.assert_allclose(distilled.labels.sum(axis=1), 1, atol=1e-5)
    assert distilled.soft and list(distilled.hard_labels) == list(faces.labels)  # 0.7 of the mass
    assert distilled.images is faces.images and distilled.class_names == faces.class_names

    def no_prediction(*args):
        raise AssertionError("predicted again")

    monkeypatch.setattr(distillation, "_predict_in_data_order", no_prediction)
    reused = distillation.distill(faces, ["fer2013"], 1.0, cache)  # from the cache, any weight
    np.testing.assert_allclose(reused.labels, expected, atol=1e-5)
    with pytest.raises(AssertionError, match="predicted again"):  # other data: the cache is stale
        distillation.distill(faces.subset(range(10)), ["fer2013"], 0.3, cache)


def test_a_mirror_averaging_teacher_gives_the_mean_of_both_views(tmp_path, teacher_views, monkeypatch):
    faces, *views = teacher_views
    assert np.abs(views[0] - views[1]).max() > 0.05  # the mirror image is another view for this model

    cache = tmp_path / "targets.npz"
    plain = distillation.distill(faces, ["fer2013"], 1.0, cache)
    np.testing.assert_allclose(plain.labels, views[0], atol=1e-5)
    mirrored = distillation.distill(faces, ["fer2013"], 1.0, cache, flip=True)  # not the plain cache
    np.testing.assert_allclose(mirrored.labels, (views[0] + views[1]) / 2, atol=1e-5)

    def no_prediction(*args):
        raise AssertionError("predicted again")

    monkeypatch.setattr(distillation, "_predict_in_data_order", no_prediction)
    np.testing.assert_allclose(distillation.distill(faces, ["fer2013"], 1.0, cache, flip=True).labels,
                               mirrored.labels)
    with pytest.raises(AssertionError, match="predicted again"):  # the cache holds the mirrored targets
        distillation.distill(faces, ["fer2013"], 1.0, cache)


def test_a_teacher_for_other_classes_or_a_missing_one_is_named(tmp_path, face_folder):
    faces = load_dataset("folder", face_folder)["all"]
    with pytest.raises(BadInputError, match=r"teacher ferplus: a model for 8 classes .*contempt.* has 7"):
        distillation.distill(faces, ["ferplus"], 0.5)
    with pytest.raises(FileNotFoundError, match="teacher .*nowhere.keras: model file not found"):
        distillation.distill(faces, [tmp_path / "nowhere.keras"], 0.5)
    with pytest.raises(ValueError, match="between 0 and 1, got 1.5"):
        distillation.distill(faces, ["fer2013"], 1.5)


def test_train_with_a_teacher_records_it(tmp_path, face_folder):
    out = tmp_path / "run"
    result = run_cli("train", "--dataset", "folder", "--data", face_folder, "--input-size", "32", "--epochs", "1",
                     "--batch-size", "8", "--recipe", "strong", "--teacher", "fer2013", "--teacher-weight", "0.4",
                     "--teacher-flip", "--out", out)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "teacher probabilities for" in result.stdout and (out / distillation.TEACHER_TARGETS).is_file()
    _, metadata = load_model(out / "best.keras")
    assert metadata["teachers"] == ["fer2013"] and metadata["teacher_weight"] == 0.4 and metadata["teacher_flip"]
    assert json.loads((out / "config.json").read_text())["teachers"] == ["fer2013"]
