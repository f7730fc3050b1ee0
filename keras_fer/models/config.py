"""The architecture as one value: every switch and initialisation choice of the network."""

import dataclasses

from keras_fer.layers import BN_MOMENTUM, IMPLEMENTATIONS, make_divisible
from keras_fer.models.registry import REGISTRIES, SHORTCUTS
from keras_fer.models.spec import LAST_POINT_FILTERS


@dataclasses.dataclass(frozen=True)
class ArchitectureConfig:
    """What `build_model` builds, apart from the input, the classes and the block table.

    Defaults: the paper's `improved` with Keras' initialisation (the named variant also sets
    zero_init_last_norm). Every field is a JSON primitive, so `to_dict()` goes into a model's
    metadata and a recipe as is.

    Fields:
        stem_dilation: dilation of the first 3x3 stride-2 convolution (1 = MobileNetV3).
        shortcut: a models.registry.SHORTCUTS name: "identity" (MobileNetV3), "dilated" (dilated
            depthwise branch on the blocks marked in the table) or "dilated_maxpool" (the same
            followed by 3x3 max-pooling; the paper's).
        attention: an ATTENTIONS name: "se" (MobileNetV3), "simam" (the paper's) or "none", on the
            blocks marked.
        norm: a NORMS name, "batch" or "group" (every normalisation in the network); `groups` for GN.
        width: channel multiplier; dropout: before the classifier (0 = no Dropout layer).
        simam_lambda: SimAM's regulariser lambda.
        shortcut_init: initialiser of the dilated branch's depthwise kernel ("dirac" = identity).
        zero_init_last_norm: start each residual block's last norm at gamma = 0, so that blocks
            begin as their shortcut (on in the named dilated-shortcut variants).
        bn_momentum: BatchNormalization's moving-average momentum (norm="batch").
        implementation: "native" or "polyphase" formulation of the dilated shortcut (same result;
            see keras_fer.layers.IMPLEMENTATIONS).
    """

    stem_dilation: int = 2
    shortcut: str = "dilated_maxpool"
    attention: str = "simam"
    norm: str = "group"
    groups: int = 8
    dilation_rate: int = 2
    width: float = 1.0
    dropout: float = 0.2
    simam_lambda: float = 1e-4
    shortcut_init: str = "glorot_uniform"
    zero_init_last_norm: bool = False
    bn_momentum: float = BN_MOMENTUM
    implementation: str = "native"

    def __post_init__(self):
        for field, registry in REGISTRIES.items():
            registry.lookup(getattr(self, field))
        if self.implementation not in IMPLEMENTATIONS:
            raise ValueError(f"implementation must be one of {', '.join(IMPLEMENTATIONS)}; "
                             f"got {self.implementation!r}")

    @classmethod
    def field_names(cls):
        return [field.name for field in dataclasses.fields(cls)]

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        """The config of `to_dict()` (a model's metadata, a recipe); missing fields take the defaults."""
        unknown = sorted(set(values) - set(cls.field_names()))
        if unknown:
            raise ValueError(f"unknown architecture field(s) {unknown}; known: {cls.field_names()}")
        return cls(**values)

    @classmethod
    def of(cls, value):
        """`value` as a config: a config as is, a dict by `from_dict`, None as the defaults."""
        if value is None:
            return cls()
        return value if isinstance(value, cls) else cls.from_dict(value)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def channels(self, filters):
        """A layer's channels at this width (MobileNet's rounding to multiples of 8)."""
        return make_divisible(filters * self.width)

    def last_point_filters(self):
        # MobileNetV3 widens the 1x1 conv after pooling only, never narrows it.
        return self.channels(LAST_POINT_FILTERS) if self.width > 1.0 else LAST_POINT_FILTERS

    def has_dilated_branch(self, block):
        return block.dilated and SHORTCUTS[self.shortcut].make is not None
