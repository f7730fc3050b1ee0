"""Custom layers against independent NumPy references (the paper's equations)."""

import keras
import numpy as np
import pytest

from conftest import simam_weights_reference
from layer_checks import EXAMPLES, check_config_round_trip, check_saved_model_round_trip, registered_names
from keras_fer.layers import (
    DilatedShortcut,
    DiracDepthwise,
    GroupNormalization,
    SimAM,
    SqueezeExcite,
    StridedDilatedConv2D,
)


def simam_reference(x, lam=1e-4):
    """Eq. 6-7 of the paper, SimAM's published formula, per sample and channel."""
    return x.astype(np.float64) * simam_weights_reference(x, lam)


def group_norm_reference(x, gamma, beta, groups, eps):
    """GroupNorm by its definition (Wu & He 2018), in float64."""
    n_batch, height, width, channels = x.shape
    grouped = x.astype(np.float64).reshape(n_batch, height, width, groups, channels // groups)
    mean = grouped.mean(axis=(1, 2, 4), keepdims=True)
    var = grouped.var(axis=(1, 2, 4), keepdims=True)
    normalised = ((grouped - mean) / np.sqrt(var + eps)).reshape(x.shape)
    return normalised * gamma + beta


def gradient(fn, x):
    """d sum(fn(x)^2) / dx on whichever backend Keras runs (jitted on JAX: one compilation, not
    one per operation)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(fn(x) ** 2)
        return tape.gradient(loss, x).numpy()
    if backend == "jax":
        import jax

        return np.asarray(jax.jit(jax.grad(lambda t: (fn(t) ** 2).sum()))(x))
    import torch

    x = torch.tensor(x, requires_grad=True)
    (fn(x) ** 2).sum().backward()
    return x.grad.numpy()


def conv_same_reference(x, kernel, stride, dilation, depthwise=False):
    """Eq. 1 of the paper, by direct loops, with TensorFlow's SAME padding."""
    n_batch, height, width, channels = x.shape
    k = kernel.shape[0]
    k_eff = (k - 1) * dilation + 1

    def pads(size):
        out = -(-size // stride)
        total = max((out - 1) * stride + k_eff - size, 0)
        return out, total // 2, total - total // 2

    out_h, top, bottom = pads(height)
    out_w, left, right = pads(width)
    padded = np.pad(x.astype(np.float64), ((0, 0), (top, bottom), (left, right), (0, 0)))
    out_channels = channels if depthwise else kernel.shape[3]
    out = np.zeros((n_batch, out_h, out_w, out_channels))
    for p in range(out_h):
        for q in range(out_w):
            for h in range(k):
                for j in range(k):
                    pixel = padded[:, stride * p + dilation * h, stride * q + dilation * j, :]
                    if depthwise:
                        out[:, p, q, :] += pixel * kernel[h, j, :, 0]
                    else:
                        out[:, p, q, :] += pixel @ kernel[h, j]
    return out


def test_simam_matches_equations_on_random_input():
    x = np.random.default_rng(0).normal(size=(2, 7, 5, 6)).astype("float32") * 3
    got = keras.ops.convert_to_numpy(SimAM()(x))
    assert np.max(np.abs(got - simam_reference(x))) <= 1e-5


def test_simam_lambda_is_used():
    x = np.random.default_rng(1).normal(size=(1, 4, 4, 3)).astype("float32")
    got = keras.ops.convert_to_numpy(SimAM(lambda_=0.5)(x))
    assert np.max(np.abs(got - simam_reference(x, lam=0.5))) <= 1e-5
    assert np.max(np.abs(got - simam_reference(x))) > 1e-3


def test_simam_single_position_is_finite():
    x = np.random.default_rng(2).normal(size=(3, 1, 1, 8)).astype("float32")
    got = keras.ops.convert_to_numpy(SimAM()(x))
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, x / (1 + np.exp(-0.5)), atol=1e-6)
    np.testing.assert_allclose(got, simam_reference(x), atol=1e-6)


@pytest.mark.parametrize("size", [(8, 8), (9, 9), (10, 7), (5, 6)])
@pytest.mark.parametrize("depthwise", [False, True])
def test_strided_dilated_conv_matches_eq1(size, depthwise):
    rng = np.random.default_rng(sum(size))
    x = rng.normal(size=(2, *size, 3)).astype("float32")
    layer = StridedDilatedConv2D(4, 3, strides=2, dilation_rate=2, depthwise=depthwise)
    got = keras.ops.convert_to_numpy(layer(x))
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    want = conv_same_reference(x, kernel, 2, 2, depthwise)
    assert got.shape == want.shape == (2, -(-size[0] // 2), -(-size[1] // 2), 3 if depthwise else 4)
    assert np.max(np.abs(got - want)) <= 1e-5


@pytest.mark.parametrize("stride,dilation", [(2, 3), (3, 2), (1, 2)])
def test_strided_dilated_conv_general_path(stride, dilation):
    x = np.random.default_rng(5).normal(size=(1, 11, 12, 2)).astype("float32")
    layer = StridedDilatedConv2D(3, 3, strides=stride, dilation_rate=dilation, use_bias=True,
                                 kernel_initializer="he_normal")
    layer.build(x.shape)
    layer.bias.assign(np.array([0.5, -1.0, 2.0], "float32"))
    got = keras.ops.convert_to_numpy(layer(x))
    want = conv_same_reference(x, keras.ops.convert_to_numpy(layer.kernel), stride, dilation)
    assert np.max(np.abs(got - (want + [0.5, -1.0, 2.0]))) <= 1e-5


def test_stem_is_not_a_plain_strided_conv():
    # Guards against silently dropping the dilation: the result differs from dilation 1.
    x = np.random.default_rng(3).normal(size=(1, 8, 8, 3)).astype("float32")
    layer = StridedDilatedConv2D(4, 3, strides=2, dilation_rate=2)
    got = keras.ops.convert_to_numpy(layer(x))
    plain = conv_same_reference(x, keras.ops.convert_to_numpy(layer.kernel), 2, 1)
    assert np.max(np.abs(got - plain)) > 1e-2


@pytest.mark.parametrize("maxpool", [False, True])
@pytest.mark.parametrize("implementation", ["native", "polyphase"])
def test_dilated_shortcut_identity_channels(maxpool, implementation):
    x = np.random.default_rng(4).normal(size=(2, 6, 6, 8)).astype("float32")
    branch = DilatedShortcut(8, strides=1, maxpool=maxpool, norm="group", groups=4, implementation=implementation)
    got = keras.ops.convert_to_numpy(branch(x))
    conv = conv_same_reference(x, keras.ops.convert_to_numpy(branch.conv.kernel), 1, 2, depthwise=True)
    # GroupNorm, 4 groups of 2 channels, gamma 1, beta 0, epsilon 1e-3.
    grouped = conv.reshape(2, 6, 6, 4, 2)
    mean = grouped.mean(axis=(1, 2, 4), keepdims=True)
    var = grouped.var(axis=(1, 2, 4), keepdims=True)
    want = ((grouped - mean) / np.sqrt(var + 1e-3)).reshape(conv.shape)
    if maxpool:
        padded = np.pad(want, ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
        want = np.max([padded[:, i:i + 6, j:j + 6] for i in range(3) for j in range(3)], axis=0)
    assert np.max(np.abs(got - want)) <= 1e-4
    assert branch.count_params() == 9 * 8 + 2 * 8


def test_dilated_shortcut_projects_when_shape_changes():
    x = np.random.default_rng(6).normal(size=(2, 7, 7, 16)).astype("float32")
    branch = DilatedShortcut(24, strides=2, norm="batch")
    assert tuple(branch(x).shape) == (2, 4, 4, 24)
    # depthwise 9*16, BN 4*16, 1x1 projection 16*24, BN 4*24
    assert branch.count_params() == 9 * 16 + 4 * 16 + 16 * 24 + 4 * 24


def test_dirac_init_makes_the_branch_a_normalised_copy():
    x = np.random.default_rng(7).normal(size=(1, 5, 5, 4)).astype("float32")
    branch = DilatedShortcut(4, maxpool=False, groups=4, kernel_init="dirac")
    got = keras.ops.convert_to_numpy(branch(x))
    mean, std = x.mean(axis=(1, 2), keepdims=True), np.sqrt(x.var(axis=(1, 2), keepdims=True) + 1e-3)
    np.testing.assert_allclose(got, (x - mean) / std, atol=1e-4)


def test_squeeze_excite_reference_and_params():
    x = np.random.default_rng(8).normal(size=(2, 4, 4, 16)).astype("float32")
    se = SqueezeExcite(16)
    got = keras.ops.convert_to_numpy(se(x))
    w1, b1 = (keras.ops.convert_to_numpy(w) for w in se.reduce.weights)
    w2, b2 = (keras.ops.convert_to_numpy(w) for w in se.expand.weights)
    pooled = x.mean(axis=(1, 2))
    hidden = np.maximum(pooled @ w1[0, 0] + b1, 0)
    scale = np.clip(hidden @ w2[0, 0] + b2 + 3, 0, 6) / 6
    np.testing.assert_allclose(got, x * scale[:, None, None, :], atol=1e-5)
    assert se.count_params() == 16 * 8 + 8 + 8 * 16 + 16


def test_every_registered_object_has_an_example():
    assert registered_names() == sorted(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_config_round_trip(name):
    check_config_round_trip(EXAMPLES[name]())


@pytest.mark.parametrize("name", [name for name in sorted(EXAMPLES) if name != "DiracDepthwise"])
def test_keras_file_round_trip(name, tmp_path):
    check_saved_model_round_trip(EXAMPLES[name](), tmp_path)


def test_dirac_depthwise_is_the_identity_kernel():
    kernel = keras.ops.convert_to_numpy(DiracDepthwise()((3, 3, 4, 1)))
    identity = np.zeros((3, 3, 4, 1), "float32")
    identity[1, 1] = 1
    np.testing.assert_array_equal(kernel, identity)
    x = np.random.default_rng(11).normal(size=(1, 5, 5, 4)).astype("float32")
    copy = keras.ops.depthwise_conv(x, kernel, 1, "same")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(copy), x)


@pytest.mark.parametrize("groups, shape", [(8, (3, 6, 5, 16)), (1, (2, 4, 4, 8)), (4, (2, 3, 3, 4)),
                                           (2, (2, 1, 1, 6))])
def test_group_norm_matches_definition_and_keras(groups, shape):
    rng = np.random.default_rng(groups)
    # An offset mean and uneven channel scales: the statistics must be per group, not per channel.
    x = (rng.normal(3.0, 1.0, shape) * rng.uniform(0.2, 4.0, shape[-1])).astype("float32")
    ours = GroupNormalization(groups=groups, epsilon=1e-3)
    theirs = keras.layers.GroupNormalization(groups=groups, epsilon=1e-3)
    for layer in (ours, theirs):
        layer.build(shape)
    gamma, beta = rng.normal(1, 0.3, shape[-1]), rng.normal(0, 0.3, shape[-1])
    ours.set_weights([gamma, beta])
    theirs.set_weights([gamma, beta])
    expected = group_norm_reference(x, gamma, beta, groups, 1e-3)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ours(x)), expected, atol=2e-5)
    np.testing.assert_allclose(gradient(ours, x), gradient(theirs, x), rtol=1e-3, atol=1e-4)


def test_group_norm_is_keras_group_norm_on_other_ranks_and_for_export():
    rng = np.random.default_rng(0)
    ours, theirs = GroupNormalization(groups=4), keras.layers.GroupNormalization(groups=4)
    x = rng.normal(size=(2, 5, 8)).astype("float32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(ours(x)), keras.ops.convert_to_numpy(theirs(x)))
    # The TFLite export traces Keras' own graph (bit for bit), not the faster training formulation.
    ours, theirs = GroupNormalization(groups=4), keras.layers.GroupNormalization(groups=4)
    x = rng.normal(3.0, 2.0, size=(2, 6, 6, 8)).astype("float32")
    with GroupNormalization.keras_formulation():
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(ours(x)), keras.ops.convert_to_numpy(theirs(x)))
    assert not GroupNormalization._use_keras_formulation
    assert not np.array_equal(keras.ops.convert_to_numpy(ours(x)), keras.ops.convert_to_numpy(theirs(x)))


@pytest.mark.parametrize("size", [(6, 6), (7, 5), (1, 1), (2, 3)])
def test_max_pool_3x3_matches_keras_pooling(size):
    from keras_fer.layers import MaxPool3x3

    x = np.random.default_rng(9).normal(size=(2, *size, 3)).astype("float32")
    want = keras.layers.MaxPooling2D(3, strides=1, padding="same")(x)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(MaxPool3x3()(x)), keras.ops.convert_to_numpy(want))


@pytest.mark.parametrize("size", [(8, 8), (9, 7), (2, 2), (1, 3)])
@pytest.mark.parametrize("dilation", [2, 3])
@pytest.mark.parametrize("implementation", ["native", "polyphase"])
def test_stride1_dilated_depthwise_matches_eq1(size, dilation, implementation):
    x = np.random.default_rng(10).normal(size=(2, *size, 4)).astype("float32")
    layer = StridedDilatedConv2D(kernel_size=3, strides=1, dilation_rate=dilation, depthwise=True,
                                 implementation=implementation)
    got = keras.ops.convert_to_numpy(layer(x))
    want = conv_same_reference(x, keras.ops.convert_to_numpy(layer.kernel), 1, dilation, depthwise=True)
    assert np.max(np.abs(got - want)) <= 1e-5
