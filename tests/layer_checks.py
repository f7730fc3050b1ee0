"""Checks every object registered under the package "keras_fer" must pass: a config of primitive
values that rebuilds it, and (layers) a `.keras` round trip that computes the same outputs.

EXAMPLES holds one instance per registered name; a newly registered layer without an example here
fails test_every_registered_object_has_an_example, so it cannot go unchecked.
"""

import json

import keras
import numpy as np

from keras_fer.data.pipeline import ToModelInput
from keras_fer.layers import (
    PACKAGE,
    DilatedShortcut,
    DiracDepthwise,
    GroupNormalization,
    MaxPool3x3,
    SimAM,
    SqueezeExcite,
    StridedDilatedConv2D,
)

INPUT_SHAPE = (2, 9, 9, 8)  # odd sizes: stride 2 and SAME padding meet an uneven edge

# registered name -> a factory of a non-default instance (non-default values show in the config)
EXAMPLES = {
    "SimAM": lambda: SimAM(lambda_=0.01),
    "StridedDilatedConv2D": lambda: StridedDilatedConv2D(5, 3, strides=2, dilation_rate=2, use_bias=True),
    "DilatedShortcut": lambda: DilatedShortcut(12, strides=2, maxpool=True, norm="group", groups=4,
                                               kernel_init="dirac", implementation="polyphase"),
    "SqueezeExcite": lambda: SqueezeExcite(8, ratio=0.5),
    "GroupNormalization": lambda: GroupNormalization(groups=4, epsilon=1e-3, gamma_initializer="zeros"),
    "MaxPool3x3": lambda: MaxPool3x3(),
    "DiracDepthwise": lambda: DiracDepthwise(),
    "ToModelInput": lambda: ToModelInput(12, channels=3),
}
# Where a layer needs another input than INPUT_SHAPE (stored faces are grey: one channel).
INPUT_SHAPES = {"ToModelInput": (2, 9, 9, 1)}


def registered_names():
    """The names registered under the package, e.g. "SimAM" for "keras_fer>SimAM"."""
    prefix = PACKAGE + ">"
    return sorted(name[len(prefix):] for name in keras.saving.get_custom_objects() if name.startswith(prefix))


def check_config_round_trip(obj):
    """get_config is JSON (primitive values) and rebuilds an equal object, directly and through
    Keras' registered-name serialisation."""
    config = obj.get_config()
    assert json.loads(json.dumps(config)) == config
    assert type(obj).from_config(config).get_config() == config
    serialized = keras.saving.serialize_keras_object(obj)
    assert serialized["registered_name"] == f"{PACKAGE}>{type(obj).__name__}"
    assert keras.saving.deserialize_keras_object(serialized).get_config() == config


def check_saved_model_round_trip(layer, tmp_path):
    """The layer inside a model, its weights moved off their initial values, saved as `.keras` and
    loaded (safe mode, no custom_objects): same config and outputs."""
    input_shape = INPUT_SHAPES.get(type(layer).__name__, INPUT_SHAPE)
    inputs = keras.Input(input_shape[1:])
    model = keras.Model(inputs, layer(inputs))
    rng = np.random.default_rng(0)
    # Positive factors keep variances and scales valid; zeros (biases, GN's beta) get a value.
    model.set_weights([w * rng.uniform(0.5, 1.5, w.shape) + (w == 0) * rng.normal(0, 0.1, w.shape)
                       for w in model.get_weights()])
    x = rng.normal(size=input_shape).astype("float32")
    path = tmp_path / f"{layer.name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert loaded.layers[-1].get_config() == layer.get_config()
    np.testing.assert_allclose(loaded.predict_on_batch(x), model.predict_on_batch(x), atol=1e-6)
