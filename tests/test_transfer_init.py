"""scripts/transfer_init.py: a trained backbone with a classifier for other classes fitted on it."""

import sys

import numpy as np
import pytest

from conftest import ROOT, copy_face_folder, pretrained_file
from keras_fer.data import load_dataset
from keras_fer.data.pipeline import to_model_input
from keras_fer.model_io import load_model

sys.path.insert(0, str(ROOT / "scripts"))
import transfer_init  # noqa: E402


def test_ferplus_backbone_with_a_fer2013_head_predicts_as_the_fitted_head(tmp_path, capsys):
    root = copy_face_folder(tmp_path / "faces", 15)
    out = tmp_path / "init.keras"
    transfer_init.main(["--source", str(pretrained_file("ferplus")), "--dataset", "folder", "--data", str(root),
                        "--split", "all", "--out", str(out)])
    fitted_accuracy = float(capsys.readouterr().out.rsplit("training accuracy ", 1)[1].rstrip(")\n"))

    model, metadata = load_model(out)
    faces = load_dataset("folder", root)["all"]
    assert metadata["class_names"] == list(faces.class_names) and model.output_shape == (None, 7)
    # The head folded into `logits` predicts what the classifier on standardized features did
    # to the printed 4 decimals: one face of these 105 is 0.0095, so a wrong fold shows.
    probabilities = model.predict(to_model_input(faces.images, 96, 3), verbose=0)
    accuracy = np.mean(probabilities.argmax(axis=1) == faces.labels)
    assert accuracy == pytest.approx(fitted_accuracy, abs=1e-4) and accuracy > 0.5  # chance: 1/7
    ferplus, _ = load_model(pretrained_file("ferplus"))
    for layer in model.layers:
        if layer.weights and layer.name != "logits":
            for ours, theirs in zip(layer.get_weights(), ferplus.get_layer(layer.name).get_weights()):
                np.testing.assert_array_equal(ours, theirs)
