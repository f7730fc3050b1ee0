"""`.keras` files: saved in one process, loaded in a fresh one with only `import keras_fer`."""

import json

import keras
import numpy as np
import pytest

import keras_fer
from conftest import backend_available, run_python

LOAD_AND_PREDICT = """
import json, sys
import numpy as np
import keras
import keras_fer  # registers the custom layers; no custom_objects
model = keras.models.load_model({path!r}, safe_mode=True)
x = np.load({inputs!r})
np.save({outputs!r}, keras.ops.convert_to_numpy(model.predict(x, verbose=0)))
print(json.dumps({{"backend": keras.backend.backend(), "name": model.name}}))
"""


def save_with_predictions(tmp_path, name, **arguments):
    keras.utils.set_random_seed(1)
    model = keras_fer.build_variant(name, **arguments)
    size, channels = model.input_shape[1], model.input_shape[3]
    x = np.random.default_rng(0).uniform(0, 255, (4, size, size, channels)).astype("float32")
    # Move every weight (norm statistics included) off its initial value, keeping variances > 0.
    rng = np.random.default_rng(2)
    model.set_weights([
        w * rng.uniform(0.5, 1.5, w.shape) + (w == 0) * rng.normal(0, 0.05, w.shape)
        for w in model.get_weights()
    ])
    path = tmp_path / f"{name}.keras"
    model.save(path)
    np.save(tmp_path / "x.npy", x)
    return path, x, model.predict(x, verbose=0)


FRESH_PROCESS_MODELS = {
    "improved": dict(input_size=48, classes=7, shortcut_init="dirac"),
    "mobilenetv3_large": dict(input_size=64, input_channels=1, classes=8),
}


def test_fresh_process_loads_identical_models(tmp_path):
    """Both variants' layer sets, saved here, loaded by one fresh interpreter (one TensorFlow start)."""
    expected, script = {}, ""
    for name, arguments in FRESH_PROCESS_MODELS.items():
        folder = tmp_path / name
        folder.mkdir()
        path, _, expected[name] = save_with_predictions(folder, name, **arguments)
        script += LOAD_AND_PREDICT.format(path=str(path), inputs=str(folder / "x.npy"),
                                          outputs=str(folder / "out.npy"))
    lines = run_python(script).strip().splitlines()
    assert [json.loads(line)["name"] for line in lines[-2:]] == list(FRESH_PROCESS_MODELS)
    for name, predictions in expected.items():
        np.testing.assert_array_equal(np.load(tmp_path / name / "out.npy"), predictions, err_msg=name)


# JAX: test_pretrained.py loads the shipped models, saved by TensorFlow, there and compares their
# predictions on real faces (one JAX process for both checks).
@pytest.mark.parametrize("other", ["tensorflow", "torch"])
def test_model_loads_on_another_backend(tmp_path, other):
    if other == keras.backend.backend():
        pytest.skip(f"already running on {other}")
    if not backend_available(other):
        pytest.skip(f"{other} is not installed (optional backend)")
    path, _, expected = save_with_predictions(tmp_path, "improved", input_size=48, classes=7)
    out = tmp_path / "out.npy"
    info = json.loads(run_python(LOAD_AND_PREDICT.format(
        path=str(path), inputs=str(tmp_path / "x.npy"), outputs=str(out)), backend=other
    ).strip().splitlines()[-1])
    assert info["backend"] == other
    np.testing.assert_allclose(np.load(out), expected, atol=1e-5)


def test_copy_matching_weights_fine_tunes_onto_another_class_set():
    from keras_fer.model_io import copy_matching_weights

    keras.utils.set_random_seed(1)
    source = keras_fer.build_variant("improved", input_size=48, classes=7)
    keras.utils.set_random_seed(2)
    target = keras_fer.build_variant("improved", input_size=64, classes=8)
    before = target.get_layer("logits").get_weights()[0].copy()
    copied, skipped = copy_matching_weights(source, target)
    assert skipped == ["logits"] and "stem_conv" in copied and "block15_simam" not in copied  # no weights
    for name in ("stem_conv", "block3_dilated_shortcut", "last_point_conv"):
        for a, b in zip(source.get_layer(name).get_weights(), target.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(target.get_layer("logits").get_weights()[0], before)
