"""The layer and builder tests again on the other Keras backends, each in its own interpreter."""

import os
import subprocess
import sys

import keras
import pytest

from conftest import ROOT, backend_available

PORTABLE_TESTS = ["tests/test_layers.py", "tests/test_models.py"]


@pytest.mark.parametrize("other", ["jax", "torch"])
def test_layers_and_builder_on_backend(other):
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the backend matrix is driven from the TensorFlow run")
    if not backend_available(other):
        if other == "jax":
            pytest.fail("jax is a pinned dependency (requirements.txt) and must be installed")
        pytest.skip(f"{other} is not installed (optional backend)")
    env = {**os.environ, "KERAS_BACKEND": other}
    # Every test of both files, but output shapes at 48 only, training only for the two variants
    # that between them hold every layer type (the baseline: SE + BatchNorm; improved: the rest),
    # and no parameter counts or layer-type checks (the builder's arithmetic and structure, the same
    # on every backend; 224x224 models are slow to initialise on JAX), no architecture-config or
    # registry tests (the builder's bookkeeping; every layer they build is checked by the layer
    # helpers and the two variants): the rest add no backend code path and cost minutes on a CPU.
    select = ("(not output_shapes or 48) and (not every_variant_trains or improved or mobilenetv3_large)"
              " and not parameter_counts and not keras_applications and not smaller_than_the_baseline"
              " and not variant_structure and not switches_are_builder_arguments and not architecture_config"
              " and not architecture_option and not block_table and not registry_entry and not has_a_pinned")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", "-k", select, *PORTABLE_TESTS],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout.splitlines()[-1]


def test_fit_callbacks_on_jax():
    """fit's own callbacks on JAX, whose trainer holds the weights outside the model during an epoch:
    the resume of the schedule and best model, the resume of the random streams (data order and seed
    generator states), and weight averaging (which scores the mean with
    predict_on_batch between epochs and must hand training its own weights back)."""
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the backend matrix is driven from the TensorFlow run")
    if not backend_available("jax"):
        pytest.fail("jax is a pinned dependency (requirements.txt) and must be installed")
    select = ("weight_average_is_the_mean or resumes_the_plan_and_the_best_model"
              " or trains_on_the_batches_an_uninterrupted_run_would")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", "-k", select, "tests/test_train.py"],
        cwd=ROOT, env={**os.environ, "KERAS_BACKEND": "jax"}, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "3 passed" in result.stdout
