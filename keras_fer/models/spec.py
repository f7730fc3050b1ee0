"""The paper's Table 2 as data (SPEC.md, with its stride column fixed at blocks 13-14)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class BlockSpec:
    """One inverted-residual ("bneck") block of MobileNetV3-Large."""

    kernel: int
    exp: int  # expansion channels (no 1x1 expand conv when equal to the input channels)
    out: int
    attention: bool  # SE in MobileNetV3-Large, SimAM in the paper's network
    activation: str  # "relu" (RE) or "hard_swish" (HS)
    stride: int
    dilated: bool  # marked "dilation = 2": gets the dilated shortcut branch


RE, HS = "relu", "hard_swish"

STEM_FILTERS = 16
HEAD_FILTERS = 960  # 1x1 conv after the last block (6 x 160)
LAST_POINT_FILTERS = 1280  # 1x1 conv after pooling, no norm

MOBILENETV3_LARGE_BLOCKS = (
    BlockSpec(3, 16, 16, False, RE, 1, True),
    BlockSpec(3, 64, 24, False, RE, 2, False),
    BlockSpec(3, 72, 24, False, RE, 1, True),
    BlockSpec(5, 72, 40, True, RE, 2, False),
    BlockSpec(5, 120, 40, True, RE, 1, True),
    BlockSpec(5, 120, 40, True, RE, 1, True),
    BlockSpec(3, 240, 80, False, HS, 2, False),
    BlockSpec(3, 200, 80, False, HS, 1, True),
    BlockSpec(3, 184, 80, False, HS, 1, True),
    BlockSpec(3, 184, 80, False, HS, 1, True),
    BlockSpec(3, 480, 112, True, HS, 1, True),
    BlockSpec(3, 672, 112, True, HS, 1, True),
    BlockSpec(5, 672, 160, True, HS, 2, True),
    BlockSpec(5, 960, 160, True, HS, 1, False),
    BlockSpec(5, 960, 160, True, HS, 1, True),
)
