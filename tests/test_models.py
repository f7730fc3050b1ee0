"""The builder and the named variants: parameter counts, structure, shapes, trainability."""

import json

import keras
import numpy as np
import pytest

import keras_fer
from conftest import run_cli
from keras_fer.cli.main import build_parser
from keras_fer.layers import DilatedShortcut, SimAM, SqueezeExcite, StridedDilatedConv2D
from keras_fer.models import VARIANTS, ArchitectureConfig
from keras_fer.models.registry import ATTENTIONS, REGISTRIES, Attention
from keras_fer.models.summary import attention_cost, block_table

# Pinned at 224x224x3, 7 classes. Max-pooling and dilation add no weights, so the three variants
# with the dilated branch share one count.
PARAMS_224_7 = {
    "mobilenetv3_large": 4_235_399,
    "first_conv": 2_698_719,
    "shortcut": 2_735_207,
    "first_conv_shortcut": 2_735_207,
    "improved": 2_735_207,
}
DILATED_BLOCKS = 11  # blocks marked "dilation = 2" in Table 2
ATTENTION_BLOCKS = 8


def count(model, layer_type):
    return sum(isinstance(layer, layer_type) for layer in model.layers)


def test_every_variant_has_a_pinned_count():
    assert sorted(PARAMS_224_7) == sorted(keras_fer.variant_names())


@pytest.mark.parametrize("name", list(PARAMS_224_7))
def test_pinned_parameter_counts(name):
    assert keras_fer.build_variant(name, classes=7).count_params() == PARAMS_224_7[name]


@pytest.mark.parametrize("classes", [7, 8])
def test_baseline_matches_keras_applications(classes):
    reference = keras.applications.MobileNetV3Large(
        input_shape=(224, 224, 3), weights=None, classes=classes, include_preprocessing=False
    )
    ours = keras_fer.build_variant("mobilenetv3_large", classes=classes)
    assert ours.count_params() == reference.count_params()
    # Same weights layer by layer, not only the same total.
    assert sorted(tuple(w.shape) for w in ours.weights) == sorted(tuple(w.shape) for w in reference.weights)


def test_every_variant_is_smaller_than_the_baseline():
    counts = {name: keras_fer.build_variant(name, classes=8).count_params()
              for name in keras_fer.variant_names()}
    baseline = counts.pop("mobilenetv3_large")
    assert all(n < baseline for n in counts.values()), counts


def test_variant_structure():
    improved = keras_fer.build_variant("improved", input_size=64)
    assert count(improved, SimAM) == ATTENTION_BLOCKS
    assert count(improved, SqueezeExcite) == 0
    assert count(improved, DilatedShortcut) == DILATED_BLOCKS
    assert all(l.maxpool for l in improved.layers if isinstance(l, DilatedShortcut))
    assert isinstance(improved.get_layer("stem_conv"), StridedDilatedConv2D)
    assert count(improved, keras.layers.BatchNormalization) == 0
    # Residual blocks start as their shortcut (zero-initialised last norm); others do not.
    gamma = lambda model, layer: keras.ops.convert_to_numpy(model.get_layer(layer).gamma)  # noqa: E731
    assert np.all(gamma(improved, "block15_project_norm") == 0)
    assert np.all(gamma(improved, "block14_project_norm") == 0)  # identity shortcut (160 -> 160)
    assert np.all(gamma(improved, "block2_project_norm") == 1)  # stride 2: no shortcut
    faithful = keras_fer.build_variant("improved", input_size=64, zero_init_last_norm=False)
    assert np.all(gamma(faithful, "block15_project_norm") == 1)

    shortcut = keras_fer.build_variant("shortcut", input_size=64)
    assert not any(l.maxpool for l in shortcut.layers if isinstance(l, DilatedShortcut))
    assert isinstance(shortcut.get_layer("stem_conv"), keras.layers.Conv2D)

    first_conv = keras_fer.build_variant("first_conv", input_size=64)
    assert count(first_conv, DilatedShortcut) == 0
    assert isinstance(first_conv.get_layer("stem_conv"), StridedDilatedConv2D)

    baseline = keras_fer.build_variant("mobilenetv3_large", input_size=64)
    assert count(baseline, SqueezeExcite) == ATTENTION_BLOCKS
    assert count(baseline, keras.layers.GroupNormalization) == 0


def test_implementations_agree():
    # At 48 the dilated shortcuts meet odd maps (3x3), so the polyphase path's edge padding is used
    # (at 64 every map is even).
    x = np.random.default_rng(5).uniform(0, 255, (2, 48, 48, 3)).astype("float32")
    keras.utils.set_random_seed(3)
    native = keras_fer.build_variant("improved", input_size=48, zero_init_last_norm=False)
    polyphase = keras_fer.build_variant("improved", input_size=48, zero_init_last_norm=False,
                                        implementation="polyphase")
    polyphase.set_weights(native.get_weights())
    np.testing.assert_allclose(polyphase.predict_on_batch(x), native.predict_on_batch(x), atol=1e-5)


def test_switches_are_builder_arguments():
    model = keras_fer.build_model(
        input_size=64, input_channels=1, classes=5, attention="none", norm="batch", width=0.5,
        dropout=0.0, shortcut="dilated", stem_dilation=1,
    )
    assert model.output_shape == (None, 5)
    assert count(model, SimAM) == 0 and count(model, keras.layers.Dropout) == 0
    assert model.get_layer("stem_conv").filters == 8  # 16 x 0.5
    with pytest.raises(ValueError, match="attention must be one of"):
        keras_fer.build_model(attention="cbam")
    with pytest.raises(ValueError, match="unknown model 'mobilenetv4'"):
        keras_fer.build_variant("mobilenetv4")
    with pytest.raises(ValueError, match="input_channels must be 1 or 3"):
        keras_fer.build_model(input_channels=4)


def test_bn_momentum_reaches_every_batch_norm_including_the_dilated_shortcuts():
    model = keras_fer.build_variant("improved", input_size=48, norm="batch", bn_momentum=0.9)
    norms = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
    nested = [norm for norm in norms if norm.name in ("dilated_norm", "project_norm")]
    assert len(nested) >= 11 and {norm.momentum for norm in norms} == {0.9}
    assert model.get_layer("block1_dilated_shortcut").get_config()["bn_momentum"] == 0.9


@pytest.mark.parametrize("size", [48, 96, 112, 224])
@pytest.mark.parametrize("channels", [1, 3])
def test_output_shapes(size, channels):
    model = keras_fer.build_variant("improved", input_size=size, input_channels=channels, classes=8)
    x = np.random.default_rng(size).uniform(0, 255, (2, size, size, channels)).astype("float32")
    probabilities = keras.ops.convert_to_numpy(model(x, training=False))
    assert probabilities.shape == (2, 8)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("name", keras_fer.variant_names())
def test_every_variant_trains(name):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    # A fixed batch of 16 images whose class is written into their brightness pattern.
    labels = np.arange(16) % 4
    x = rng.uniform(0, 60, (16, 48, 48, 3)).astype("float32")
    for i, label in enumerate(labels):
        x[i, label * 12:(label + 1) * 12] += 180
    # No dropout: the test is about the optimisation, and dropout noise makes the loss jumpy.
    model = keras_fer.build_variant(name, input_size=48, classes=4, dropout=0.0)
    # SGD traces in a third of the time Adam does on the TF backend (many variables).
    model.compile(keras.optimizers.SGD(0.005, momentum=0.9), "sparse_categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)  # slots made inside the first step: traced twice
    losses = [float(model.train_on_batch(x, labels)) for _ in range(20)]
    assert np.all(np.isfinite(losses))
    assert np.mean(losses[-3:]) < 0.5 * np.mean(losses[:3]), losses


def test_mixed_precision_builds_and_predicts():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = keras_fer.build_variant("improved", input_size=48, classes=7)
        x = np.random.default_rng(6).uniform(0, 255, (2, 48, 48, 3)).astype("float32")
        out = model.predict_on_batch(x)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.get_layer("block15_simam").compute_dtype == "float16"
    assert out.dtype == np.float32 and np.all(np.isfinite(out))
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-3)


@pytest.mark.parametrize("name", keras_fer.variant_names())
def test_architecture_config_round_trips_and_builds_the_variant(name):
    config = VARIANTS[name]
    assert ArchitectureConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    by_config = keras_fer.build_model(48, config=config, name=name)
    by_name = keras_fer.build_variant(name, input_size=48)
    assert by_config.to_json() == by_name.to_json()
    assert by_name.keras_fer_architecture == config
    # Keyword arguments override the config's fields, as they override a variant's.
    narrow = keras_fer.build_variant(name, input_size=48, width=0.5)
    assert narrow.keras_fer_architecture == config.replace(width=0.5)


def test_architecture_config_rejects_unknown_fields_and_choices():
    with pytest.raises(ValueError, match=r"unknown architecture field\(s\) \['atention'\]"):
        ArchitectureConfig.from_dict({"atention": "se"})
    with pytest.raises(ValueError, match="norm must be one of batch, group; got 'layer'"):
        ArchitectureConfig(norm="layer")
    with pytest.raises(ValueError, match="implementation must be one of"):
        ArchitectureConfig(implementation="fft")


@pytest.mark.parametrize("field,choice", [(field, choice) for field, registry in REGISTRIES.items()
                                          for choice in registry])
def test_every_architecture_option_builds_and_round_trips(field, choice, tmp_path):
    model = keras_fer.build_variant("improved", input_size=32, classes=3, **{field: choice})
    assert getattr(model.keras_fer_architecture, field) == choice
    x = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    if field == "attention":  # the variants train every norm and shortcut (test_every_variant_trains)
        # One eager step: tracing the step (~10 s on TensorFlow) would cost more than the step.
        model.compile(keras.optimizers.SGD(0.01), "sparse_categorical_crossentropy", run_eagerly=True)
        assert np.isfinite(float(model.train_on_batch(x, np.arange(4) % 3)))
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras", safe_mode=True)
    # Eager calls: tracing predict for both models would take most of the test's time.
    predict = lambda m: keras.ops.convert_to_numpy(m(x, training=False))  # noqa: E731
    np.testing.assert_allclose(predict(loaded), predict(model), atol=1e-5)


@pytest.mark.parametrize("name", keras_fer.variant_names())
def test_block_table_matches_the_built_model(name):
    config = VARIANTS[name]
    model = keras_fer.build_variant(name, input_size=64, classes=5)
    rows = block_table(config, 64, 3, 5)
    blocks = rows[1:16]
    projections = [model.get_layer(f"block{i}_project") for i in range(1, 16)]
    assert [row["out"] for row in blocks] == [layer.filters for layer in projections]
    attention_layers = [l.name for l in model.layers if l.name.endswith("_" + config.attention)]
    assert len(attention_layers) == sum(row["attention"] != "-" for row in blocks)
    assert count(model, DilatedShortcut) == sum("dilated shortcut" in row["operator"] for row in blocks)
    assert rows[-1]["out"] == 5 and rows[-2]["out"] == model.get_layer("last_point_conv").filters


def test_a_new_attention_needs_only_a_registry_entry():
    toy = Attention("Toy", lambda channels, config, name: keras.layers.Activation("linear", name=name))
    with ATTENTIONS.registered("toy", toy):
        model = keras_fer.build_variant("improved", input_size=32, attention="toy")
        assert len([l for l in model.layers if l.name.endswith("_toy")]) == ATTENTION_BLOCKS
        rows = block_table(model.keras_fer_architecture, 32)
        assert sum(row["attention"] == "Toy" for row in rows) == attention_cost(rows)["attention_blocks"] == 8
        result = run_cli("info", "--attention", "toy", "--input-size", "32", "--json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["architecture"]["attention"] == "toy"
        train = build_parser().parse_args(["train", "--dataset", "folder", "--data", ".",
                                           "--attention", "toy"])
        assert train.attention == "toy"
    assert "toy" not in ATTENTIONS
    result = run_cli("info", "--attention", "toy")
    assert result.returncode == 2 and "invalid choice: 'toy'" in result.stderr
