"""The architecture's switches as registries: name -> how to build it and how the table names it.

The builder, the block table (models.summary) and the command line's choices all read these, so a
new attention (or shortcut, or norm in keras_fer.layers.NORMS) is one entry here plus its layer.
Inside block N an attention layer is named `blockN_<its registry name>`.
"""

import dataclasses
from typing import Callable, Optional

from keras_fer.layers import NORMS, DilatedShortcut, SimAM, SqueezeExcite
from keras_fer.registry import Registry


@dataclasses.dataclass(frozen=True)
class Attention:
    label: str  # the block table's attention column
    make: Optional[Callable] = None  # (channels, config, name) -> layer; None: no attention


@dataclasses.dataclass(frozen=True)
class Shortcut:
    label: str  # what the block table adds to the operator of a block marked "dilation = 2"
    # (filters, strides, config, name) -> the branch that replaces the identity on those blocks;
    # None: MobileNetV3's identity shortcut only.
    make: Optional[Callable] = None


def _dilated_shortcut(maxpool):
    def make(filters, strides, config, name):
        return DilatedShortcut(
            filters,
            strides=strides,
            dilation_rate=config.dilation_rate,
            maxpool=maxpool,
            norm=config.norm,
            groups=config.groups,
            kernel_init=config.shortcut_init,
            implementation=config.implementation,
            bn_momentum=config.bn_momentum,
            name=name,
        )

    return make


ATTENTIONS = Registry("attention", {
    "se": Attention("SE", lambda channels, config, name: SqueezeExcite(channels, name=name)),
    "simam": Attention("SimAM", lambda channels, config, name: SimAM(config.simam_lambda, name=name)),
    "none": Attention("-"),
})

SHORTCUTS = Registry("shortcut", {
    "identity": Shortcut(""),
    "dilated": Shortcut(", dilated shortcut", _dilated_shortcut(maxpool=False)),
    "dilated_maxpool": Shortcut(", dilated shortcut + maxpool", _dilated_shortcut(maxpool=True)),
})

# By the ArchitectureConfig field each one serves (the command line offers one option per entry).
REGISTRIES = {"norm": NORMS, "attention": ATTENTIONS, "shortcut": SHORTCUTS}
