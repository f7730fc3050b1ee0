"""Where does int8 lose agreement? A Keras emulation of TFLite's int8 activation rounding (uint8,
per tensor, min/max over calibration faces) on the inputs of the GroupNorm layers only, and the
same with one range per group (what equalizing the groups' scales could at best give: GroupNorm
is invariant to them). Faces as `benchmarks/tflite_agreement.py`.

    .venv/bin/python benchmarks/int8_group_norm_emulation.py [MODEL]    # default fer2013; ~1.5 min
"""

import sys

import numpy as np
from keras import ops
from tflite_agreement import protocol_faces  # also puts the repository on sys.path

from keras_fer.layers import GroupNormalization
from keras_fer.model_io import load_model, resolve_model_path


def fake_quantize(x, low, high):
    """uint8 rounding with TFLite's asymmetric scheme (the range always holds 0)."""
    low, high = np.minimum(low, 0.0), np.maximum(high, 0.0)
    scale = (high - low) / 255.0
    zero_point = np.round(-low / scale)
    return (np.clip(np.round(x / scale) + zero_point, 0, 255) - zero_point) * scale


class GroupNormInputs:
    """Patches GroupNormalization.call: "record" per-group ranges, or round the input with one range
    per "tensor" or per "group"; "off" leaves it alone."""

    def __init__(self):
        self.mode, self.ranges, self.original = "off", {}, GroupNormalization.call
        hook = self

        def call(layer, inputs):
            return hook.original(layer, ops.convert_to_tensor(hook.apply(layer, ops.convert_to_numpy(inputs))))

        GroupNormalization.call = call

    def apply(self, layer, x):
        groups = x.reshape(*x.shape[:-1], layer.groups, -1)  # (..., G, C/G)
        if self.mode == "record":
            # float64 ranges, as in the runs RESULTS.md quotes (float32 ones flip one face of 500)
            low, high = self.ranges.get(layer.name, (np.full(layer.groups, np.inf), np.full(layer.groups, -np.inf)))
            axes = tuple(range(groups.ndim - 2)) + (groups.ndim - 1,)
            self.ranges[layer.name] = (np.minimum(low, groups.min(axis=axes)), np.maximum(high, groups.max(axis=axes)))
        elif self.mode == "tensor":
            low, high = self.ranges[layer.name]
            x = fake_quantize(x, low.min(), high.max())
        elif self.mode == "group":
            low, high = self.ranges[layer.name]
            x = fake_quantize(groups, low[:, None], high[:, None]).reshape(x.shape)
        return x.astype("float32")


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else "fer2013"
    model, _ = load_model(resolve_model_path(name))
    calibration, verification, _ = protocol_faces(model)
    hook = GroupNormInputs()

    def predict(x):
        return np.concatenate([ops.convert_to_numpy(model(x[i:i + 50], training=False)) for i in range(0, len(x), 50)])

    reference = predict(verification)
    hook.mode = "record"
    predict(calibration)
    spread = sorted(((high - low).max() / max((high - low).min(), 1e-9), layer)
                    for layer, (low, high) in hook.ranges.items())[::-1]
    print("largest max/min group range ratios:", [(round(float(r), 1), layer) for r, layer in spread[:10]])
    for mode in ("tensor", "group"):
        hook.mode = mode
        p = predict(verification)
        print(f"{name} {mode}: agreement {(p.argmax(1) == reference.argmax(1)).mean():.3f}, "
              f"max probability difference {np.abs(p - reference).max():.4f}")


if __name__ == "__main__":
    main()
