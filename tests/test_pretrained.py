"""The shipped pretrained models: offline loading by name, and the accuracy RESULTS.md reports."""

import json

import pytest

import keras_fer
from conftest import dataset_path, run_cli
from keras_fer import zoo

# RESULTS.md, "Shipped models": accuracy on FER2013 test/ (PublicTest, 3,589 faces).
RESULTS = {"fer2013": 0.5567}


def test_every_listed_model_is_shipped_and_loads_by_name():
    assert zoo.available() == list(zoo.PRETRAINED)
    model = keras_fer.pretrained("fer2013")
    metadata = model.keras_fer_metadata
    assert metadata["class_names"] == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert metadata["preprocessing"]["equalize"] is True and model.output_shape == (None, 7)
    with pytest.raises(ValueError, match="unknown pretrained model 'fer2014'; choose one of fer2013"):
        keras_fer.pretrained("fer2014")


@pytest.mark.parametrize("name", list(RESULTS))
def test_evaluate_reproduces_results_md(name, tmp_path):
    result = run_cli("evaluate", "--model", name, "--dataset", "fer2013", "--data", dataset_path("fer2013"),
                     "--split", "test", "--json", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["n"] == 3589
    assert report["accuracy"] == pytest.approx(RESULTS[name], abs=0.001)  # +-0.1 point
