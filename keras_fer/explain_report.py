"""Files of `keras_fer explain`: per face a PNG (crop, Grad-CAM and SimAM overlays, top-3
probabilities) and the maps as `.npy` at their layers' resolution."""

import pathlib

import numpy as np

from keras_fer.explain import resize_map


def save_explanation(face, out_dir, stem, index):
    """Write `<stem>_face<index>.png`, `..._gradcam.npy` and (with SimAM) `..._simam.npy`;
    returns {"png": path, "gradcam": path, "simam": path or None}."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base = out_dir / f"{stem}_face{index}"
    paths = {"png": base.with_name(base.name + ".png"), "gradcam": base.with_name(base.name + "_gradcam.npy"),
             "simam": None}
    np.save(paths["gradcam"], face["gradcam"])
    if face["simam"] is not None:
        paths["simam"] = base.with_name(base.name + "_simam.npy")
        np.save(paths["simam"], face["simam"])
    explanation_figure(face, paths["png"])
    return paths


def explanation_figure(face, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    crop = np.asarray(face["crop"])
    side = max(96, crop.shape[0])  # small crops (48 px data set faces) are shown upscaled
    shown = resize_map(crop, side)
    panels = [("face", None), (f"Grad-CAM: {face['explained']}", face["gradcam"])]
    if face["simam"] is not None:
        panels.append(("SimAM attention", face["simam"]))
    figure, axes = plt.subplots(1, len(panels) + 1, figsize=(2.4 * (len(panels) + 1) + 0.6, 2.6))
    for axis, (title, heat) in zip(axes, panels):
        axis.imshow(shown, cmap="gray", vmin=0, vmax=255)
        if heat is not None:
            spread = np.ptp(heat)  # SimAM weights lie in [0.62, 1]: stretch their range to be seen
            scaled = (heat - heat.min()) / spread if spread > 0 else np.zeros_like(heat)
            axis.imshow(resize_map(scaled, side), cmap="jet", alpha=0.45, vmin=0, vmax=1)
        axis.set_title(title, fontsize=9)
        axis.axis("off")
    top = sorted(face["emotions"].items(), key=lambda item: -item[1])[:3]
    bars = axes[-1]
    bars.barh([name for name, _ in top][::-1], [p for _, p in top][::-1], color="tab:blue")
    bars.set_xlim(0, 1)
    bars.set_title("top 3", fontsize=9)
    bars.tick_params(labelsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
