"""The layer and builder tests, fit's callbacks and explain's gradients, again on the other Keras
backends (one process each)."""

import os
import subprocess
import sys

import keras
import pytest

from conftest import ROOT, backend_available

PORTABLE_TESTS = ["tests/test_layers.py", "tests/test_models.py"]


# fit's own callbacks on JAX, whose trainer holds the weights outside the model during an epoch:
# the resume of the schedule and best model, the resume of the random streams (data order and seed
# generator states), and weight averaging (which scores the mean with predict_on_batch between
# epochs and must hand training its own weights back).
# (A renamed test fails the run: pytest exits 4 on a node id it cannot find.)
FIT_ON_JAX = [
    "tests/test_train.py::test_fit_resumes_the_plan_and_the_best_model_after_a_crash",
    "tests/test_train.py::test_resumed_run_trains_on_the_batches_an_uninterrupted_run_would",
    "tests/test_train.py::test_weight_average_is_the_mean_of_the_epochs_weights_across_a_resume",
]
# Grad-CAM (jax.grad through stateless_call) and the SimAM map of `explain`.
EXPLAIN_ON_JAX = [
    "tests/test_explain.py::test_gradcam_equals_the_gradient_worked_out_by_hand",
    "tests/test_explain.py::test_simam_map_is_the_layers_eq_6_7_weights",
]


@pytest.mark.parametrize("other", ["jax", "torch"])
def test_layers_builder_and_fit_on_backend(other):
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the backend matrix is driven from the TensorFlow run")
    if not backend_available(other):
        if other == "jax":
            pytest.fail("jax is a pinned dependency (requirements.txt) and must be installed")
        pytest.skip(f"{other} is not installed (optional backend)")
    env = {**os.environ, "KERAS_BACKEND": other}
    # All of test_layers.py (each layer against its equations, SE and BatchNorm included). Of
    # test_models.py: training of `improved` only (the layers the baseline adds are checked one by
    # one above) and mixed precision, but no output shapes or BatchNorm momentum (the builder's
    # arithmetic and bookkeeping, the same on every backend; training and mixed precision run the
    # model here), no agreement of the two dilated-convolution implementations (test_layers.py
    # compares each with Eq. 1 on this backend), no parameter counts or layer-type checks (224x224
    # models are slow to initialise on JAX), no architecture-config or registry tests (the builder's
    # bookkeeping): they add no backend code path and cost minutes on a CPU. One process for all of
    # it: a JAX start and its compilations are paid once.
    select = ("not output_shapes and (not every_variant_trains or improved)"
              " and not implementations_agree and not bn_momentum"
              " and not parameter_counts and not keras_applications and not smaller_than_the_baseline"
              " and not variant_structure and not switches_are_builder_arguments and not architecture_config"
              " and not architecture_option and not block_table and not registry_entry and not has_a_pinned")
    tests = PORTABLE_TESTS + (FIT_ON_JAX + EXPLAIN_ON_JAX if other == "jax" else [])
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", "-k", select, *tests],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary and "deselected" in summary, summary
