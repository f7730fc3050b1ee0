"""Shared test helpers: backend, the real data sets (skip locally, fail under CI), small models."""

import os
import pathlib
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
