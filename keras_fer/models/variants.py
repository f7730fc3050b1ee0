"""Named variants: the baseline and the ablation steps of the paper's Table 4, as architecture configs."""

from keras_fer.models.config import ArchitectureConfig

# The variants whose dilated branch replaces the identity shortcut start each residual block's last
# norm at gamma = 0: without it `improved` stays at the majority class when trained from scratch at
# 48x48 (RESULTS.md, "Trainability"). Initialisation only: same architecture and parameters.
VARIANTS = {
    "mobilenetv3_large": ArchitectureConfig(stem_dilation=1, shortcut="identity", attention="se",
                                            norm="batch"),
    "first_conv": ArchitectureConfig(stem_dilation=2, shortcut="identity", attention="simam", norm="group"),
    "shortcut": ArchitectureConfig(stem_dilation=1, shortcut="dilated", attention="simam", norm="group",
                                   zero_init_last_norm=True),
    "first_conv_shortcut": ArchitectureConfig(stem_dilation=2, shortcut="dilated", attention="simam",
                                              norm="group", zero_init_last_norm=True),
    "improved": ArchitectureConfig(stem_dilation=2, shortcut="dilated_maxpool", attention="simam",
                                   norm="group", zero_init_last_norm=True),
}


def variant_names():
    return list(VARIANTS)


def variant_config(name):
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}; choose one of: {', '.join(VARIANTS)}"
        ) from None
