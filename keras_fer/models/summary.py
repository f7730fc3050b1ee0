"""The built network as rows of the paper's Table 2, and the attention cost of its Table 1."""

from keras_fer.layers import NORMS
from keras_fer.models.config import ArchitectureConfig
from keras_fer.models.registry import ATTENTIONS, SHORTCUTS
from keras_fer.models.spec import HEAD_FILTERS, MOBILENETV3_LARGE_BLOCKS, STEM_FILTERS

SE_REDUCTION = 4  # MobileNetV3's SE ratio 0.25


def block_table(config, input_size=224, input_channels=3, classes=7, blocks=MOBILENETV3_LARGE_BLOCKS):
    """Rows (dicts) describing the network that `build_model(config=config)` builds (`config`: an
    ArchitectureConfig, or a dict of its fields)."""
    config = ArchitectureConfig.of(config)
    norm = NORMS[config.norm].label
    size, channels = input_size, input_channels

    def row(operator, exp, out, attn, nl, stride, dilation):
        return {
            "input": f"{size}x{size}x{channels}",
            "operator": operator,
            "exp": exp,
            "out": out,
            "attention": attn,
            "nl": nl,
            "stride": stride,
            "dilation": dilation,
        }

    def down(n, stride):
        return -(-n // stride)

    stem = config.channels(STEM_FILTERS)
    rows = [row(f"conv2d 3x3, {norm}", "-", stem, "-", "HS", 2, config.stem_dilation)]
    size, channels = down(size, 2), stem
    for block in blocks:
        exp, out = config.channels(block.exp), config.channels(block.out)
        branch = config.has_dilated_branch(block)
        operator = f"bneck {block.kernel}x{block.kernel}, {norm}"
        operator += SHORTCUTS[config.shortcut].label if branch else ""
        attn = ATTENTIONS[config.attention].label if block.attention else "-"
        nl = "RE" if block.activation == "relu" else "HS"
        rows.append(row(operator, exp, out, attn, nl, block.stride, config.dilation_rate if branch else 1))
        size, channels = down(size, block.stride), out
    head = config.channels(HEAD_FILTERS)
    rows.append(row(f"conv2d 1x1, {norm}", "-", head, "-", "HS", 1, 1))
    channels = head
    rows.append(row("global avg pool", "-", "-", "-", "-", "-", "-"))
    size = 1
    last = config.last_point_filters()
    rows.append(row("conv2d 1x1 (no norm)", "-", last, "-", "HS", 1, 1))
    channels = last
    rows.append(row("conv2d 1x1 -> classes", "-", classes, "-", "softmax", 1, 1))
    return rows


def attention_cost(rows):
    """Table 1 of the paper for this network: parameters SE would add here (2C^2/r summed over the
    attention blocks, C = expansion channels, r = 4) against SimAM's zero."""
    attention_rows = [r for r in rows if r["attention"] != "-"]
    se = sum(2 * r["exp"] ** 2 // SE_REDUCTION for r in attention_rows)
    return {"attention_blocks": len(attention_rows), "se_params_2c2_over_r": se, "simam_params": 0}


def format_table(rows):
    columns = ["input", "operator", "exp", "out", "attention", "nl", "stride", "dilation"]
    cells = [[str(r[c]) for c in columns] for r in rows]
    widths = [max(len(c), *(len(line[i]) for line in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(line, widths)) for line in cells]
    return "\n".join(lines)
