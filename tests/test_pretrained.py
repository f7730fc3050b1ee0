"""The shipped pretrained models: offline loading by name, and the accuracy RESULTS.md reports."""

import json

import keras
import numpy as np
import pytest

import keras_fer
from conftest import backend_available, dataset_path, run_cli, run_python
from keras_fer import shipped, zoo

# RESULTS.md, "Table 3": (data set, validation split, images, accuracy).
RESULTS = {
    "fer2013": ("fer2013", "test", 3589, 0.6319),   # test/ = PublicTest
    "ferplus": ("ferplus", "valid", 3191, 0.8414),  # FER2013Valid, majority labels
}
CLASS_NAMES = {
    "fer2013": ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"],
    "ferplus": ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt"],
}


def test_every_listed_model_is_shipped_and_loads_by_name():
    assert zoo.available() == list(zoo.MODELS) == list(RESULTS)
    for name, classes in CLASS_NAMES.items():
        model = keras_fer.pretrained(name)
        metadata = model.keras_fer_metadata
        assert metadata["class_names"] == classes
        assert metadata["preprocessing"]["equalize"] is True and model.output_shape == (None, len(classes))
    with pytest.raises(ValueError, match="unknown pretrained model 'fer2014'; choose one of fer2013, ferplus"):
        keras_fer.pretrained("fer2014")


@pytest.mark.parametrize("name", list(RESULTS))
def test_shipped_files_are_the_ones_zoo_lists(name):
    """A model file swapped without updating keras_fer/zoo.py's table fails here; the table's
    variant and input size are the network's (same weights as a fresh build of that variant)."""
    from keras_fer.model_io import sha256

    entry = zoo.MODELS[name]
    for format, listed in (("keras", entry.keras_sha256), ("tflite", entry.tflite_sha256)):
        assert sha256(entry.path(format)) == listed, f"{entry.path(format)} is not the file zoo.py lists"
    model = keras_fer.pretrained(name)
    assert model.input_shape[1:3] == (entry.input_size, entry.input_size)
    built = keras_fer.build_variant(entry.variant, input_size=entry.input_size, classes=model.output_shape[-1])
    assert [w.shape for w in built.weights] == [w.shape for w in model.weights]


def test_shipped_models_fit_the_package_size_budget():
    total = sum(model.path().stat().st_size for model in zoo.MODELS.values())
    assert total <= 25e6, f"pretrained models take {total / 1e6:.1f} MB of the 25 MB budget"


# `evaluate --flip` is checked against an independent computation in test_evaluate.py; its
# full-split numbers in RESULTS.md are not re-run here (a minute each on 2 cores).
@pytest.mark.parametrize("name", list(RESULTS))
def test_evaluate_reproduces_results_md(name, tmp_path):
    dataset, split, count, accuracy = RESULTS[name]
    result = run_cli("evaluate", "--model", name, "--dataset", dataset, "--data", dataset_path(dataset),
                     "--split", split, "--json", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["n"] == count and report["flip"] is False
    assert report["accuracy"] == pytest.approx(accuracy, abs=0.001)  # +-0.1 point


def test_ferplus_recognizer_reads_raw_fer_plus_faces():
    """FER(model="ferplus") on FER+'s own PNGs as files (original pixels, not equalized: the
    recognizer's preprocessing must equalize them as training did)."""
    from PIL import Image

    from keras_fer import FER
    from keras_fer.data import load_dataset

    valid = load_dataset("ferplus", dataset_path("ferplus"), split="valid")["valid"]
    chosen = range(0, len(valid), len(valid) // 200)
    raw = [np.asarray(Image.open(valid.files[i]).convert("L")) for i in chosen]
    fer = FER(model="ferplus")
    probabilities = fer.classify_faces(raw)
    assert fer.class_names == CLASS_NAMES["ferplus"]
    accuracy = np.mean(probabilities.argmax(axis=1) == valid.hard_labels[list(chosen)])
    assert accuracy >= RESULTS["ferplus"][3] - 0.06, accuracy  # ~200 faces: a few points of noise


JAX_PREDICT = """
import json, numpy as np, keras, keras_fer
for name in {names!r}:
    x = np.load({folder!r} + f"/{{name}}_x.npy")
    np.save({folder!r} + f"/{{name}}_jax.npy", keras.ops.convert_to_numpy(keras_fer.pretrained(name).predict(x, verbose=0)))
print(json.dumps({{"backend": keras.backend.backend()}}))
"""


def test_shipped_models_predict_the_same_on_jax_and_tensorflow(tmp_path):
    """The shipped `.keras` files load in a JAX process with only `import keras_fer` and give the
    real-face probabilities TensorFlow gives, so the numbers measured here hold there (and a model
    trained on a JAX GPU machine holds here). This is also the suite's check that a file saved by
    TensorFlow loads on JAX (test_serialization.py checks the other backends)."""
    from keras_fer.data import decode_image, equalize_hist
    from keras_fer.data.pipeline import to_model_input

    if not backend_available("jax"):
        pytest.fail("jax is a pinned dependency (requirements.txt) and must be installed")
    files = {"fer2013": sorted((dataset_path("fer2013") / "test").glob("*/*.jpg"))[::200],
             "ferplus": sorted((dataset_path("ferplus") / "FER2013Valid").glob("*.png"))[::200]}
    expected = {}
    for name in RESULTS:
        model = keras_fer.pretrained(name)
        faces = [equalize_hist(decode_image(path)) for path in files[name]]  # 18 real faces each
        x = to_model_input(faces, model.input_shape[1])
        np.save(tmp_path / f"{name}_x.npy", x)
        expected[name] = keras.ops.convert_to_numpy(model.predict(x, verbose=0))
    info = json.loads(run_python(JAX_PREDICT.format(names=list(RESULTS), folder=str(tmp_path)),
                                 backend="jax").strip().splitlines()[-1])
    assert info["backend"] == "jax"
    for name, probabilities in expected.items():
        np.testing.assert_allclose(np.load(tmp_path / f"{name}_jax.npy"), probabilities, atol=1e-4, err_msg=name)
        assert probabilities.max(axis=1).min() > 1.0 / len(CLASS_NAMES[name])  # real predictions, not flat


def _real_inputs(name, model, count=300):
    """`count` real faces of the model's own data set (fer2013 test/, FER+ FER2013Valid), equalized
    and sized as the model takes them."""
    from keras_fer.data import load_dataset
    from keras_fer.data.pipeline import to_model_input

    dataset, split, _, _ = RESULTS[name]
    faces = load_dataset(dataset, dataset_path(dataset), split=split)[split]
    chosen = np.random.default_rng(0).permutation(len(faces))[:count]
    return to_model_input(faces.images[chosen], model.input_shape[1], model.input_shape[3])


@pytest.mark.parametrize("name", list(RESULTS))
def test_shipped_tflite_is_made_from_the_shipped_keras_and_agrees_with_it(name):
    """A `.keras` replaced without running scripts/export_pretrained_tflite.py fails here."""
    assert shipped.tflite_staleness(name) is None, shipped.tflite_staleness(name)
    keras_model, tflite_model = keras_fer.pretrained(name), keras_fer.pretrained(name, format="tflite")
    assert type(tflite_model).__name__ == "TFLiteModel"
    assert tflite_model.keras_fer_metadata["class_names"] == CLASS_NAMES[name]
    assert tflite_model.keras_fer_metadata["quantize"] == "float16"
    x = _real_inputs(name, keras_model)
    expected, got = keras_model.predict(x, verbose=0), tflite_model.predict(x)
    # float16 rounding flips only near-ties: on the whole split 2 of 3,191 ferplus faces (both among
    # these 300: 99.33 %) and 1 of 3,589 fer2013 faces (none here), max difference 0.004. The
    # command's bar (99.5 %) on 300 faces would allow one flip; 99 % allows three.
    assert (expected.argmax(1) == got.argmax(1)).mean() >= 0.99
    assert np.abs(expected - got).max() < 0.01


def test_a_stale_tflite_is_noticed_and_keras_runs_instead(tmp_path, monkeypatch):
    from keras_fer import FER
    from keras_fer.recognizer import model_file

    for suffix in (".keras", ".tflite"):
        (tmp_path / f"fer2013{suffix}").symlink_to(zoo.FOLDER / f"fer2013{suffix}")
    sidecar = json.loads((zoo.FOLDER / "fer2013.tflite.json").read_text())
    sidecar["source"]["model_sha256"] = "0" * 64  # converted from another fer2013.keras
    (tmp_path / "fer2013.tflite.json").write_text(json.dumps(sidecar))
    monkeypatch.setattr(zoo, "FOLDER", tmp_path)
    assert "fer2013.tflite was converted from another fer2013.keras" in shipped.tflite_staleness("fer2013")
    with pytest.warns(UserWarning, match="running fer2013.keras with Keras instead.*export_pretrained_tflite"):
        assert model_file("fer2013") == tmp_path / "fer2013.keras"
    with pytest.raises(ValueError, match=r"m\.keras: backend 'litert' runs \.tflite files"):
        FER(tmp_path / "m.keras", backend="litert")
    with pytest.raises(ValueError, match="backend must be one of litert, keras"):
        FER(backend="onnx")


def test_fer_runs_litert_by_default_and_agrees_with_the_keras_path():
    """FER() runs the shipped .tflite; FER(backend="keras") the .keras: the same predictions on
    real faces (crops of FER2013's test/ faces, as detect_emotions hands them over)."""
    from keras_fer import FER
    from keras_fer.data import load_dataset

    fast, slow = FER(), FER(backend="keras")
    assert type(fast.model).__name__ == "TFLiteModel" and isinstance(slow.model, keras.Model)
    assert fast.class_names == slow.class_names == CLASS_NAMES["fer2013"]
    raw = load_dataset("fer2013", dataset_path("fer2013"), equalize=False, split="test")["test"]
    crops = list(raw.images[np.random.default_rng(1).permutation(len(raw))[:200]])
    got, expected = fast.classify_faces(crops), slow.classify_faces(crops)
    assert (got.argmax(1) == expected.argmax(1)).mean() >= 0.995
    assert np.abs(got - expected).max() < 0.05
    assert FER("ferplus").model_name == "ferplus" and len(FER("ferplus").class_names) == 8
