"""The paper's experiments on top of `training.fit`: the ablation (Table 4: accuracy of the five
variants after given epochs) and repeated runs (Table 3: mean +- std of the final accuracy).

Both write one sub-directory per run and a `summary.json` when a run finishes; started again with
the same output directory they skip finished runs and resume an interrupted one (BackupAndRestore).
"""

import json
import pathlib

import numpy as np

import keras_fer
from keras_fer.model_io import read_record
from keras_fer.models.variants import variant_names
from keras_fer.training import fit

TABLE4_EPOCHS = (1, 2, 3, 4, 5, 10, 20, 30)


def run_once(name, builder_arguments, train, val, recipe, out_dir, input_size, seed, fit_options):
    """One training run, or its stored summary when it already finished."""
    summary_path = pathlib.Path(out_dir) / "summary.json"
    if summary_path.is_file():
        return read_record(summary_path, "delete it to train this run again")
    network = keras_fer.build_variant(name, input_size=input_size, classes=len(train.class_names),
                                      **builder_arguments)
    history = fit(network, train, val, recipe, out_dir, seed=seed, **fit_options)
    summary = {"model": name, "builder": builder_arguments, "seed": seed,
               "val_accuracy": [float(v) for v in history.history["val_accuracy"]],
               "accuracy": [float(v) for v in history.history["accuracy"]]}
    summary_path.write_text(json.dumps(summary, indent=2))
    return summary


def ablation(train, val, recipe, out_dir, *, variants=None, input_size=224, seed=0, epochs=None,
             fit_options=None):
    """Train each variant under one recipe; returns {variant: summary} and writes
    ablation.json, ablation.md (accuracy % after each of `epochs`) and ablation.png."""
    out_dir = pathlib.Path(out_dir)
    variants = list(variants or variant_names())
    results = {
        name: run_once(name, {}, train, val, recipe, out_dir / name, input_size, seed, fit_options or {})
        for name in variants
    }
    epochs = [e for e in (epochs or TABLE4_EPOCHS) if e <= recipe.epochs] or [recipe.epochs]
    lines = ["| epochs | " + " | ".join(str(e) for e in epochs) + " |", "|---|" + "---|" * len(epochs)]
    for name, summary in results.items():
        accuracy = summary["val_accuracy"]
        cells = [f"{100 * accuracy[e - 1]:.1f}" if e <= len(accuracy) else "–" for e in epochs]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    (out_dir / "ablation.md").write_text(table + "\n")
    (out_dir / "ablation.json").write_text(json.dumps(results, indent=2))
    _plot_curves(results, out_dir / "ablation.png")
    return results, table


def repeat(name, train, val, recipe, out_dir, *, runs=5, input_size=224, seed=0, builder_arguments=None,
           fit_options=None):
    """`runs` trainings with seeds seed, seed+1, ...; mean +- std (sample) of the final and best
    validation accuracy, written to repeat.json and repeat.md."""
    out_dir = pathlib.Path(out_dir)
    summaries = [
        run_once(name, builder_arguments or {}, train, val, recipe, out_dir / f"run{i}", input_size, seed + i,
             fit_options or {})
        for i in range(runs)
    ]
    final = np.array([s["val_accuracy"][-1] for s in summaries]) * 100
    best = np.array([max(s["val_accuracy"]) for s in summaries]) * 100
    ddof = 1 if runs > 1 else 0
    result = {"model": name, "runs": runs, "final": final.round(2).tolist(), "best": best.round(2).tolist(),
              "final_mean": float(final.mean()), "final_std": float(final.std(ddof=ddof)),
              "best_mean": float(best.mean()), "best_std": float(best.std(ddof=ddof))}
    table = (f"| model | runs | final accuracy (%) | best accuracy (%) |\n|---|---|---|---|\n"
             f"| {name} | {runs} | {result['final_mean']:.2f} ± {result['final_std']:.2f} | "
             f"{result['best_mean']:.2f} ± {result['best_std']:.2f} |")
    (out_dir / "repeat.json").write_text(json.dumps(result, indent=2))
    (out_dir / "repeat.md").write_text(table + "\n")
    return result, table


def _plot_curves(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    for name, summary in results.items():
        accuracy = summary["val_accuracy"]
        axes.plot(range(1, len(accuracy) + 1), [100 * a for a in accuracy], marker="o", label=name)
    axes.set_xlabel("epoch")
    axes.set_ylabel("validation accuracy (%)")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
