"""TFLite conversion of the trained `improved` network in four modes, checked with LiteRT on real
FER2013 faces; the sidecar files; `.keras` vs `.tflite` evaluation; the reference client."""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, copy_face_folder, dataset_path, ferplus_sample, pretrained_file, run_cli
from keras_fer.convert import QUANTIZE_MODES, agreement_protocol, check, convert, required_agreement, verify
from keras_fer.data.pipeline import to_model_input
from keras_fer.litert import TFLiteModel
from keras_fer.model_io import load_model

SAMPLES = 500
# none and float16 must reach the TFLite issue's thresholds on the shipped fer2013 model (measured
# on these faces: 100 / 100 %). Its dynamic file reaches 99.0 %, exactly the threshold, and int8
# (the command's file, calibrated on 500 train faces) does not: 89.8 % < 97 % (BENCHMARKS.md; the
# model has many near-tie predictions, and rounding spread over the whole network flips them; on
# these faces the dynamic file is 0.6 points and int8 0.8 under Keras' 63.8 %). Pinned with a
# margin for the 500-face sample (a rounding difference on another CPU flips a near-tie), so they
# cannot get worse unseen.
AGREEMENT_MEASURED = {"dynamic": 0.990, "int8": 0.898}
AGREEMENT_MARGIN = {"dynamic": 0.008, "int8": 0.03}


@pytest.fixture(scope="module")
def model():
    return load_model(pretrained_file("fer2013"))


@pytest.fixture(scope="module")
def real_inputs(model, fer2013_test_faces):
    """Calibration and verification faces: disjoint seeded samples of FER2013's test/ folder."""
    return agreement_protocol(fer2013_test_faces, model[0].input_shape, SAMPLES)


@pytest.fixture(scope="module")
def int8_command(tmp_path_factory):
    """`keras_fer convert fer2013 --quantize int8 --calibration-data DATA` run with its defaults in an
    empty folder: (the folder, the completed command). int8 is the slowest conversion; the tests of
    every mode use this file too."""
    folder = tmp_path_factory.mktemp("int8_command")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)  # the default --out: NAME_int8/NAME_int8.tflite in the current folder
        result = run_cli("convert", "fer2013", "--quantize", "int8",
                         "--calibration-data", dataset_path("fer2013"))
    assert result.returncode == 0, result.stderr[-3000:]
    return folder, result


@pytest.fixture(scope="module")
def float16_command(tmp_path_factory):
    """`keras_fer convert FILE --out android/fer.tflite --quantize float16` verified on 100 real
    faces of a small FER2013-layout folder (float16 needs no calibration; the whole data set would
    take 5 s to read): (the .tflite path, the completed command)."""
    folder = tmp_path_factory.mktemp("float16_command")
    faces = folder / "fer2013"
    copy_face_folder(faces / "train", 2)
    copy_face_folder(faces / "test", 20)
    out = folder / "android" / "fer.tflite"
    result = run_cli("convert", pretrained_file("fer2013"), "--out", out, "--quantize", "float16",
                     "--calibration-data", faces, "--samples", 100)
    assert result.returncode == 0, result.stderr
    return out, result


@pytest.fixture(scope="module")
def converted(model, int8_command, float16_command, tmp_path_factory):
    """A file per mode: none and dynamic converted here, float16 and int8 by the commands."""
    folder = tmp_path_factory.mktemp("tflite")
    files = {mode: convert(model[0], folder / f"{mode}.tflite", mode) for mode in ("none", "dynamic")}
    int8 = int8_command[0] / "fer2013_int8" / "fer2013_int8.tflite"
    return {**files, "float16": float16_command[0], "int8": int8}


@pytest.mark.parametrize("mode", QUANTIZE_MODES)
def test_every_mode_agrees_with_keras_on_real_faces(mode, model, real_inputs, converted):
    network, _ = model
    tflite = TFLiteModel(converted[mode])
    result = verify(network, tflite, real_inputs[1], real_inputs[2])
    assert result["nonfinite"] == 0  # the NaN-output failure of a probe conversion
    assert result["batch_vs_single_max_difference"] < 0.05  # the dynamic-batch failure
    min_agreement = AGREEMENT_MEASURED[mode] - AGREEMENT_MARGIN[mode] if mode in AGREEMENT_MEASURED else None
    assert result["agreement"] >= required_agreement(mode, min_agreement), result
    # The command's own check passes too. int8 is gated on its accuracy drop, measured on every
    # verification face by the command (test_int8_command_passes_on_its_accuracy_drop); on these
    # 500 faces the drop is 0.8 points, and sampling spreads it by more than 1: 3.5 is allowed here.
    check(result, mode, converted[mode], min_agreement, max_accuracy_drop=3.5 if mode == "int8" else None)
    # measured: none 0, float16 0, dynamic 0.6, int8 0.8 (calibrated on test faces: 1.8)
    assert abs(result["tflite_accuracy"] - result["keras_accuracy"]) <= (0.035 if mode == "int8" else 0.01), result
    assert not any(name.startswith("Flex") for name in tflite.op_names())  # stock LiteRT runs it
    # Float files carry the GroupNorm layer's own formulation (1.4-1.7x faster in LiteRT), int8
    # Keras' (it quantizes better); Keras' -mean * inv is the network's only NEG.
    assert ("NEG" in tflite.op_names()) == (mode == "int8"), sorted(tflite.op_names())
    if mode == "int8":
        assert tflite.input_dtype == np.uint8 and tflite.input_quantization == (1.0, 0)  # raw pixels
        assert tflite.output_dtype == np.uint8
    else:
        assert tflite.input_dtype == np.float32


def test_file_sizes_shrink_with_quantization(converted):
    size = {mode: path.stat().st_size for mode, path in converted.items()}
    assert size["float16"] < 0.55 * size["none"]
    assert size["dynamic"] < 0.32 * size["none"]
    assert size["int8"] < 0.32 * size["none"]


def test_failed_verification_is_reported_and_never_ships(model, real_inputs):
    bad = {"n": 5, "nonfinite": 3, "agreement": 0.5, "max_probability_difference": 1.0,
           "batch_vs_single_max_difference": 0.0, "keras_accuracy": 0.6, "tflite_accuracy": 0.4}
    with pytest.raises(ValueError, match=r"x\.tflite: int8 conversion failed verification on 5 real "
                                         r"images: 3 NaN/Inf outputs; accuracy 20\.00 points under Keras'"):
        check(bad, "int8", pathlib.Path("x.tflite"))
    with pytest.raises(ValueError, match=r"dynamic conversion .* top-1 agreement with Keras 50\.00% < 99\.0%"):
        check(dict(bad, nonfinite=0), "dynamic", pathlib.Path("x.tflite"))


@pytest.mark.parametrize("tflite_accuracy, passes", [(0.5910, True), (0.5900, True), (0.5890, False)])
def test_int8_is_gated_on_its_accuracy_drop_not_on_agreement(tflite_accuracy, passes):
    """int8 passes with a drop of at most 1 point (whatever its agreement), fails above it;
    --max-accuracy-drop and --min-agreement set other bars."""
    result = {"n": 3589, "nonfinite": 0, "agreement": 0.85, "max_probability_difference": 0.5,
              "batch_vs_single_max_difference": 0.0, "keras_accuracy": 0.6000, "tflite_accuracy": tflite_accuracy}
    if passes:
        check(result, "int8", pathlib.Path("x.tflite"))
    else:
        with pytest.raises(ValueError, match=r"accuracy 1\.10 points under Keras' \(58\.90% vs 60\.00%\) > 1"):
            check(result, "int8", pathlib.Path("x.tflite"))
    check(result, "int8", pathlib.Path("x.tflite"), max_accuracy_drop=1.2)
    with pytest.raises(ValueError, match="accuracy .* > 0.5"):
        check(result, "int8", pathlib.Path("x.tflite"), max_accuracy_drop=0.5)
    with pytest.raises(ValueError, match="top-1 agreement with Keras 85.00% < 90.0%"):
        check(result, "int8", pathlib.Path("x.tflite"), min_agreement=0.9, max_accuracy_drop=2)


# What `keras_fer convert fer2013 --quantize int8 --calibration-data DATA/fer2013` measures with its
# defaults (500 train faces calibrate; every face of the test split verifies): (accuracy drop in
# points, top-1 agreement, verification faces). Pinned to +-0.3 points and +-2 % agreement
# (another CPU's rounding flips a few near-ties). The command takes ~2 min per model on 2 shared
# cores, so only fer2013's runs here; `ferplus` measured 0.72 points, 95.80 % on 3,191 faces
# (tflite/README.md).
INT8_COMMAND_MEASURED = (0.70, 0.9042, 3589)


def test_int8_command_passes_on_its_accuracy_drop(int8_command):
    drop, agreement, n = INT8_COMMAND_MEASURED
    folder, result = int8_command
    sidecar = json.loads((folder / "fer2013_int8" / "fer2013_int8.tflite.json").read_text())
    verification = sidecar["verification"]
    assert verification["n"] == n and verification["nonfinite"] == 0
    measured = 100 * (verification["keras_accuracy"] - verification["tflite_accuracy"])
    assert measured == pytest.approx(drop, abs=0.3) and measured <= 1.0, verification
    assert verification["agreement"] == pytest.approx(agreement, abs=0.02), verification
    assert f"a drop of {measured:.2f} points (at most 1 allowed)" in result.stdout


def test_convert_default_out_is_a_folder_per_model_and_mode():
    """Without --out: NAME_MODE/NAME_MODE.tflite, so labels.txt of two models never meet
    (test_int8_command_passes_on_its_accuracy_drop runs the command that writes there)."""
    from keras_fer.cli.convert import default_out

    assert default_out("fer2013", "int8") == pathlib.Path("fer2013_int8/fer2013_int8.tflite")
    assert default_out(pathlib.Path("runs/a/best.keras"), "dynamic") == pathlib.Path("best_dynamic/best_dynamic.tflite")
    assert default_out("ferplus", "int8").parent != default_out("fer2013", "int8").parent


def test_convert_command_writes_what_an_app_needs_and_evaluate_agrees(tmp_path, model, float16_command):
    network, metadata = model
    out, result = float16_command
    assert "top-1 agreement" in result.stdout
    assert (out.parent / "labels.txt").read_text().split("\n")[:-1] == metadata["class_names"]
    description = json.loads((out.parent / "fer.tflite.json").read_text())
    assert description["class_names"] == metadata["class_names"]
    assert description["input"]["shape"] == [1, network.input_shape[1], network.input_shape[1], 3]
    assert description["input"]["dtype"] == "float32" and description["quantize"] == "float16"
    assert description["preprocessing"]["equalize"] is True
    assert description["verification"]["n"] == 100

    folder = copy_face_folder(tmp_path / "faces", 15)  # a folder-layout sample, evaluated both ways
    reports = {}
    for path in (pretrained_file("fer2013"), out):
        result = run_cli("evaluate", path, "--dataset", "folder", "--data", folder, "--split", "all",
                         "--json", "--out", tmp_path / path.suffix)
        assert result.returncode == 0, result.stderr
        reports[path.suffix] = json.loads(result.stdout)
    assert reports[".tflite"]["n"] == reports[".keras"]["n"] == 7 * 15
    assert reports[".tflite"]["classes"] == reports[".keras"]["classes"]
    assert reports[".tflite"]["accuracy"] == pytest.approx(reports[".keras"]["accuracy"], abs=0.02)


def test_convert_errors_name_the_problem(tmp_path):
    result = run_cli("convert", pretrained_file("fer2013"), "--out", tmp_path / "m.tflite", "--quantize", "int8")
    assert result.returncode == 2
    assert "real images are needed" in result.stderr and "--calibration-data" in result.stderr
    result = run_cli("convert", pretrained_file("fer2013"), "--out", tmp_path / "m.onnx", "--no-verify")
    assert result.returncode == 2 and "must end in .tflite" in result.stderr
    not_a_model = tmp_path / "broken.tflite"
    not_a_model.write_bytes(b"this is not a flatbuffer")
    with pytest.raises(ValueError, match="broken.tflite: not a loadable TFLite model"):
        TFLiteModel(not_a_model)


def test_reference_client_matches_the_package(converted, model, tmp_path):
    """tflite/fer_tflite.py (NumPy + Pillow + LiteRT only) gives the package's predictions."""
    network, metadata = model
    path = converted["int8"]  # with the sidecars the command wrote
    faces = sorted((dataset_path("fer2013") / "test" / "happy").iterdir())[:10] + sorted(
        (dataset_path("fer2013") / "test" / "surprise").iterdir())[:10]
    result = subprocess.run([sys.executable, str(ROOT / "tflite" / "fer_tflite.py"), str(path), *map(str, faces)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    client = np.array([list(json.loads(line)["probabilities"].values()) for line in result.stdout.splitlines()])

    from keras_fer.data import load_dataset

    expected = TFLiteModel(path).predict(to_model_input(
        load_dataset("folder", _folder_of(faces, tmp_path))["all"].images, network.input_shape[1], 3))
    assert client.shape == (20, len(metadata["class_names"]))
    assert (client.argmax(1) == expected.argmax(1)).mean() >= 0.95
    assert np.abs(client - expected).max() < 0.05


def _folder_of(files, tmp_path):
    """A one-class folder data set holding copies of `files` in the same order."""
    root = tmp_path / "client_faces" / "face"
    root.mkdir(parents=True)
    for i, f in enumerate(files):
        (root / f"{i:03d}{f.suffix}").write_bytes(f.read_bytes())
    return root.parent


def test_benchmark_command_measures_every_row(tmp_path):
    # The command's rows, not the shipped model's speed (BENCHMARKS.md has that): an `improved`
    # network at 32x32 converts in a quarter of the time of the 96x96 shipped one.
    import keras_fer
    from keras_fer.cli.main import build_parser
    from keras_fer.data import fer2013
    from keras_fer.model_io import save_model

    small = tmp_path / "small.keras"
    save_model(keras_fer.build_variant("improved", input_size=32, classes=7), small,
               {"class_names": list(fer2013.CLASSES), "preprocessing": {"equalize": True, "input_size": 32}})
    faces = copy_face_folder(tmp_path / "faces", 10)  # real faces; the full data set takes 5 s to read
    # One of the four modes (a conversion takes ~10 s): int8, the one that needs the calibration faces.
    result = run_cli("benchmark", "--model", small, "--runs", 3, "--threads", 1, "--dataset", "folder",
                     "--calibration-data", faces, "--out", tmp_path, "--json", "--quantize", "int8")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    names = [row["model"] for row in report["rows"]]
    assert names == ["keras predict", "keras model(x)", "tflite int8"]
    assert all(row["batch1_median_ms"] > 0 and row["batch32_images_per_s"] > 0 for row in report["rows"])
    assert [p.name for p in tmp_path.glob("*.tflite")] == ["int8.tflite"]
    default = build_parser().parse_args(["benchmark", "--model", "m.keras"])
    assert default.quantize == list(QUANTIZE_MODES)  # every mode unless told otherwise


def test_convert_shipped_ferplus_reads_its_own_data_set_by_default(tmp_path):
    """Without --dataset, calibration and verification data are read as the data set the model
    was trained on (FER+'s folder has no FER2013 layout), and the shipped ferplus converts."""
    out = tmp_path / "ferplus.tflite"
    ferplus_faces = ferplus_sample(tmp_path / "ferplus", {"FER2013Train": 100, "FER2013Valid": 150})
    result = run_cli("convert", "ferplus", "--out", out, "--quantize", "dynamic",
                     "--calibration-data", ferplus_faces, "--samples", 100)
    assert result.returncode == 0, result.stderr[-3000:]
    sidecar = json.loads(out.with_suffix(".tflite.json").read_text())
    assert sidecar["class_names"][-1] == "contempt" and sidecar["source"]["training"] == {"dataset": "ferplus"}
    verification = sidecar["verification"]
    assert verification["n"] == 100 and verification["agreement"] >= 0.97, verification
    assert verification["keras_accuracy"] > 0.7  # FER+ valid faces with FER+ labels, matched by name
    wrong = run_cli("convert", "ferplus", "--out", tmp_path / "x.tflite", "--dataset", "fer2013",
                    "--calibration-data", ferplus_faces, "--no-verify", "--quantize", "int8")
    assert wrong.returncode == 2 and "neither train/ nor test/ found" in wrong.stderr
