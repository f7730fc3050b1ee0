"""Evaluation: the report against a hand-computed confusion matrix, and classes matched by name."""

import csv
import json

import keras
import numpy as np
import pytest

import keras_fer
from conftest import dataset_path, run_cli
from keras_fer.data import fer2013, load_dataset
from keras_fer.data.pipeline import to_model_input
from keras_fer.evaluation import classification_report, format_confusion
from keras_fer.model_io import save_model


def test_report_against_hand_computed_matrix():
    report = classification_report([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], ["a", "b", "c"])
    assert report["confusion_counts"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert report["confusion_matrix"] == [[0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    assert report["accuracy"] == pytest.approx(0.6) and report["n"] == 5
    assert report["per_class"]["a"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert report["per_class"]["b"]["precision"] == pytest.approx(2 / 3)
    assert report["per_class"]["b"]["f1"] == pytest.approx(0.8)
    assert report["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert format_confusion(report).splitlines()[1].split() == ["a", "0.50", "0.50", "0.00"]


@pytest.fixture(scope="module")
def csv_and_model(tmp_path_factory):
    """A FER2013 CSV of real faces, and a model whose classes are in the folder loader's order."""
    tmp = tmp_path_factory.mktemp("eval")
    test = load_dataset("fer2013", dataset_path("fer2013"), equalize=False, split="test")["test"]
    test = test.subset(range(0, len(test), 30))
    path = tmp / "fer2013.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["emotion", "pixels", "Usage"])
        for image, label in zip(test.images, test.labels):
            writer.writerow([label, " ".join(map(str, image.ravel())), "PrivateTest"])
    keras.utils.set_random_seed(4)
    folder_order = sorted(fer2013.CLASSES)  # angry, disgust, fear, happy, neutral, sad, surprise
    model = keras_fer.build_variant("improved", input_size=48, classes=7)
    model_path = tmp / "model.keras"
    save_model(model, model_path, {"class_names": folder_order,
                                   "preprocessing": {"equalize": True, "input_size": 48}})
    return path, model_path, model, folder_order


def evaluate_cli(*args):
    return run_cli("evaluate", *args)


def test_evaluate_matches_classes_by_name(tmp_path, csv_and_model):
    csv_path, model_path, model, folder_order = csv_and_model
    result = evaluate_cli(str(model_path), "--dataset", "fer2013", "--data", str(csv_path),
                          "--split", "private_test", "--json", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["classes"] == folder_order and report["n"] == 120
    # Independent computation: the CSV's label indices mapped to names, then to the model's order.
    data = load_dataset("fer2013", csv_path)["private_test"]
    predicted = model.predict(to_model_input(data.images, 48, 3), verbose=0).argmax(axis=1)
    true = [folder_order.index(fer2013.CLASSES[label]) for label in data.labels]
    assert report["confusion_counts"] == classification_report(true, predicted, folder_order)["confusion_counts"]
    for name in ("confusion_matrix.csv", "confusion_matrix.png", "report.json"):
        assert (tmp_path / name).is_file()
    assert (tmp_path / "confusion_matrix.csv").read_text().splitlines()[0].split(",")[1:] == folder_order


def test_evaluate_rejects_unmatched_classes(tmp_path, csv_and_model):
    csv_path, _, model, _ = csv_and_model
    ferplus_model = tmp_path / "ferplus.keras"
    save_model(model, ferplus_model, {"class_names": ["neutral", "happiness", "surprise", "sadness",
                                                       "anger", "disgust", "fear"]})
    result = evaluate_cli(str(ferplus_model), "--dataset", "fer2013", "--data", str(csv_path), "--split", "test")
    assert result.returncode == 2
    assert "the data's classes ['angry', 'happy', 'sad'] are not among the model's" in result.stderr
    missing = evaluate_cli(str(tmp_path / "nope.keras"), "--dataset", "fer2013", "--data", str(csv_path))
    assert missing.returncode == 2 and "nope.keras: model file not found" in missing.stderr
    cut_short = tmp_path / "phone.tflite"  # a conversion interrupted while writing the sidecar
    cut_short.write_bytes(b"not read: the sidecar is read first")
    (tmp_path / "phone.tflite.json").write_text('{"class_names": ["angry"')
    result = evaluate_cli(str(cut_short), "--dataset", "fer2013", "--data", str(csv_path))
    assert result.returncode == 2, result.stderr
    assert "phone.tflite.json: not readable JSON" in result.stderr and "keras_fer convert" in result.stderr


def test_flip_averaging_is_the_mean_of_both_views(csv_and_model):
    """`predict(..., flip=True)` (evaluate --flip, FER(flip=True)): per face, the mean of the
    probabilities of the face and of its mirror image, computed here independently."""
    from keras_fer import FER
    from keras_fer.inference import predict

    csv_path, model_path, model, folder_order = csv_and_model
    data = load_dataset("fer2013", csv_path)["private_test"].subset(range(12))
    x = to_model_input(data.images, 48, 3)
    expected = (model.predict(x, verbose=0) + model.predict(x[:, :, ::-1], verbose=0)) / 2
    plain = predict(model, data)
    np.testing.assert_allclose(predict(model, data, flip=True, batch_size=5), expected, atol=1e-6)
    assert np.abs(plain - expected).max() > 1e-4  # the mirror view changes the answer
    model.keras_fer_metadata = {"class_names": folder_order, "preprocessing": {"equalize": True}}
    raw = load_dataset("fer2013", csv_path, equalize=False)["private_test"].images[:12]
    np.testing.assert_allclose(FER(model, flip=True).classify_faces(list(raw)), expected, atol=1e-6)


def test_model_outputs_take_one_batch_without_predicts_setup(csv_and_model, monkeypatch):
    """Inputs that fit one batch (a photo's faces) go through predict_on_batch, which skips
    predict's per-call setup; more go through predict. The numbers are predict's either way."""
    from keras_fer.inference import model_outputs

    csv_path, _, model, _ = csv_and_model
    x = to_model_input(load_dataset("fer2013", csv_path)["private_test"].images[:12], 48, 3)
    expected = model.predict(x, verbose=0)
    calls = []
    on_batch = model.predict_on_batch
    monkeypatch.setattr(model, "predict_on_batch",
                        lambda inputs: calls.append(len(inputs)) or on_batch(inputs))
    np.testing.assert_allclose(model_outputs(model, x, batch_size=12), expected, atol=1e-6)
    np.testing.assert_allclose(model_outputs(model, x, batch_size=5), expected, atol=1e-6)
    assert calls == [12]


def test_ten_crop_is_the_mean_of_ten_independently_cut_views(csv_and_model):
    """`predict(..., ten_crop=True)` (evaluate --ten-crop, FER(ten_crop=True)): per face, the mean
    of the probabilities of its 44×44 crops at the centre and the four corners of the stored
    48×48 face and of their mirror images, each enlarged to the input, cut here by hand."""
    from keras_fer import FER
    from keras_fer.inference import predict

    csv_path, _, model, folder_order = csv_and_model
    data = load_dataset("fer2013", csv_path)["private_test"].subset(range(7))
    views = []
    for top, left in ((2, 2), (0, 0), (0, 4), (4, 0), (4, 4)):
        crop = data.images[:, top:top + 44, left:left + 44]
        views += [crop, crop[:, :, ::-1]]
    expected = np.mean([model.predict(to_model_input(np.ascontiguousarray(v), 48, 3), verbose=0) for v in views],
                       axis=0)
    ten_crop = predict(model, data, ten_crop=True, batch_size=30)  # 3 faces per step: steps of 3, 3, 1
    np.testing.assert_allclose(ten_crop, expected, atol=1e-5)
    assert np.abs(predict(model, data, flip=True) - expected).max() > 1e-4  # crops are other views
    model.keras_fer_metadata = {"class_names": folder_order, "preprocessing": {"equalize": True}}
    raw = load_dataset("fer2013", csv_path, equalize=False)["private_test"].images[:7]
    np.testing.assert_allclose(FER(model, ten_crop=True).classify_faces(list(raw)), expected, atol=1e-5)
    with pytest.raises(ValueError, match="choose one test-time augmentation: flip or ten_crop"):
        predict(model, data, flip=True, ten_crop=True)


def test_evaluate_ten_crop_reports_it_and_excludes_flip(tmp_path, csv_and_model):
    csv_path, model_path, model, folder_order = csv_and_model
    common = [str(model_path), "--dataset", "fer2013", "--data", str(csv_path), "--split", "private_test"]
    result = evaluate_cli(*common, "--ten-crop", "--json", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["ten_crop"] is True and report["flip"] is False and report["n"] == 120
    both = evaluate_cli(*common, "--ten-crop", "--flip")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
