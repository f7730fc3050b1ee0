"""Where does int8 lose agreement? A Keras emulation of TFLite's int8 activation rounding (uint8,
per tensor, min/max over calibration faces) on the inputs of the GroupNorm layers only, and the
same with one range per group (what equalizing the groups' scales could at best give: GroupNorm
is invariant to them). Faces as `benchmarks/tflite_agreement.py`.

    .venv/bin/python benchmarks/int8_group_norm_emulation.py [fer2013|ferplus]    # ~1.5 min
"""

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

from keras_fer import zoo  # noqa: E402
from keras_fer.data import load_dataset  # noqa: E402
from keras_fer.data.pipeline import to_model_input  # noqa: E402
from keras_fer.layers import GroupNormalization  # noqa: E402
from keras_fer.model_io import load_model  # noqa: E402

name = sys.argv[1] if len(sys.argv) > 1 else "fer2013"
model, _ = load_model(zoo.FOLDER / zoo.PRETRAINED[name])
faces = load_dataset("fer2013", ROOT.parent / "shared" / "datasets" / "fer2013")["test"]
order = np.random.default_rng(0).permutation(len(faces))
size = model.input_shape[1]
cal = to_model_input(faces.images[order[:500]], size, 3)
ver = to_model_input(faces.images[order[500:1000]], size, 3)

orig = GroupNormalization.call
state = {"mode": "off", "ranges": {}}

def fq(x, lo, hi):
    lo = np.minimum(lo, 0.0); hi = np.maximum(hi, 0.0)
    scale = (hi - lo) / 255.0
    zp = np.round(-lo / scale)
    q = np.clip(np.round(x / scale) + zp, 0, 255)
    return (q - zp) * scale

def patched(self, inputs):
    x = ops.convert_to_numpy(inputs)
    mode = state["mode"]
    if mode == "record":
        per_group = x.reshape(x.shape[0], -1, self.groups, x.shape[-1] // self.groups)
        lo, hi = state["ranges"].get(self.name, (np.inf * np.ones(self.groups), -np.inf * np.ones(self.groups)))
        state["ranges"][self.name] = (np.minimum(lo, per_group.min(axis=(0, 1, 3))), np.maximum(hi, per_group.max(axis=(0, 1, 3))))
    elif mode == "tensor":
        lo, hi = state["ranges"][self.name]
        x = fq(x, lo.min(), hi.max())
    elif mode == "group":
        lo, hi = state["ranges"][self.name]
        g = x.reshape(*x.shape[:-1], self.groups, -1)
        x = fq(g, lo[:, None], hi[:, None]).reshape(x.shape)
    return orig(self, ops.convert_to_tensor(x.astype("float32")))

GroupNormalization.call = patched

def predict(x):
    return np.concatenate([ops.convert_to_numpy(model(x[i:i + 50], training=False)) for i in range(0, len(x), 50)])

state["mode"] = "off"; ref = predict(ver)
state["mode"] = "record"; predict(cal)
spread = []
for n, (lo, hi) in state["ranges"].items():
    r = hi - lo
    spread.append((r.max() / max(r.min(), 1e-9), n))
spread.sort(reverse=True)
print("largest max/min group range ratios:", [(round(a, 1), n) for a, n in spread[:10]])
for mode in ("tensor", "group"):
    state["mode"] = mode
    p = predict(ver)
    print(name, mode, "agreement", (p.argmax(1) == ref.argmax(1)).mean(), "maxdiff", np.abs(p - ref).max())
