"""`keras_fer info`, and the command line as a process (`python -m keras_fer`)."""

import json
import subprocess
import sys

import pytest

from conftest import run_cli
from test_models import PARAMS_224_7


def in_a_process(*args):
    return subprocess.run([sys.executable, "-m", "keras_fer", *args], capture_output=True, text=True,
                          timeout=300)


# One of these runs as its own process (exit status and output through `python -m keras_fer`); the
# other tests call the same `main` in-process (conftest.run_cli), without a TensorFlow start each.
@pytest.mark.parametrize("name, cli", [("improved", in_a_process), ("mobilenetv3_large", run_cli)])
def test_info_json(name, cli):
    result = cli("info", "--model", name, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["model"] == name
    assert report["params"] == PARAMS_224_7[name]
    assert report["input_shape"] == [224, 224, 3] and report["classes"] == 7
    assert len(report["blocks"]) == 1 + 15 + 4
    # Table 1 for this network: 2C^2/r over the 8 attention blocks (C = 72, 120, 120, 480, 672,
    # 672, 960, 960), r = 4.
    expected = sum(2 * c * c // 4 for c in (72, 120, 120, 480, 672, 672, 960, 960))
    assert report["attention_cost"]["se_params_2c2_over_r"] == expected


def test_info_table_follows_input_size_and_classes():
    result = run_cli("info", "--model", "improved", "--input-size", "96", "--classes", "8")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("improved: 2,736,488 parameters")
    table = [line.split() for line in lines[3:23]]
    assert table[0][0] == "96x96x3" and table[-1][0] == "1x1x1280"
    assert [row[0] for row in table[13:15]] == ["6x6x112", "3x3x160"]  # block 13 has stride 2
    assert "SimAM costs 0" in result.stdout


def test_info_rejects_unknown_model():
    result = run_cli("info", "--model", "resnet50")
    assert result.returncode == 2
    assert "invalid choice: 'resnet50'" in result.stderr


def test_info_switches_override_the_variant():
    # The baseline with the paper's attention and norm has first_conv's weights (dilation adds none).
    result = run_cli("info", "--model", "mobilenetv3_large", "--attention", "simam", "--norm", "group",
                           "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["params"] == PARAMS_224_7["first_conv"]
    assert report["architecture"]["attention"] == "simam" and report["architecture"]["stem_dilation"] == 1
    assert {row["attention"] for row in report["blocks"]} == {"SimAM", "-"}
