"""One builder for MobileNetV3-Large and every variant of the paper, from the block-spec table."""

import keras

from keras_fer.layers import StridedDilatedConv2D, make_norm
from keras_fer.models.config import ArchitectureConfig
from keras_fer.models.registry import ATTENTIONS, SHORTCUTS
from keras_fer.models.spec import HEAD_FILTERS, MOBILENETV3_LARGE_BLOCKS, STEM_FILTERS
from keras_fer.models.variants import variant_config


def build_model(
    input_size=224,
    input_channels=3,
    classes=7,
    *,
    config=None,
    include_preprocessing=True,
    classifier_activation="softmax",
    blocks=MOBILENETV3_LARGE_BLOCKS,
    name="keras_fer",
    **architecture,
):
    """Build the network as a functional `keras.Model` (defaults: the paper's `improved`, 224x224x3).

    Inputs are pixel values in [0, 255] (grayscale replicated to 3 channels, or 1 channel);
    with `include_preprocessing` the model rescales them to [-1, 1] itself, as
    keras.applications.MobileNetV3 does.

    The architecture is `config` (an ArchitectureConfig or its `to_dict()`; default: its defaults)
    with any of its fields overridden by keyword (`attention="se"`, `norm="batch"`, ...; see
    ArchitectureConfig). The model keeps it as `model.keras_fer_architecture` (training records it
    in the metadata).
    """
    config = ArchitectureConfig.of(config).replace(**architecture)
    if input_channels not in (1, 3):
        raise ValueError(f"input_channels must be 1 or 3, got {input_channels}")
    if input_size < 32:
        raise ValueError(f"input_size must be at least 32, got {input_size}")

    inputs = keras.Input((input_size, input_size, input_channels), name="image")
    x = inputs
    if include_preprocessing:
        x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="rescale")(x)

    stem = config.channels(STEM_FILTERS)
    if config.stem_dilation == 1:
        x = keras.layers.Conv2D(stem, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(x)
    else:
        x = StridedDilatedConv2D(stem, 3, strides=2, dilation_rate=config.stem_dilation, name="stem_conv")(x)
    x = _normalize(x, config, "stem_norm")
    x = keras.layers.Activation("hard_swish", name="stem_act")(x)

    for index, block in enumerate(blocks, start=1):
        x = _inverted_residual(x, block, config, prefix=f"block{index}_")

    x = keras.layers.Conv2D(config.channels(HEAD_FILTERS), 1, use_bias=False, name="head_conv")(x)
    x = _normalize(x, config, "head_norm")
    x = keras.layers.Activation("hard_swish", name="head_act")(x)
    x = keras.layers.GlobalAveragePooling2D(keepdims=True, name="pool")(x)
    x = keras.layers.Conv2D(config.last_point_filters(), 1, name="last_point_conv")(x)
    x = keras.layers.Activation("hard_swish", name="last_point_act")(x)
    if config.dropout > 0:
        x = keras.layers.Dropout(config.dropout, name="dropout")(x)
    x = keras.layers.Conv2D(classes, 1, name="logits")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Activation(classifier_activation, name="predictions", dtype="float32")(x)
    model = keras.Model(inputs, outputs, name=name)
    model.keras_fer_architecture = config
    return model


def _normalize(x, config, name, gamma="ones"):
    return make_norm(config.norm, x.shape[-1], config.groups, name=name, gamma_initializer=gamma,
                     bn_momentum=config.bn_momentum)(x)


def _inverted_residual(x, block, config, *, prefix):
    """One "bneck" block (a row of the block table) under `config`; its layers are named `prefix...`."""
    inputs = x
    in_channels = x.shape[-1]
    exp, out = config.channels(block.exp), config.channels(block.out)
    identity = block.stride == 1 and in_channels == out
    dilated_branch = config.has_dilated_branch(block)

    if exp != in_channels:
        x = keras.layers.Conv2D(exp, 1, use_bias=False, name=prefix + "expand")(x)
        x = _normalize(x, config, prefix + "expand_norm")
        x = keras.layers.Activation(block.activation, name=prefix + "expand_act")(x)
    x = keras.layers.DepthwiseConv2D(
        block.kernel, strides=block.stride, padding="same", use_bias=False, name=prefix + "depthwise"
    )(x)
    x = _normalize(x, config, prefix + "depthwise_norm")
    x = keras.layers.Activation(block.activation, name=prefix + "depthwise_act")(x)
    attention = ATTENTIONS[config.attention]
    if block.attention and attention.make is not None:
        x = attention.make(exp, config, prefix + config.attention)(x)
    x = keras.layers.Conv2D(out, 1, use_bias=False, name=prefix + "project")(x)
    residual = identity or dilated_branch
    gamma = "zeros" if config.zero_init_last_norm and residual else "ones"
    x = _normalize(x, config, prefix + "project_norm", gamma)

    if dilated_branch:
        branch = SHORTCUTS[config.shortcut].make(out, block.stride, config, prefix + "dilated_shortcut")
        return keras.layers.Add(name=prefix + "add")([branch(inputs), x])
    if identity:
        return keras.layers.Add(name=prefix + "add")([inputs, x])
    return x


def build_variant(name, **overrides):
    """Build a named variant (`mobilenetv3_large`, `first_conv`, `shortcut`,
    `first_conv_shortcut`, `improved`); keyword arguments override any builder argument."""
    overrides.setdefault("name", name)
    return build_model(config=variant_config(name), **overrides)
