"""A run's history.csv as the markdown epoch table of RESULTS.md: train accuracy, validation
accuracy and learning rate per epoch (1-based), the best validation epoch's number and score in bold.

    .venv/bin/python scripts/history_table.py runs/fer2013_long96/history.csv [--from 23]
"""

import argparse
import csv


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("history")
    parser.add_argument("--from", dest="first", type=int, default=1, help="first epoch (1-based) to show")
    args = parser.parse_args()
    with open(args.history, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise SystemExit(f"{args.history}: no epochs recorded")
    best = max(range(len(rows)), key=lambda i: float(rows[i]["val_accuracy"]))
    shown = range(args.first - 1, len(rows))

    def line(label, cell, bold=False):
        cells = [f"**{cell(i)}**" if bold and i == best else cell(i) for i in shown]
        return f"| {label} | " + " | ".join(cells) + " |"

    print(line("epoch", lambda i: str(i + 1), bold=True))
    print("|---" * (len(shown) + 1) + "|")
    print(line("train accuracy", lambda i: f"{float(rows[i]['accuracy']):.3f}"))
    print(line("validation (test/)", lambda i: f"{float(rows[i]['val_accuracy']):.3f}", bold=True))
    print(line("learning rate ×10⁻⁴", lambda i: f"{float(rows[i]['learning_rate']) * 1e4:.2f}"))


if __name__ == "__main__":
    main()
