"""`keras_fer train` under each memory allocator, one after another in one run (keras_fer.allocator):
glibc's malloc as the system starts it, glibc kept off mmap (the fallback), and tcmalloc where it
is installed. Each trains the same short run of the fer2013-reference recipe on a seeded sample of
FER2013 `train/`; the timed epochs (the first, with tracing, is left out) come from the run's own
schedule record, CPU and page-fault counts from the child's rusage.

    .venv/bin/python benchmarks/allocator.py [--limit 3200] [--epochs 3] [--rounds 1]
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile

from common import dataset_path  # also puts the repository on sys.path

from keras_fer.allocator import CHOICE, CHOSEN, allocator_environment, find_tcmalloc
from keras_fer.training import SCHEDULE_STATE


def environments():
    """{allocator: environment}; each carries CHOICE or CHOSEN, so `train` does not restart itself."""
    base = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "GLIBC_TUNABLES", CHOICE, CHOSEN)}
    found = {"glibc (system)": {**base, CHOICE: "system"}}
    tcmalloc = find_tcmalloc()
    for library in (None, tcmalloc) if tcmalloc else (None,):
        name, env = allocator_environment(base, library, "linux")
        found[name] = env
    return found


def train_once(env, args, folder):
    command = [sys.executable, "-m", "keras_fer", "train", "--recipe", "fer2013-reference", "--dataset",
               "fer2013", "--data", str(dataset_path("fer2013")), "--limit", str(args.limit), "--epochs",
               str(args.epochs), "--time-budget", "1e9", "--out", folder]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    epochs = json.load(open(os.path.join(folder, SCHEDULE_STATE)))["timed_epochs"]
    return {"epoch_s": statistics.median(epochs), "user_s": after.ru_utime - before.ru_utime,
            "sys_s": after.ru_stime - before.ru_stime, "faults_m": (after.ru_minflt - before.ru_minflt) / 1e6}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=3200, help="training faces (seeded sample)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs a run; all but the first are timed")
    parser.add_argument("--rounds", type=int, default=1, help="rounds over the allocators, interleaved")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            for index, (name, env) in enumerate(environments().items()):
                run = train_once(env, args, os.path.join(tmp, f"{round_}-{index}"))
                results.setdefault(name, []).append(run)
    print(f"fer2013-reference at 96 px, {args.limit} faces, epochs 2-{args.epochs} timed, "
          f"{args.rounds} round(s)")
    print(f"{'allocator':<22} {'s/epoch':>8} {'ratio':>6} {'user s':>7} {'sys s':>7} {'faults M':>9}")
    baseline = statistics.median(r["epoch_s"] for r in results["glibc (system)"])
    for name, runs in results.items():
        median = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        print(f"{name:<22} {median['epoch_s']:>8.1f} {baseline / median['epoch_s']:>5.2f}x "
              f"{median['user_s']:>7.0f} {median['sys_s']:>7.0f} {median['faults_m']:>9.1f}")


if __name__ == "__main__":
    main()
