"""The network's custom layers, written with `keras.ops` only so they run on every backend.

- `SimAM`: the parameter-free attention of Yang et al. 2021 (the paper's Eq. 6-7).
- `StridedDilatedConv2D`: a (depthwise) convolution with stride > 1 AND dilation > 1, which
  `keras.layers.Conv2D` refuses on the TensorFlow backend (the paper's dilated stem, Eq. 1).
- `DilatedShortcut`: the dilated shortcut branch of the inverted-residual blocks marked
  "dilation = 2" (dilated depthwise conv -> norm -> optional max-pool -> optional projection).
- `SqueezeExcite`: MobileNetV3's SE block, for the baseline; parameters match keras.applications.
- `GroupNormalization`: keras.layers.GroupNormalization (same weights, config and values) computed
  with per-channel reductions, 1.2-2.4x faster forward+backward on TF CPU than Keras' 5-D form.
- `NORMS` / `make_norm`: the one place that turns a norm name into a layer (BN <-> GN switch).
"""

import contextlib
import dataclasses
import math
from typing import Callable

import keras
from keras import ops

from keras_fer.registry import Registry

PACKAGE = "keras_fer"
# How the dilated shortcut computes its stride-1 dilated conv and 3x3 max-pool: "native" (the
# backend's dilated convolution and max-pooling; fastest measured on TF CPU) or "polyphase"
# (dense convolutions of the polyphase components, and a separable max of shifted copies).
IMPLEMENTATIONS = ("native", "polyphase")


def make_divisible(value, divisor=8, min_value=None):
    """MobileNet's channel rounding (same as keras.applications' `_depth`)."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def group_count(channels, groups):
    """The largest group count <= `groups` that divides `channels` (GN needs a divisor)."""
    return math.gcd(channels, groups)


# PyTorch's default (its momentum=0.1). keras.applications' 0.999 (an average over ~1,000 steps) lags
# the batch statistics of a network trained from scratch at this package's rates: in inference
# the error compounds over MobileNetV3's 46 BN layers and the baseline predicted one class for
# every face while it trained (RESULTS.md, "BatchNorm baseline").
BN_MOMENTUM = 0.9


@dataclasses.dataclass(frozen=True)
class Norm:
    label: str  # the block table's name for it
    make: Callable  # (channels, groups, name, gamma_initializer, bn_momentum) -> a layer


def _batch_norm(channels, groups, name, gamma_initializer, bn_momentum):
    # keras.applications' MobileNetV3 epsilon; momentum: see BN_MOMENTUM.
    return keras.layers.BatchNormalization(
        epsilon=1e-3, momentum=bn_momentum, gamma_initializer=gamma_initializer, name=name
    )


def _group_norm(channels, groups, name, gamma_initializer, bn_momentum):
    return GroupNormalization(
        groups=group_count(channels, groups), epsilon=1e-3, gamma_initializer=gamma_initializer, name=name
    )


# Every normalisation of the network comes from here (the BN <-> GN switch of the paper).
NORMS = Registry("norm", {"batch": Norm("BN", _batch_norm), "group": Norm("GN", _group_norm)})


def make_norm(kind, channels, groups=8, name=None, gamma_initializer="ones", bn_momentum=BN_MOMENTUM):
    """The norm layer registered as `kind` in NORMS."""
    return NORMS.lookup(kind).make(channels, groups, name, gamma_initializer, bn_momentum)


@keras.saving.register_keras_serializable(package=PACKAGE)
class GroupNormalization(keras.layers.GroupNormalization):
    """keras.layers.GroupNormalization with a cheaper exact formulation for channels-last 4-D input.

    Keras reshapes to (N, H, W, G, C/G) and reduces over three non-adjacent axes, forward and
    backward; on TF CPU that made GN cost more than the convolutions around it. Here the
    statistics are per-channel means over H x W (a contiguous reduction), averaged within each
    group on the small (N, C) tensor; the variance stays two-pass (of x - mean) for the same
    numerics. Weights and config are Keras' own, so either class loads the other's weights.

    Inside `keras_formulation()` it traces as Keras' layer: full-integer TFLite quantizes Keras'
    single 5-D reductions better (int8 top-1 agreement with Keras 0.930 vs 0.842 on the shipped
    fer2013), so int8 exports use it; float TFLite files run this one 1.4-1.7x faster
    (BENCHMARKS.md, "What we tried").
    """

    _use_keras_formulation = False

    @classmethod
    @contextlib.contextmanager
    def keras_formulation(cls):
        previous, cls._use_keras_formulation = cls._use_keras_formulation, True
        try:
            yield
        finally:
            cls._use_keras_formulation = previous

    def call(self, inputs):
        if len(inputs.shape) != 4 or self.axis not in (-1, 3) or self._use_keras_formulation:
            return super().call(inputs)
        # GN overflows in float16, hence float32 statistics (as Keras does).
        x = ops.cast(inputs, keras.backend.result_type(inputs.dtype, "float32"))
        centered = x - self._group_mean(ops.mean(x, axis=(1, 2)))
        variance = self._group_mean(ops.mean(ops.square(centered), axis=(1, 2)))
        scale = ops.rsqrt(variance + self.epsilon)
        if self.scale:
            scale = scale * ops.cast(self.gamma, x.dtype)
        outputs = centered * scale
        if self.center:
            outputs = outputs + ops.cast(self.beta, x.dtype)
        return ops.cast(outputs, self.compute_dtype)

    def _group_mean(self, per_channel):
        """(N, C) -> the mean of each channel's group, as (N, 1, 1, C)."""
        channels = per_channel.shape[-1]
        per_group = channels // self.groups
        grouped = ops.mean(ops.reshape(per_channel, (-1, self.groups, per_group)), axis=-1, keepdims=True)
        # Back to one value per channel by a product with ones (exact). ops.repeat did the same in
        # ~30 TF ops per call, 56 % of the network's graph; with it the first training step took
        # 1.33x as long and the first predict 1.89x (tracing; BENCHMARKS.md, "What we tried").
        return ops.reshape(grouped * ops.ones((1, 1, per_group), grouped.dtype), (-1, 1, 1, channels))


@keras.saving.register_keras_serializable(package=PACKAGE)
class SimAM(keras.layers.Layer):
    """SimAM attention: out = x * sigmoid(d / (4 (v + lambda)) + 0.5), per channel over H x W.

    d = (x - mean)^2 and v = sum(d) / (H*W - 1). A 1x1 map has no spread; the divisor is clamped
    to 1 there (v = 0), so the output is x * sigmoid(0.5) instead of NaN.

    Computed as ((x - mean) * rsqrt(4 (v + lambda)))^2 + 0.5, the same value without a division
    by a tensor: TFLite's integer DIV fails at run time when the divisor quantizes to zero, and
    the standardized deviation stays in a range int8 represents well. With a static H x W the
    count is a constant, so the converted graph has no shape arithmetic either.
    """

    def __init__(self, lambda_=1e-4, **kwargs):
        super().__init__(**kwargs)
        self.lambda_ = float(lambda_)

    def call(self, inputs):
        return inputs * self.attention_weights(inputs)

    def attention_weights(self, inputs):
        """sigmoid(1 / e*) of Eq. 6-7 per position and channel: the weights `call` multiplies by
        (`keras_fer.explain` shows their channel mean)."""
        centered = inputs - ops.mean(inputs, axis=(1, 2), keepdims=True)
        squared_sum = ops.sum(ops.square(centered), axis=(1, 2), keepdims=True)
        height, width = inputs.shape[1], inputs.shape[2]
        if height is not None and width is not None:
            v = squared_sum * (1.0 / max(height * width - 1, 1))
        else:
            shape = ops.shape(inputs)
            v = squared_sum / ops.maximum(ops.cast(shape[1] * shape[2], inputs.dtype) - 1.0, 1.0)
        standardized = centered * ops.rsqrt(4.0 * (v + self.lambda_))
        return ops.sigmoid(ops.square(standardized) + 0.5)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "lambda_": self.lambda_}


def same_subsample_offset(size, kernel_size, strides, dilation_rate):
    """Where a strided SAME convolution's first output sits on the stride-1 SAME output grid.

    Both pad so that out = ceil(size / s); the strided one pads `total // 2` in front, the
    stride-1 one `(k_eff - 1) // 2`. Output i of the strided conv is output
    `s*i + offset` of the stride-1 conv.
    """
    k_eff = (kernel_size - 1) * dilation_rate + 1
    out = -(-size // strides)
    pad_front_strided = max((out - 1) * strides + k_eff - size, 0) // 2
    pad_front_dense = (k_eff - 1) // 2
    return pad_front_dense - pad_front_strided


@keras.saving.register_keras_serializable(package=PACKAGE)
class StridedDilatedConv2D(keras.layers.Layer):
    """Conv2D / DepthwiseConv2D with SAME padding, stride s and dilation d, both possibly > 1.

    Exact Eq. 1 of the paper at every s-th position. When d == s (the paper's 2 and 2) every tap of
    one output reads input positions of one parity, so the result is a plain stride-1, dilation-1
    convolution of the input subsampled at that parity: 1/s^2 of the work. Otherwise it computes the
    dense stride-1 dilated convolution and subsamples it with the SAME alignment.
    """

    def __init__(
        self,
        filters=None,
        kernel_size=3,
        strides=2,
        dilation_rate=2,
        depthwise=False,
        use_bias=False,
        kernel_initializer="glorot_uniform",
        implementation="native",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(f"implementation must be one of {IMPLEMENTATIONS}, got {implementation!r}")
        self.implementation = implementation
        if not depthwise and not filters:
            raise ValueError("filters is required unless depthwise=True")
        self.filters = None if depthwise else int(filters)
        self.kernel_size = int(kernel_size)
        self.strides = int(strides)
        self.dilation_rate = int(dilation_rate)
        self.depthwise = bool(depthwise)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        channels = input_shape[-1]
        k = self.kernel_size
        shape = (k, k, channels, 1) if self.depthwise else (k, k, channels, self.filters)
        self.kernel = self.add_weight(name="kernel", shape=shape, initializer=self.kernel_initializer)
        out_channels = channels if self.depthwise else self.filters
        self.bias = (
            self.add_weight(name="bias", shape=(out_channels,), initializer="zeros")
            if self.use_bias
            else None
        )

    def _conv(self, x, dilation):
        if self.depthwise:
            return ops.depthwise_conv(x, self.kernel, 1, "same", dilation_rate=dilation)
        return ops.conv(x, self.kernel, 1, "same", dilation_rate=dilation)

    def call(self, inputs):
        s, d, k = self.strides, self.dilation_rate, self.kernel_size
        h_off, w_off = (
            same_subsample_offset(size, k, s, d) for size in self._spatial(inputs)
        )
        if s == 1 and d > 1 and k % 2 == 1 and self.implementation == "polyphase":
            out = self._polyphase_conv(inputs)
        elif s == 1:
            out = self._conv(inputs, d)
        elif d == s:
            # Taps sit at s*i + offset + d*t: one parity class, a dense conv on the subsampled grid.
            out = self._conv(inputs[:, h_off::s, w_off::s, :], 1)
        else:
            out = self._conv(inputs, d)[:, h_off::s, w_off::s, :]
        if self.bias is not None:
            out = out + self.bias
        return out

    def _polyphase_conv(self, inputs):
        """Stride 1, dilation d, as d*d dense convolutions of the input's polyphase components.

        A dilated tap only ever meets pixels of its own phase (i mod d), so each phase grid gets a
        plain convolution with SAME padding, and the results are interleaved back. Exact. Slower
        than TensorFlow's own dilated convolution on a CPU (measured when it was written);
        kept for backends whose dilated depthwise convolution is slow.
        """
        d = self.dilation_rate
        height, width = self._spatial(inputs)
        pad_h, pad_w = (-height) % d, (-width) % d  # zeros past the edge: what SAME pads anyway
        x = ops.pad(inputs, ((0, 0), (0, pad_h), (0, pad_w), (0, 0))) if pad_h or pad_w else inputs
        rows = []
        for a in range(d):
            rows.append(ops.stack([self._conv(x[:, a::d, b::d, :], 1) for b in range(d)], axis=3))
        out = ops.stack(rows, axis=2)  # (N, H/d, d, W/d, d, C)
        shape = ops.shape(out)
        out = ops.reshape(out, (shape[0], shape[1] * d, shape[3] * d, shape[5]))
        return out[:, :height, :width, :]

    @staticmethod
    def _spatial(inputs):
        # Static sizes where known (always, inside the functional model), so slicing stays static.
        return [
            dim if dim is not None else ops.shape(inputs)[axis]
            for axis, dim in ((1, inputs.shape[1]), (2, inputs.shape[2]))
        ]

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        out = lambda n: None if n is None else -(-n // self.strides)  # noqa: E731
        return (batch, out(height), out(width), channels if self.depthwise else self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "dilation_rate": self.dilation_rate,
            "depthwise": self.depthwise,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "implementation": self.implementation,
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaxPool3x3(keras.layers.Layer):
    """3x3 max-pooling, stride 1, SAME (= MaxPooling2D(3, 1, "same")), as two separable
    maxima of shifted copies: elementwise ops whose gradient is cheap everywhere, where XLA's
    select-and-scatter gradient of a pooling window is slow on GPUs."""

    def call(self, inputs):
        x = ops.pad(inputs, ((0, 0), (1, 1), (0, 0), (0, 0)), constant_values=-math.inf)
        x = ops.maximum(ops.maximum(x[:, :-2], x[:, 1:-1]), x[:, 2:])
        x = ops.pad(x, ((0, 0), (0, 0), (1, 1), (0, 0)), constant_values=-math.inf)
        return ops.maximum(ops.maximum(x[:, :, :-2], x[:, :, 1:-1]), x[:, :, 2:])

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package=PACKAGE)
class DilatedShortcut(keras.layers.Layer):
    """The shortcut branch of a block marked "dilation = 2" (SPEC, Table 2).

    3x3 depthwise conv, dilation d, at the block's stride (no bias) -> norm -> [3x3 max-pool,
    stride 1, SAME] -> [1x1 conv to `filters` -> norm, when channels change]. Added to the main
    branch in place of the identity shortcut.

    `kernel_init="dirac"` starts the depthwise kernel as the identity (centre tap 1), so the branch
    begins as a normalised copy of its input, like the identity shortcut it replaces.
    """

    def __init__(
        self,
        filters,
        strides=1,
        dilation_rate=2,
        maxpool=True,
        norm="group",
        groups=8,
        kernel_init="glorot_uniform",
        implementation="native",
        bn_momentum=BN_MOMENTUM,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.implementation = implementation
        self.bn_momentum = float(bn_momentum)
        self.filters = int(filters)
        self.strides = int(strides)
        self.dilation_rate = int(dilation_rate)
        self.maxpool = bool(maxpool)
        self.norm = norm
        self.groups = int(groups)
        self.kernel_init = kernel_init

    def build(self, input_shape):
        channels = input_shape[-1]
        initializer = DiracDepthwise() if self.kernel_init == "dirac" else self.kernel_init
        self.conv = StridedDilatedConv2D(
            kernel_size=3,
            strides=self.strides,
            dilation_rate=self.dilation_rate,
            depthwise=True,
            kernel_initializer=initializer,
            implementation=self.implementation,
            name="dilated_depthwise",
        )
        self.conv_norm = make_norm(self.norm, channels, self.groups, name="dilated_norm",
                                   bn_momentum=self.bn_momentum)
        self.pool = None
        if self.maxpool and self.implementation == "polyphase":
            self.pool = MaxPool3x3(name="maxpool")
        elif self.maxpool:
            self.pool = keras.layers.MaxPooling2D(3, strides=1, padding="same", name="maxpool")
        self.project = None
        if channels != self.filters:
            self.project = keras.layers.Conv2D(
                self.filters, 1, use_bias=False, name="project"
            )
            self.project_norm = make_norm(self.norm, self.filters, self.groups, name="project_norm",
                                          bn_momentum=self.bn_momentum)
        shape = input_shape
        for layer in self._sublayers():
            layer.build(shape)
            shape = layer.compute_output_shape(shape)

    def _sublayers(self):
        layers = [self.conv, self.conv_norm]
        if self.pool is not None:
            layers.append(self.pool)
        if self.project is not None:
            layers += [self.project, self.project_norm]
        return layers

    def call(self, inputs, training=None):
        x = inputs
        for layer in self._sublayers():
            x = layer(x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        out = lambda n: None if n is None else -(-n // self.strides)  # noqa: E731
        return (batch, out(height), out(width), self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "strides": self.strides,
            "dilation_rate": self.dilation_rate,
            "maxpool": self.maxpool,
            "norm": self.norm,
            "groups": self.groups,
            "bn_momentum": self.bn_momentum,
            "kernel_init": self.kernel_init,
            "implementation": self.implementation,
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class DiracDepthwise(keras.initializers.Initializer):
    """Identity depthwise kernel: 1 at the centre tap of every channel, 0 elsewhere."""

    def __call__(self, shape, dtype=None):
        k = shape[0]
        centre = ops.one_hot(k * k // 2, k * k, dtype=dtype or "float32")
        return ops.tile(ops.reshape(centre, (k, k, 1, 1)), (1, 1, shape[2], shape[3]))

    def get_config(self):
        return {}


@keras.saving.register_keras_serializable(package=PACKAGE)
class SqueezeExcite(keras.layers.Layer):
    """MobileNetV3's SE: global pool -> 1x1 conv (C/4, ReLU) -> 1x1 conv (C, hard sigmoid) -> scale.

    Same weights as keras.applications.MobileNetV3Large's SE (bias on both convs), so the baseline's
    parameter count matches it exactly.
    """

    def __init__(self, channels, ratio=0.25, **kwargs):
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.ratio = float(ratio)

    @property
    def reduced_channels(self):
        return make_divisible(self.channels * self.ratio)

    def build(self, input_shape):
        self.reduce = keras.layers.Conv2D(self.reduced_channels, 1, name="reduce")
        self.expand = keras.layers.Conv2D(self.channels, 1, name="expand")
        pooled = (input_shape[0], 1, 1, input_shape[-1])
        self.reduce.build(pooled)
        self.expand.build((input_shape[0], 1, 1, self.reduced_channels))

    def call(self, inputs):
        scale = ops.mean(inputs, axis=(1, 2), keepdims=True)
        scale = ops.relu(self.reduce(scale))
        scale = ops.relu6(self.expand(scale) + 3.0) / 6.0
        return inputs * scale

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "ratio": self.ratio}
