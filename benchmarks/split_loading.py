"""Reading one split (`load_dataset(..., split=...)`, what `keras_fer evaluate` does) beside reading
the whole data set, measured side by side in one run.

    .venv/bin/python benchmarks/split_loading.py [--repeats 2]

For FER2013's test/ (3,589 faces; train/ holds 28,709) and FER+'s FER2013Valid (3,191; train
25,045): seconds for the whole data set and for the one split, alternated, best of `--repeats`,
and their ratio.
"""

import argparse
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from keras_fer.data import load_dataset  # noqa: E402

DATASETS = pathlib.Path(__file__).resolve().parents[2] / "shared" / "datasets"
CASES = [("fer2013", "test"), ("ferplus", "valid")]


def seconds(kind, split):
    start = time.perf_counter()
    load_dataset(kind, DATASETS / kind, split=split)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    print("| data set | split | whole data set s | one split s | ratio |")
    print("|---|---|---|---|---|")
    for kind, split in CASES:
        whole, one = [], []
        for _ in range(args.repeats):  # alternated, so a noisy neighbour slows both alike
            whole.append(seconds(kind, None))
            one.append(seconds(kind, split))
        print(f"| {kind} | {split} | {min(whole):.2f} | {min(one):.2f} | {min(whole) / min(one):.1f}x |",
              flush=True)


if __name__ == "__main__":
    main()
