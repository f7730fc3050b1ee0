"""Evaluation as the paper reports it: accuracy, per-class precision / recall / F1, and the
row-normalised confusion matrix (true classes in rows, predictions in columns)."""

import json
import pathlib

import numpy as np

from keras_fer.data import load_dataset


def match_classes(data, model_classes):
    """`data` with labels re-indexed to the model's class order, matched by name."""
    model_classes = tuple(model_classes)
    if data.class_names == model_classes:
        return data
    unknown = [c for c in data.class_names if c not in model_classes]
    if unknown:
        raise ValueError(
            f"the data's classes {unknown} are not among the model's {list(model_classes)}; "
            "classes are matched by name"
        )
    return data.relabel(model_classes)


def load_split_for_model(metadata, dataset, path, split, **options):
    """A split of a data set preprocessed and labelled as a model expects, from its metadata:
    histogram-equalized as in training, labels in the model's class order (matched by name)."""
    preprocessing = metadata.get("preprocessing", {})
    splits = load_dataset(dataset, path, equalize=preprocessing.get("equalize", True), split=split, **options)
    if split not in splits:
        raise ValueError(f"{path}: no split {split!r} (found: {', '.join(splits)})")
    return match_classes(splits[split], metadata.get("class_names") or splits[split].class_names)


def classification_report(true, predicted, class_names):
    """Dict with accuracy, per_class (precision, recall, f1, support), confusion matrices, n."""
    true, predicted = np.asarray(true), np.asarray(predicted)
    k = len(class_names)
    counts = np.zeros((k, k), np.int64)
    np.add.at(counts, (true, predicted), 1)
    support = counts.sum(axis=1)
    predicted_total = counts.sum(axis=0)
    diagonal = np.diag(counts).astype(np.float64)
    precision = np.divide(diagonal, predicted_total, out=np.zeros(k), where=predicted_total > 0)
    recall = np.divide(diagonal, support, out=np.zeros(k), where=support > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(k), where=precision + recall > 0)
    normalised = np.divide(counts, support[:, None], out=np.zeros((k, k)), where=support[:, None] > 0)
    return {
        "n": int(len(true)),
        "accuracy": float(diagonal.sum() / max(1, len(true))),
        "classes": list(class_names),
        "per_class": {
            name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                   "support": int(support[i])}
            for i, name in enumerate(class_names)
        },
        "confusion_matrix": normalised.round(6).tolist(),
        "confusion_counts": counts.tolist(),
    }


def format_confusion(report):
    """The row-normalised matrix in the paper's layout: true rows, predicted columns, 2 decimals."""
    names = report["classes"]
    width = max(8, *(len(n) for n in names)) + 1
    lines = ["true \\ predicted".ljust(width) + "".join(n[:width - 1].rjust(width) for n in names)]
    for name, row in zip(names, report["confusion_matrix"]):
        lines.append(name.ljust(width) + "".join(f"{v:.2f}".rjust(width) for v in row))
    return "\n".join(lines)


def format_report(report):
    lines = [f"accuracy {report['accuracy'] * 100:.2f} % on {report['n']} images", ""]
    lines.append(f"{'class':<12}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for name, m in report["per_class"].items():
        lines.append(f"{name:<12}{m['precision']:>10.4f}{m['recall']:>10.4f}{m['f1']:>10.4f}{m['support']:>9}")
    return "\n".join(lines + ["", format_confusion(report)])


def save_report(report, out_dir, title=""):
    """confusion_matrix.csv, report.json and confusion_matrix.png in `out_dir`."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = report["classes"]
    rows = [",".join(["true\\predicted", *names])]
    rows += [",".join([name, *(f"{v:.4f}" for v in row)]) for name, row in zip(names, report["confusion_matrix"])]
    (out_dir / "confusion_matrix.csv").write_text("\n".join(rows) + "\n")
    (out_dir / "report.json").write_text(json.dumps(report, indent=2))
    plot_confusion(report, out_dir / "confusion_matrix.png", title)


def plot_confusion(report, path, title=""):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names, matrix = report["classes"], np.array(report["confusion_matrix"])
    figure, axes = plt.subplots(figsize=(1.0 + 0.8 * len(names), 0.8 + 0.7 * len(names)))
    image = axes.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(len(names)), names, rotation=45, ha="right")
    axes.set_yticks(range(len(names)), names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    for i in range(len(names)):
        for j in range(len(names)):
            axes.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center",
                      color="white" if matrix[i, j] > 0.5 else "black", fontsize=8)
    axes.set_title(title or f"accuracy {report['accuracy'] * 100:.2f} %")
    figure.colorbar(image, ax=axes, fraction=0.046)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def plot_history(history_csv, path):
    """Loss and accuracy per epoch (train and validation), like the paper's Fig. 4."""
    import csv

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(csv.DictReader(open(history_csv)))
    if not rows:
        return
    epochs = [int(r["epoch"]) + 1 for r in rows]
    figure, (loss, accuracy) = plt.subplots(1, 2, figsize=(10, 4))
    for axes, key in ((loss, "loss"), (accuracy, "accuracy")):
        for prefix, label in (("", "train"), ("val_", "validation")):
            if prefix + key in rows[0]:
                axes.plot(epochs, [float(r[prefix + key]) for r in rows], marker="o", label=label)
        if key == "accuracy" and "val_accuracy_averaged" in rows[0]:  # weight averaging's; NaN before it starts
            axes.plot(epochs, [float(r["val_accuracy_averaged"]) for r in rows], marker="s",
                      label="validation, weights averaged")
        axes.set_xlabel("epoch")
        axes.set_ylabel(key)
        axes.grid(alpha=0.3)
        axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
