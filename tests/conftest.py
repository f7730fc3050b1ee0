"""Shared test helpers: backend, the real data sets (skip locally, fail under CI), small models."""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _share_the_cores_between_workers():
    """Thread pools sized to a worker's share of the cores: with pytest-xdist's one worker per
    core, each worker's default pools (one thread per core) would oversubscribe the machine
    (measured: 17 % longer on 2 cores). Set before TensorFlow starts; the TensorFlow and JAX
    processes the tests start inherit it."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        threads = str(max(1, (os.cpu_count() or 1) // workers))
        for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
            os.environ.setdefault(name, threads)
        if threads == "1":  # XLA's CPU flags for JAX: one thread for the Eigen kernels
            os.environ.setdefault("XLA_FLAGS",
                                  "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")


_share_the_cores_between_workers()

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATASETS = pathlib.Path(os.environ.get("KERAS_FER_DATASETS", ROOT.parent / "shared" / "datasets"))


def dataset_path(name):
    """Path of a real data set under ../shared/datasets; skip where absent, fail under CI=true."""
    path = DATASETS / name
    if not path.is_dir():
        reason = f"real data set {name!r} not found at {path} (set KERAS_FER_DATASETS)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; under CI real-data tests must not be skipped")
        pytest.skip(reason)
    return path


def run_python(code, backend=None, timeout=600, cwd=None):
    """Run `code` in a fresh interpreter (optionally on another Keras backend); return stdout."""
    env = dict(os.environ)
    if backend:
        env["KERAS_BACKEND"] = backend
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=timeout, cwd=cwd
    )
    assert result.returncode == 0, f"subprocess failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def backend_available(name):
    import importlib.util

    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[name]
    return importlib.util.find_spec(module) is not None


def run_cli(*args):
    """`keras_fer ARGS` run in this process through `keras_fer.cli.main.main`, the function the
    console script and `python -m keras_fer` call; a CompletedProcess with its exit status and
    the text it printed. In-process saves an interpreter and a TensorFlow import per call (about
    5 s on 2 cores, ~40 calls); test_cli.py, test_readme.py and the killed-run test still start
    real processes."""
    import contextlib
    import io

    from keras_fer.cli.main import main

    argv = [str(arg) for arg in args]
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = main(argv)
        except SystemExit as exit:  # argparse: 2 for a usage error, None (0) after --help
            code = 0 if exit.code is None else exit.code
    return subprocess.CompletedProcess(["keras_fer", *argv], code, stdout.getvalue(), stderr.getvalue())


def simam_weights_reference(x, lam=1e-4):
    """SimAM's weights sigmoid(1 / e*) of Eq. 6-7 (Yang et al. 2021), per sample and channel, by
    NumPy loops in float64: x (N, H, W, C) -> (N, H, W, C)."""
    import numpy as np

    weights = np.empty(x.shape, np.float64)
    n_batch, height, width, channels = x.shape
    for b in range(n_batch):
        for c in range(channels):
            plane = x[b, :, :, c].astype(np.float64)
            d = (plane - plane.mean()) ** 2
            e_inv = d / (4 * (d.sum() / max(height * width - 1, 1) + lam)) + 0.5
            weights[b, :, :, c] = 1 / (1 + np.exp(-e_inv))
    return weights


def pretrained_file(name="fer2013"):
    """A shipped pretrained model; it is part of the package, so a missing file is a failure."""
    from keras_fer import zoo

    path = zoo.MODELS[name].path()
    assert path.is_file(), f"pretrained model {name!r} missing from the package: {path}"
    return path


def ferplus_sample(root, rows):
    """A FER+ folder at `root` holding the first `rows[folder]` rows of each folder's label.csv
    (e.g. {"FER2013Train": 60}), their real PNGs linked: read in a moment, where FER+'s train and valid
    folders take 3.5 s. Returns root."""
    real = dataset_path("ferplus")
    for folder, count in rows.items():
        (root / folder).mkdir(parents=True)
        lines = (real / folder / "label.csv").read_text().splitlines()[:count]
        (root / folder / "label.csv").write_text("\n".join(lines) + "\n")
        for line in lines:
            name = line.split(",")[0]
            (root / folder / name).symlink_to(real / folder / name)
    return root


def copy_face_folder(root, per_class):
    """The first `per_class` real FER2013 test faces of each class, copied into a class-per-folder
    tree at `root` (the `folder` data set layout); returns root."""
    source = dataset_path("fer2013") / "test"
    for class_folder in sorted(source.iterdir()):
        (root / class_folder.name).mkdir(parents=True)
        for f in sorted(class_folder.iterdir())[:per_class]:
            shutil.copy(f, root / class_folder.name / f.name)
    return root


@pytest.fixture(scope="session")
def fer2013_test_faces():
    """FER2013's test/ split (PublicTest, 3,589 real faces), equalized as the models expect."""
    from keras_fer.data import load_dataset

    return load_dataset("fer2013", dataset_path("fer2013"), split="test")["test"]


# The files that take minutes run first. With one worker per core and whole files per worker
# (setup.cfg), a long file collected last (test_train.py is near the end of the alphabet) would
# keep one core busy for minutes after the other has run out of work.
SLOW_FILES_FIRST = ("test_train.py", "test_convert.py", "test_backends.py", "test_pretrained.py")


def pytest_collection_modifyitems(items):
    def rank(item):
        name = item.path.name
        return SLOW_FILES_FIRST.index(name) if name in SLOW_FILES_FIRST else len(SLOW_FILES_FIRST)

    items.sort(key=rank)  # stable: the order within a file, and of the other files, is kept
