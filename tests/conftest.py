"""Shared test helpers: backend, the real data sets (skip locally, fail under CI), small models."""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

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


def run_cli(*args, timeout=600):
    """`python -m keras_fer ARGS` in a fresh interpreter; the CompletedProcess (text)."""
    return subprocess.run([sys.executable, "-m", "keras_fer", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


def pretrained_file(name="fer2013"):
    """A shipped pretrained model; it is part of the package, so a missing file is a failure."""
    from keras_fer import zoo

    path = zoo.FOLDER / zoo.PRETRAINED[name]
    assert path.is_file(), f"pretrained model {name!r} missing from the package: {path}"
    return path


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

    return load_dataset("fer2013", dataset_path("fer2013"))["test"]
