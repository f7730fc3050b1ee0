"""One builder for MobileNetV3-Large and every variant of the paper, from the block-spec table."""

import keras

from keras_fer.layers import (
    BN_MOMENTUM,
    DilatedShortcut,
    SimAM,
    SqueezeExcite,
    StridedDilatedConv2D,
    make_divisible,
    make_norm,
)
from keras_fer.models.spec import (
    HEAD_FILTERS,
    LAST_POINT_FILTERS,
    MOBILENETV3_LARGE_BLOCKS,
    STEM_FILTERS,
)
from keras_fer.models.variants import variant_arguments

SHORTCUTS = ("identity", "dilated", "dilated_maxpool")
ATTENTIONS = ("se", "simam", "none")


def build_model(
    input_size=224,
    input_channels=3,
    classes=7,
    *,
    stem_dilation=2,
    shortcut="dilated_maxpool",
    attention="simam",
    norm="group",
    groups=8,
    dilation_rate=2,
    width=1.0,
    dropout=0.2,
    simam_lambda=1e-4,
    shortcut_init="glorot_uniform",
    zero_init_last_norm=False,
    bn_momentum=BN_MOMENTUM,
    implementation="native",
    include_preprocessing=True,
    classifier_activation="softmax",
    blocks=MOBILENETV3_LARGE_BLOCKS,
    name="keras_fer",
):
    """Build the network as a functional `keras.Model` (defaults: the paper's `improved`, 224x224x3).

    Inputs are pixel values in [0, 255] (grayscale replicated to 3 channels, or 1 channel);
    with `include_preprocessing` the model rescales them to [-1, 1] itself, as
    keras.applications.MobileNetV3 does.

    Args:
        stem_dilation: dilation of the first 3x3 stride-2 convolution (1 = MobileNetV3).
        shortcut: "identity" (MobileNetV3), "dilated" (dilated depthwise branch on the blocks marked
            in the table) or "dilated_maxpool" (the same followed by 3x3 max-pooling; the paper's).
        attention: "se" (MobileNetV3), "simam" (the paper's) or "none", on the blocks marked.
        norm: "batch" or "group" (every normalisation in the network); `groups` for GN.
        shortcut_init: initialiser of the dilated branch's depthwise kernel ("dirac" = identity).
        zero_init_last_norm: start each residual block's last norm at gamma = 0, so that blocks
            begin as their shortcut (on in the registry's dilated-shortcut variants).
        bn_momentum: BatchNormalization's moving-average momentum (norm="batch").
        implementation: "native" or "polyphase" formulation of the dilated shortcut (same result;
            see keras_fer.layers.IMPLEMENTATIONS).
    """
    _check_choice("shortcut", shortcut, SHORTCUTS)
    _check_choice("attention", attention, ATTENTIONS)
    _check_choice("norm", norm, ("batch", "group"))
    if input_channels not in (1, 3):
        raise ValueError(f"input_channels must be 1 or 3, got {input_channels}")
    if input_size < 32:
        raise ValueError(f"input_size must be at least 32, got {input_size}")

    def depth(channels):
        return make_divisible(channels * width)

    def normalize(x, channels, layer_name, gamma="ones"):
        return make_norm(norm, channels, groups, name=layer_name, gamma_initializer=gamma,
                         bn_momentum=bn_momentum)(x)

    inputs = keras.Input((input_size, input_size, input_channels), name="image")
    x = inputs
    if include_preprocessing:
        x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="rescale")(x)

    stem = depth(STEM_FILTERS)
    if stem_dilation == 1:
        x = keras.layers.Conv2D(stem, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(x)
    else:
        x = StridedDilatedConv2D(stem, 3, strides=2, dilation_rate=stem_dilation, name="stem_conv")(x)
    x = normalize(x, stem, "stem_norm")
    x = keras.layers.Activation("hard_swish", name="stem_act")(x)

    for index, block in enumerate(blocks, start=1):
        x = _inverted_residual(
            x,
            block,
            prefix=f"block{index}_",
            exp=depth(block.exp),
            out=depth(block.out),
            attention=attention,
            shortcut=shortcut,
            dilation_rate=dilation_rate,
            normalize=normalize,
            norm=norm,
            groups=groups,
            simam_lambda=simam_lambda,
            shortcut_init=shortcut_init,
            zero_init_last_norm=zero_init_last_norm,
            implementation=implementation,
            bn_momentum=bn_momentum,
        )

    head = depth(HEAD_FILTERS)
    x = keras.layers.Conv2D(head, 1, use_bias=False, name="head_conv")(x)
    x = normalize(x, head, "head_norm")
    x = keras.layers.Activation("hard_swish", name="head_act")(x)
    x = keras.layers.GlobalAveragePooling2D(keepdims=True, name="pool")(x)
    last_point = make_divisible(LAST_POINT_FILTERS * width) if width > 1.0 else LAST_POINT_FILTERS
    x = keras.layers.Conv2D(last_point, 1, name="last_point_conv")(x)
    x = keras.layers.Activation("hard_swish", name="last_point_act")(x)
    if dropout > 0:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    x = keras.layers.Conv2D(classes, 1, name="logits")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Activation(classifier_activation, name="predictions", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)


def _inverted_residual(
    x,
    block,
    *,
    prefix,
    exp,
    out,
    attention,
    shortcut,
    dilation_rate,
    normalize,
    norm,
    groups,
    simam_lambda,
    shortcut_init,
    zero_init_last_norm,
    implementation,
    bn_momentum,
):
    inputs = x
    in_channels = x.shape[-1]
    identity = block.stride == 1 and in_channels == out
    dilated_branch = block.dilated and shortcut != "identity"
    has_residual = identity or dilated_branch

    if exp != in_channels:
        x = keras.layers.Conv2D(exp, 1, use_bias=False, name=prefix + "expand")(x)
        x = normalize(x, exp, prefix + "expand_norm")
        x = keras.layers.Activation(block.activation, name=prefix + "expand_act")(x)
    x = keras.layers.DepthwiseConv2D(
        block.kernel, strides=block.stride, padding="same", use_bias=False, name=prefix + "depthwise"
    )(x)
    x = normalize(x, exp, prefix + "depthwise_norm")
    x = keras.layers.Activation(block.activation, name=prefix + "depthwise_act")(x)
    if block.attention and attention == "se":
        x = SqueezeExcite(exp, name=prefix + "se")(x)
    elif block.attention and attention == "simam":
        x = SimAM(simam_lambda, name=prefix + "simam")(x)
    x = keras.layers.Conv2D(out, 1, use_bias=False, name=prefix + "project")(x)
    gamma = "zeros" if zero_init_last_norm and has_residual else "ones"
    x = normalize(x, out, prefix + "project_norm", gamma)

    if dilated_branch:
        branch = DilatedShortcut(
            out,
            strides=block.stride,
            dilation_rate=dilation_rate,
            maxpool=shortcut == "dilated_maxpool",
            norm=norm,
            groups=groups,
            kernel_init=shortcut_init,
            implementation=implementation,
            bn_momentum=bn_momentum,
            name=prefix + "dilated_shortcut",
        )(inputs)
        return keras.layers.Add(name=prefix + "add")([branch, x])
    if identity:
        return keras.layers.Add(name=prefix + "add")([inputs, x])
    return x


def _check_choice(argument, value, choices):
    if value not in choices:
        raise ValueError(f"{argument} must be one of {', '.join(choices)}; got {value!r}")


def build_variant(name, **overrides):
    """Build a named variant (`mobilenetv3_large`, `first_conv`, `shortcut`,
    `first_conv_shortcut`, `improved`); keyword arguments override any builder argument."""
    arguments = variant_arguments(name)
    arguments.update(overrides)
    arguments.setdefault("name", name)
    return build_model(**arguments)
