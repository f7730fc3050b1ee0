"""`keras_fer train` on real faces: run directory contents, metadata, refusing to clobber a run."""

import csv
import json
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

from conftest import copy_face_folder, run_cli
import keras_fer
from keras_fer.data.pipeline import with_input_layers
from keras_fer.model_io import load_model
from keras_fer.training import RECIPES, Recipe, compile_for_training, scheduled_rate


cli = run_cli


@pytest.fixture(scope="module")
def face_folder(tmp_path_factory):
    """20 real FER2013 faces per class in a class-per-folder tree."""
    return copy_face_folder(tmp_path_factory.mktemp("faces"), 20)


def test_train_writes_a_complete_run_outside_the_checkout(tmp_path, face_folder, monkeypatch):
    """Without --out, the run goes to $KERAS_FER_RUNS/NAME: the same command names the same folder,
    so adding --resume finds it."""
    monkeypatch.setenv("KERAS_FER_RUNS", str(tmp_path / "runs"))
    # --attention: a registry's option over the variant's, recorded with the model and in the name.
    args = ["train", "--dataset", "folder", "--data", str(face_folder), "--model", "improved",
            "--attention", "se", "--input-size", "32", "--epochs", "2", "--batch-size", "16",
            "--recipe", "paper", "--learning-rate", "0.01", "--seed", "3"]
    result = cli(*args)
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "runs" / "folder-paper-size32-seed3-attention-se"
    assert f"run folder: {out}" in result.stdout
    for name in ("config.json", "splits.json", "history.csv", "best.keras", "last.keras"):
        assert (out / name).is_file(), name
    history = list(csv.DictReader(open(out / "history.csv")))
    assert [row["epoch"] for row in history] == ["0", "1"]
    assert float(history[0]["learning_rate"]) == pytest.approx(0.01)
    splits = json.loads((out / "splits.json").read_text())
    assert splits["train"]["n"] + splits["validation"]["n"] == 140
    assert set(splits["train"]["files"]).isdisjoint(splits["validation"]["files"])
    model, metadata = load_model(out / "best.keras")
    assert metadata["class_names"] == sorted(p.name for p in face_folder.iterdir())
    assert metadata["preprocessing"]["equalize"] is True and metadata["preprocessing"]["input_size"] == 32
    assert model.output_shape == (None, 7)
    assert metadata["architecture"] == keras_fer.VARIANTS["improved"].replace(attention="se").to_dict()
    assert model.get_layer("block15_se") is not None
    assert max(float(r["val_accuracy"]) for r in history) == pytest.approx(metadata_best(out), abs=1e-6)

    again = cli(*args)
    assert again.returncode == 2 and f"{out} already holds a run; pass --resume" in again.stderr
    finished = cli(*args, "--resume")
    assert finished.returncode == 2 and "holds a finished run" in finished.stderr
    assert [row["epoch"] for row in csv.DictReader(open(out / "history.csv"))] == ["0", "1"]


def metadata_best(out):
    return json.loads((out / "best.json").read_text())["val_accuracy"]


def test_train_reports_a_bad_data_path(tmp_path):
    result = cli("train", "--dataset", "fer2013", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "r"))
    assert result.returncode == 2
    assert "missing: no such folder" in result.stderr


def test_schedule_warmup_and_cosine():
    recipe = Recipe(learning_rate=1.0, warmup_epochs=2, schedule="cosine")
    rates = [scheduled_rate(recipe, e, 12) for e in range(12)]
    assert rates[:3] == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert rates[7] == pytest.approx(0.5) and rates[-1] < rates[-2] < rates[3]
    assert np.all(np.diff(rates[2:]) < 0)


def test_restart_cycles_follow_the_main_cosine_and_a_time_budget_drops_them(monkeypatch):
    """SGDR: 6 main epochs (2 of warm-up), then a 4-epoch cycle from 0.5 with 1 warm-up epoch, then
    a 2-epoch cycle from 0.2. A budgeted run fits the main cosine to its budget and stops there."""
    from keras_fer import training

    recipe = Recipe(learning_rate=1.0, epochs=6, warmup_epochs=2, schedule="cosine",
                    restarts=[{"epochs": 4, "learning_rate": 0.5, "warmup_epochs": 1}, {"epochs": 2, "learning_rate": 0.2}])
    assert recipe.total_epochs == 12
    rates = [scheduled_rate(recipe, e, 6) for e in range(13)]
    main = [1 / 3, 2 / 3, 1.0, 0.5 * (1 + np.cos(np.pi / 4)), 0.5, 0.5 * (1 + np.cos(3 * np.pi / 4))]
    # Each cycle as the main schedule: warm-up to half the peak, then cosine over the other 3 epochs
    # (0.5, 0.375, 0.125); the second cycle has no warm-up; after the last cycle, 0.
    cycles = [0.25, 0.5, 0.375, 0.125] + [0.2, 0.1] + [0.0]
    assert rates == pytest.approx(main + cycles)

    clock = [0.0]
    monkeypatch.setattr(training.time, "time", lambda: clock[0])
    unbudgeted = training.EpochSchedule(recipe)
    assert unbudgeted.planned_epochs() == 12
    plans, fed, _ = _run_schedule(unbudgeted, 0, [1] * 12, clock)
    assert fed == pytest.approx(rates[:12]) and plans == [6] * 12  # the main cosine's span stays 6
    budgeted = training.EpochSchedule(recipe, time_budget=1000)
    plans, _, last = _run_schedule(budgeted, 0, [10] * 12, clock)
    assert last == 5 and budgeted.planned_epochs() == 6  # room for 100 epochs; the main 6 end it


def test_bad_restart_cycles_are_named(tmp_path):
    path = tmp_path / "r.json"
    for restarts, message in [
            ([{"epochs": 10}], r"restarts\[0\]: needs an object with 'epochs' and 'learning_rate'"),
            ([{"epochs": 10, "learning_rate": 1e-4, "peak": 1}], r"restarts\[0\]: unknown field\(s\) \['peak'\]"),
            ([{"epochs": 5, "learning_rate": 1e-4}, {"epochs": 0, "learning_rate": 1e-4}],
             r"restarts\[1\]: needs epochs > 0"),
            ([{"epochs": 2, "learning_rate": "1e-4"}], r"restarts\[0\]: needs .*learning_rate > 0"),
            ([{"epochs": 2, "learning_rate": 1e-4, "warmup_epochs": 2}],
             r"restarts\[0\]: needs .*0 <= warmup_epochs < epochs, got \{'epochs': 2")]:
        path.write_text(json.dumps({"restarts": restarts}))
        with pytest.raises(ValueError, match=r"r\.json: " + message):
            Recipe.from_file(path)


def test_killed_run_resumes_from_last_completed_epoch(tmp_path, face_folder):
    import os
    import signal
    import time

    out = tmp_path / "run"
    args = [sys.executable, "-m", "keras_fer", "train", "--dataset", "folder", "--data", str(face_folder),
            "--model", "first_conv", "--input-size", "32", "--epochs", "4", "--batch-size", "8",
            "--recipe", "paper", "--out", str(out)]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    history = out / "history.csv"
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:
        if history.is_file() and len(history.read_text().splitlines()) >= 2:  # header + epoch 0
            break
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)  # as a crash or an out-of-memory kill would
    process.wait()
    # The command restarted itself once under a training allocator (keras_fer.allocator).
    assert process.stderr.read().decode().count("keras_fer: restarting under") == 1
    done_before = [int(r["epoch"]) for r in csv.DictReader(open(history))]
    assert done_before and done_before[-1] < 3, "the run finished before it could be killed"
    assert (out / "last.keras").is_file() and (out / "backup").is_dir()
    record = json.loads((out / "best.json").read_text())
    record["val_accuracy"] = 2.0  # as if an epoch before the kill were unbeatable
    (out / "best.json").write_text(json.dumps(record))

    result = cli(*args[3:], "--resume")  # args[3:]: the command line after `python -m keras_fer`
    assert result.returncode == 0, result.stderr[-3000:]
    epochs = [int(r["epoch"]) for r in csv.DictReader(open(history))]
    assert epochs == [0, 1, 2, 3], epochs  # nothing trained twice, nothing lost
    # The summary names the run's best model, not the best of the epochs since the restart.
    assert f"best validation accuracy 2.0000 (epoch {record['epoch']}); model: {out / 'best.keras'}" in result.stdout


def test_experiment_ablation_table_and_resume(tmp_path, face_folder):
    out = tmp_path / "ablation"
    args = ["experiment", "ablation", "--dataset", "folder", "--data", str(face_folder), "--variants",
            "first_conv", "improved", "--input-size", "32", "--epochs", "1", "--batch-size", "16",
            "--recipe", "paper", "--learning-rate", "0.01", "--out", str(out)]
    result = cli(*args)
    assert result.returncode == 0, result.stderr[-3000:]
    table = (out / "ablation.md").read_text().splitlines()
    assert table[0] == "| epochs | 1 |" and [row.split("|")[1].strip() for row in table[2:]] == ["first_conv", "improved"]
    results = json.loads((out / "ablation.json").read_text())
    assert f"{100 * results['improved']['val_accuracy'][0]:.1f}" == table[3].split("|")[2].strip()
    assert (out / "ablation.png").is_file()
    stamp = (out / "improved" / "summary.json").stat().st_mtime
    again = cli(*args)  # finished runs are not trained again
    assert again.returncode == 0 and (out / "improved" / "summary.json").stat().st_mtime == stamp
    assert (out / "ablation.md").read_text().splitlines() == table
    (out / "improved" / "summary.json").write_text('{"model": "improved"')  # a summary cut short
    broken = cli(*args)
    assert broken.returncode == 2 and "summary.json: not readable JSON" in broken.stderr
    assert "delete it to train this run again" in broken.stderr


def test_experiment_repeat_mean_and_std_of_seeded_runs(tmp_path, face_folder):
    out = tmp_path / "repeat"
    result = cli("experiment", "repeat", "--dataset", "folder", "--data", str(face_folder), "--model", "first_conv",
                 "--runs", "2", "--input-size", "32", "--epochs", "1", "--batch-size", "16", "--recipe", "paper",
                 "--learning-rate", "0.01", "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    finals = [100 * json.loads((out / f"run{i}" / "summary.json").read_text())["val_accuracy"][-1] for i in (0, 1)]
    report = json.loads((out / "repeat.json").read_text())
    assert report["runs"] == 2 and report["final"] == [round(f, 2) for f in finals]
    assert report["final_mean"] == pytest.approx(np.mean(finals))
    assert report["final_std"] == pytest.approx(np.std(finals, ddof=1))  # sample std, as Table 3
    row = (out / "repeat.md").read_text().splitlines()[2]
    assert row.startswith("| first_conv | 2 | ") and f"{np.mean(finals):.2f} ± {np.std(finals, ddof=1):.2f}" in row


MIRRORED = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from keras_fer.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def test_train_with_mirrored_strategy_on_two_cpu_devices(tmp_path, face_folder):
    out = tmp_path / "mirrored"
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED, "train", "--dataset", "folder", "--data", str(face_folder),
         "--model", "first_conv", "--input-size", "32", "--epochs", "1", "--batch-size", "16",
         "--recipe", "paper", "--strategy", "mirrored", "--out", str(out)],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "mirrored strategy over 2 replica(s)" in result.stdout
    assert (out / "best.keras").is_file()


def test_time_budget_plans_again_after_every_epoch(monkeypatch):
    """Epoch 0 (compilation) is not timed; then the plan follows the mean epoch time."""
    from keras_fer import training

    clock = [0.0]
    monkeypatch.setattr(training.time, "time", lambda: clock[0])
    schedule = training.EpochSchedule(Recipe(epochs=100, warmup_epochs=0, schedule="cosine"), time_budget=100)
    plans, _, stopped_after = _run_schedule(schedule, 0, [30, 10, 20, 20, 20, 20], clock)
    # after epoch 1: 60 s left / 10 s = 6 more; epoch 2: 40 / 15 = 2; epoch 3: 20 / 20 = 1; epoch 4: none
    assert plans == [100, 8, 5, 5, 5]
    assert stopped_after == 4 and clock[0] == 100


def test_one_slow_epoch_does_not_cut_the_plan_short(monkeypatch):
    """The plan follows the median epoch time: epoch 2 ran beside other work (100 s, not 10)."""
    from keras_fer import training

    clock = [0.0]
    monkeypatch.setattr(training.time, "time", lambda: clock[0])
    schedule = training.EpochSchedule(Recipe(epochs=100, warmup_epochs=0, schedule="cosine"), time_budget=200)
    plans, _, _ = _run_schedule(schedule, 0, [30, 10, 100, 10], clock)
    # epoch 1: 160 s left / 10 = 16 more; epoch 2: 60 / 55 = 1; epoch 3: 50 / 10 (a mean: 40) = 5
    assert plans == [100, 18, 4, 9]


def _fake_model():
    """What EpochSchedule touches of a model: stop_training and the optimizer's rate variable."""
    import types

    return types.SimpleNamespace(stop_training=False,
                                 optimizer=types.SimpleNamespace(learning_rate=keras.Variable(1.0)))


def _run_schedule(schedule, first_epoch, durations, clock):
    """Drive an EpochSchedule through epochs of the given lengths; (plans, rates, last epoch)."""
    model = _fake_model()
    schedule.set_model(model)
    schedule.on_train_begin()
    plans, rates, epoch = [], [], first_epoch
    for epoch, duration in enumerate(durations, start=first_epoch):
        schedule.on_epoch_begin(epoch)
        rates.append(float(model.optimizer.learning_rate.numpy()))
        clock[0] += duration
        schedule.on_epoch_end(epoch, {})
        plans.append(schedule.total_epochs)
        if model.stop_training:
            break
    return plans, rates, epoch


def test_time_budget_never_restarts_a_stopped_run(monkeypatch):
    """TerminateOnNaN stops a run inside an epoch; the schedule's forecast at its end must not undo that."""
    from keras_fer import training

    clock = [0.0]
    monkeypatch.setattr(training.time, "time", lambda: clock[0])
    schedule = training.EpochSchedule(Recipe(epochs=100, schedule="cosine"), time_budget=1000)
    model = _fake_model()
    schedule.set_model(model)
    schedule.on_train_begin()
    for epoch in range(2):  # the first without a forecast, the second with one
        schedule.on_epoch_begin(epoch)
        clock[0] += 10
        model.stop_training = True  # as TerminateOnNaN does on a NaN loss
        schedule.on_epoch_end(epoch, {})
        assert model.stop_training, epoch


def test_resumed_run_keeps_the_time_budget_plan(monkeypatch, tmp_path):
    """A run killed after epoch 1 and resumed with the same budget continues the plan it had (the
    same cosine) and stops when the whole budget is spent, not the budget again from the restart."""
    from keras_fer import training

    clock = [0.0]
    monkeypatch.setattr(training.time, "time", lambda: clock[0])
    recipe = Recipe(epochs=100, warmup_epochs=0, schedule="cosine")
    state = tmp_path / "schedule.json"
    plans, _, _ = _run_schedule(training.EpochSchedule(recipe, 100, state), 0, [30, 10], clock)
    assert plans == [100, 8]
    assert json.loads(state.read_text()) == {"time_budget": 100, "trained_seconds": 40.0, "timed_epochs": [10.0],
                                             "total_epochs": 8}

    clock[0] += 500  # the machine was down; downtime is not training time
    plans, rates, last = _run_schedule(training.EpochSchedule(recipe, 100, state), 2, [20] * 10, clock)
    assert rates[0] == pytest.approx(scheduled_rate(recipe, 2, 8))  # the plan it was killed with
    # epoch 2 (a process's first: untimed): 60 s in all, 40 left / 10 s = 4 more; epoch 3: 20 left / 15 = 1;
    # epoch 4: 100 s spent
    assert plans == [7, 5, 5] and last == 4
    assert json.loads(state.read_text())["trained_seconds"] == 100.0

    # Without a budget the plan is the recipe's, whatever a file says.
    plans, rates, _ = _run_schedule(training.EpochSchedule(recipe, None, state), 5, [20], clock)
    assert plans == [100] and rates[0] == pytest.approx(scheduled_rate(recipe, 5, 100))

    state.write_text('{"trained_seconds": 4')  # cut short by hand
    with pytest.raises(ValueError, match=r"schedule\.json: not readable JSON .*delete it to plan the rest"):
        _run_schedule(training.EpochSchedule(recipe, 100, state), 5, [20], clock)


def test_resumed_run_keeps_its_best_model(tmp_path):
    """SaveNetwork given the run's best so far (fit does that on --resume) must not let a worse
    epoch replace best.keras: before, every resumed run's first epoch did."""

    from keras_fer.training import SaveNetwork, best_so_far

    assert best_so_far(tmp_path) == float("-inf")
    network = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    SaveNetwork(network, tmp_path, {"class_names": ["a", "b"]}).on_epoch_end(6, {"val_accuracy": 0.8})
    assert best_so_far(tmp_path) == pytest.approx(0.8)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "best.json").write_text("")
    with pytest.raises(ValueError, match=r"best\.json: not readable JSON"):
        best_so_far(tmp_path / "empty")

    resumed = SaveNetwork(network, tmp_path, {"class_names": ["a", "b"]}, best=best_so_far(tmp_path))
    resumed.on_epoch_end(8, {"val_accuracy": 0.7})
    assert json.loads((tmp_path / "best.json").read_text())["epoch"] == 7
    assert json.loads((tmp_path / "last.json").read_text())["epoch"] == 9
    resumed.on_epoch_end(9, {"val_accuracy": 0.9})
    assert json.loads((tmp_path / "best.json").read_text())["epoch"] == 10


def test_fit_resumes_the_plan_and_the_best_model_after_a_crash(monkeypatch, tmp_path, face_folder):
    """fit's wiring of the two: a run that crashes after epoch 0 and is fitted again in the same
    folder counts the seconds trained before the crash (a fake clock: +100 s per reading) and
    compares its epochs with the best one it already saved."""
    import itertools
    import types

    from keras_fer import training
    from keras_fer.data import load_dataset

    ticks = itertools.count(1)
    monkeypatch.setattr(training, "time", types.SimpleNamespace(time=lambda: 100.0 * next(ticks)))
    faces = load_dataset("folder", face_folder)["all"]
    val = faces.subset(np.arange(0, len(faces), 4))
    recipe = Recipe(batch_size=16, epochs=3, learning_rate=1e-3)
    out = tmp_path / "run"

    def network():
        return _small_network(len(faces.class_names))

    with pytest.raises(Crash):
        training.fit(network(), faces, val, recipe, out, time_budget=10_000,
                     extra_callbacks=[CrashAfterFirstEpoch()])
    assert json.loads((out / "schedule.json").read_text())["trained_seconds"] == 200  # begin 100, 0: 200-300
    saved = json.loads((out / "best.json").read_text())
    saved["val_accuracy"] = 2.0  # as if epoch 1 had been unbeatable: the resumed run must keep it
    (out / "best.json").write_text(json.dumps(saved))

    training.fit(network(), faces, val, recipe, out, time_budget=10_000)
    assert [int(r["epoch"]) for r in csv.DictReader(open(out / "history.csv"))] == [0, 1, 2]
    # begin 400; epoch 1: 500-600 (untimed, a process's first); epoch 2: 700-800
    assert json.loads((out / "schedule.json").read_text())["trained_seconds"] == 200 + 400
    assert json.loads((out / "best.json").read_text())["epoch"] == 1
    assert json.loads((out / "last.json").read_text())["epoch"] == 3


def test_resumed_run_trains_on_the_batches_an_uninterrupted_run_would(tmp_path, face_folder):
    """A run that crashes after epoch 0 and is resumed ends with the weights of the same run
    uninterrupted: its second epoch gets the second shuffled order and fresh augmentations and
    dropout masks. Before RandomStreams it replayed epoch 0's order and random draws."""
    from keras_fer import training
    from keras_fer.data import load_dataset

    faces = load_dataset("folder", face_folder)["all"]
    val = faces.subset(np.arange(0, len(faces), 4))
    recipe = Recipe(batch_size=16, epochs=2, learning_rate=1e-2, augment="standard")

    def network():
        keras.utils.set_random_seed(0)
        inputs = keras.Input((32, 32, 3))
        features = keras.layers.Conv2D(8, 3, strides=2)(keras.layers.Rescaling(1 / 255)(inputs))
        features = keras.layers.Dropout(0.5)(keras.layers.GlobalAveragePooling2D()(features))
        return keras.Model(inputs, keras.layers.Dense(len(faces.class_names), activation="softmax")(features))

    uninterrupted = network()
    training.fit(uninterrupted, faces, val, recipe, tmp_path / "once", seed=3)
    with pytest.raises(Crash):
        training.fit(network(), faces, val, recipe, tmp_path / "twice", seed=3,
                     extra_callbacks=[CrashAfterFirstEpoch()])
    record = json.loads((tmp_path / "twice" / training.RANDOM_STATE).read_text())
    assert record["epochs_done"] == 1 and len(record["seed_states"]) == 5  # 4 augmentations + dropout
    resumed = network()
    training.fit(resumed, faces, val, recipe, tmp_path / "twice", seed=3)
    assert [int(r["epoch"]) for r in csv.DictReader(open(tmp_path / "twice" / "history.csv"))] == [0, 1]
    for after_resume, straight in zip(resumed.get_weights(), uninterrupted.get_weights()):
        np.testing.assert_allclose(after_resume, straight, rtol=1e-5, atol=1e-6)


class Crash(Exception):
    pass


class CrashAfterFirstEpoch(keras.callbacks.Callback):
    """Raises at its first epoch's end: after the backup, checkpoints and history.csv are written."""

    def on_epoch_end(self, epoch, logs=None):
        raise Crash()


def _small_network(classes):
    """A small stand-in for the wiring tests: what they check does not depend on the architecture."""

    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    # Scaled: raw [0, 255] faces saturate the softmax, and on JAX (no logits behind Keras' softmax
    # cross-entropy) the clipped probabilities then give zero gradients: the weights never move.
    scaled = keras.layers.Rescaling(1 / 255)(inputs)
    features = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(8, 3, strides=2)(scaled))
    return keras.Model(inputs, keras.layers.Dense(classes, activation="softmax")(features))


def test_weight_average_is_the_mean_of_the_epochs_weights_across_a_resume(tmp_path, face_folder):
    """average_from_epoch=2 over 4 epochs, the run crashing after epoch 2 and fitted again:
    averaged.keras holds the mean of the weights after epochs 2, 3 and 4, and its recorded
    validation accuracy is what the saved file scores."""

    from keras_fer import inference, training
    from keras_fer.data import load_dataset

    class Crash(Exception):
        pass

    weights_after = {}

    class Record(keras.callbacks.Callback):
        def __init__(self, network, crash_after=None):
            super().__init__()
            self.network, self.crash_after = network, crash_after

        def on_epoch_end(self, epoch, logs=None):  # after WeightAverage has put the weights back
            weights_after[epoch + 1] = self.network.get_weights()
            if epoch + 1 == self.crash_after:
                raise Crash()

    faces = load_dataset("folder", face_folder)["all"]
    val = faces.subset(np.arange(0, len(faces), 4))
    recipe = Recipe(optimizer="adamw", batch_size=16, epochs=4, learning_rate=1e-2, average_from_epoch=2)
    out = tmp_path / "run"
    network = _small_network(len(faces.class_names))
    with pytest.raises(Crash):
        training.fit(network, faces, val, recipe, out, extra_callbacks=[Record(network, crash_after=2)])
    network = _small_network(len(faces.class_names))
    training.fit(network, faces, val, recipe, out, extra_callbacks=[Record(network)])

    assert sorted(weights_after) == [1, 2, 3, 4]
    averaged, info = load_model(out / "averaged.keras")
    expected = [np.mean([weights_after[e][i] for e in (2, 3, 4)], axis=0) for i in range(len(weights_after[4]))]
    for saved, mean in zip(averaged.get_weights(), expected):
        np.testing.assert_allclose(saved, mean, rtol=1e-5, atol=1e-6)
    assert not np.allclose(averaged.get_weights()[0], weights_after[4][0])  # not the last epoch's
    assert (info["epoch"], info["averaged_epochs"], info["average_from_epoch"]) == (4, 3, 2)
    scored = np.mean(np.argmax(inference.predict(averaged, val), axis=-1) == val.hard_labels)
    assert info["val_accuracy"] == pytest.approx(scored)
    column = [float(r["val_accuracy_averaged"]) for r in csv.DictReader(open(out / "history.csv"))]
    assert len(column) == 4 and np.isnan(column[0]) and column[-1] == pytest.approx(scored)


def test_weight_average_errors_name_the_problem(tmp_path):
    from keras_fer.weight_averaging import WeightAverage

    with pytest.raises(ValueError, match="average_from_epoch must be 1 or more"):
        WeightAverage(None, tmp_path, {}, -1, None)
    (tmp_path / "averaged.keras").write_bytes(b"")  # a resumed run whose record was cut short
    (tmp_path / "averaged.json").write_text('{"epoch": 3')
    with pytest.raises(ValueError, match=r"averaged\.json: not readable JSON .*delete it and averaged\.keras"):
        WeightAverage(None, tmp_path, {}, 2, None, resume=True).on_train_begin()
    (tmp_path / "averaged.json").write_text('{"epoch": 3}')  # readable, but not an average's record
    with pytest.raises(ValueError, match=r"averaged\.json: not the record of a weight average .*'averaged_epochs'"):
        WeightAverage(None, tmp_path, {}, 2, None, resume=True).on_train_begin()


def test_optimizer_slots_exist_before_the_first_step_and_are_the_ones_it_updates():
    """compile_for_training builds the optimizer eagerly (else TensorFlow traces the first step twice,
    BENCHMARKS.md, "What we tried"); the step must then update those slots, not make new ones."""
    wrapper = compile_for_training(with_input_layers(_small_network(7), 48, "none"), RECIPES["strong"])
    slots = list(wrapper.optimizer.variables)
    assert wrapper.optimizer.built
    assert len(slots) == 2 + 2 * len(wrapper.trainable_variables)  # iteration, rate, m and v each
    faces = np.random.default_rng(0).integers(0, 256, (8, 48, 48, 1), dtype=np.uint8)
    wrapper.train_on_batch(faces, np.eye(7, dtype="float32")[np.arange(8) % 7])
    assert [id(v) for v in wrapper.optimizer.variables] == [id(v) for v in slots]
    assert int(wrapper.optimizer.iterations.numpy()) == 1
    assert float(np.abs(slots[2].numpy()).max()) > 0  # the first kernel's first moment moved


def test_tune_writes_a_recipe_that_train_accepts_and_resumes(tmp_path, face_folder):
    out = tmp_path / "tune"
    args = ["tune", "--dataset", "folder", "--data", face_folder, "--model", "improved",
            "--input-size", "32", "--recipe", "strong", "--trials", "2", "--epochs-per-trial", "1",
            "--batch-size", "32", "--out", out]
    result = cli(*args)
    assert result.returncode == 0, result.stderr
    trials = json.loads((out / "trials.json").read_text())
    assert len(trials) == 2 and trials[0]["val_accuracy"] >= trials[1]["val_accuracy"]
    recipe = Recipe.from_file(out / "best_recipe.json")
    assert recipe.optimizer == "adamw" and recipe.learning_rate == trials[0]["values"]["learning_rate"]
    assert recipe.model_options["groups"] == trials[0]["values"]["groups"]
    assert recipe.model_options["dilation_rate"] == trials[0]["values"]["dilation_rate"]
    again = cli(*args)  # the search is finished: nothing is trained again
    assert again.returncode == 0 and json.loads((out / "trials.json").read_text()) == trials

    # `train --recipe best_recipe.json` reads it with get_recipe and builds the network from its
    # model_options (cli/train.py); training on a recipe is
    # test_train_writes_a_complete_run_outside_the_checkout's job.
    from keras_fer.training import get_recipe

    assert get_recipe(str(out / "best_recipe.json")) == recipe
    network = keras_fer.build_variant("improved", input_size=32, classes=7, **recipe.model_options)
    dropout = [layer.rate for layer in network.layers if layer.name == "dropout"]
    assert dropout == ([pytest.approx(recipe.model_options["dropout"])] if recipe.model_options["dropout"] else [])
    groups = {layer.groups for layer in network.layers if isinstance(layer, keras.layers.GroupNormalization)}
    assert groups == {recipe.model_options["groups"]}


def test_tuner_seed_zero_is_a_seed(tmp_path):
    """keras-tuner takes seed 0 for "none" and draws one at random; a search with the default
    --seed 0 must still draw the same trials every time."""
    from keras_fer.tuning import FERHyperModel, make_tuner

    hypermodel = FERHyperModel("improved", Recipe(), 32, 3, 7, 48)
    seeds = [make_tuner(hypermodel, tmp_path / f"t{i}", 2, seed).oracle.seed for i, seed in enumerate([0, 0, 1])]
    assert seeds[0] == seeds[1] != seeds[2]


def test_every_shipped_recipe_loads_by_name():
    """The reference recipes and the shipped models' stage recipes are package files, named on the
    command line; `train --help` lists the reference ones."""
    from keras_fer.training import RECIPE_DIR, get_recipe, recipe_names

    stages = [f"stages/{path.stem}" for path in (RECIPE_DIR / "stages").glob("*.json")]
    names = recipe_names() + stages
    assert len(list(RECIPE_DIR.rglob("*.json"))) == len(names) - 2  # all but the two presets
    assert {"fer2013-reference", "stages/fer2013_long"} <= set(names)
    for name in names:
        assert get_recipe(name).epochs > 0, name
    assert "fer2013-reference" in cli("train", "--help").stdout


def test_recipe_file_with_an_unknown_field_is_named(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"learning_rate": 0.1, "learnig_rate": 0.2}))
    with pytest.raises(ValueError, match=r"r\.json: unknown recipe field\(s\) \['learnig_rate'\]"):
        Recipe.from_file(path)
    path.write_text(json.dumps({"model_options": {"groups": 4, "atention": "se"}}))
    with pytest.raises(ValueError, match=r"r\.json: model_options: unknown architecture field\(s\) \['atention"):
        Recipe.from_file(path)
    path.write_text(json.dumps({"model_options": {"attention": "cbam"}}))
    with pytest.raises(ValueError, match=r"r\.json: model_options: attention must be one of se, simam, none"):
        Recipe.from_file(path)
    path.write_text('{"learning_rate": 0.1,')  # a recipe cut short
    with pytest.raises(ValueError, match=r"r\.json: not readable JSON .*fix the recipe file"):
        Recipe.from_file(path)


def _constant_faces(n=40, classes=4):
    """Faces whose every pixel is 10 x their label: a blend's mean pixel is 10 x its target's mean class."""
    from keras_fer.data.labeled import LabeledImages

    labels = np.arange(n) % classes
    images = np.repeat((10 * labels).astype(np.uint8)[:, None, None], 48, axis=1).repeat(48, axis=2)
    return LabeledImages(images, labels, tuple("abcd"[:classes]), [f"face{i}" for i in range(n)])


def test_mixup_blends_faces_and_targets_alike_and_replays_after_a_resume():
    from keras_fer.data.pipeline import ArrayBatches

    faces = _constant_faces()
    batches = ArrayBatches(faces, 8, shuffle=True, seed=5, drop_remainder=True, mixup=0.4)
    first_epoch = [batches[i] for i in range(len(batches))]
    weights = []
    for images, targets in first_epoch:
        np.testing.assert_allclose(targets.sum(axis=1), 1, rtol=1e-6)
        expected = 10 * (targets * np.arange(4)).sum(axis=1)  # the blend of the two faces' labels
        np.testing.assert_allclose(images.mean(axis=(1, 2, 3)), expected, rtol=1e-5, atol=1e-4)
        weights.append(targets.max(axis=1).min())
    assert len(set(np.round(weights, 4))) > 1  # one Beta draw per batch, not one per run
    assert any(w < 0.99 for w in weights)  # some batches really are blends
    np.testing.assert_array_equal(batches[2][0], first_epoch[2][0])  # the same batch asked for again
    batches.on_epoch_end()
    second_epoch = [batches[i] for i in range(len(batches))]
    resumed = ArrayBatches(faces, 8, shuffle=True, seed=5, drop_remainder=True, mixup=0.4, start_epoch=1)
    for (images, targets), (again, again_targets) in zip(second_epoch, [resumed[i] for i in range(len(resumed))]):
        np.testing.assert_array_equal(images, again)
        np.testing.assert_array_equal(targets, again_targets)
    with pytest.raises(ValueError, match="mixup blends targets: it needs one_hot=True"):
        ArrayBatches(faces, 8, mixup=0.2, one_hot=False)


class RecordWeights(keras.callbacks.Callback):
    """The raw weights after every training step (SwapToAveragedWeights swaps them back each epoch)."""

    def __init__(self, network):
        super().__init__()
        self.network, self.steps = network, []

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append([np.array(w) for w in self.network.trainable_weights])


def test_ema_recipe_validates_and_saves_the_moving_average_of_the_weights(tmp_path, monkeypatch):
    """ema_momentum=m: after each step average = m * average + (1 - m) * weights, starting from the
    weights after the first step (Keras' rule); validation scores it and best.keras / last.keras hold it, also when a time
    budget stops the run before the recipe's last epoch (Keras' own callback misses that case)."""
    import itertools
    import types

    from keras_fer import training

    # A fake clock (+100 s per reading) and a 450 s budget: the plan stops the run after 2 of 5 epochs.
    ticks = itertools.count(1)
    monkeypatch.setattr(training, "time", types.SimpleNamespace(time=lambda: 100.0 * next(ticks)))
    faces = _constant_faces()
    network = _small_network(4)
    recorder = RecordWeights(network)
    recipe = Recipe(optimizer="sgd", learning_rate=0.05, batch_size=8, epochs=5, ema_momentum=0.8)
    training.fit(network, faces, faces, recipe, tmp_path / "run", time_budget=450, extra_callbacks=[recorder])
    assert len(recorder.steps) == 10  # 2 epochs of 5 batches
    average = recorder.steps[0]
    for step in recorder.steps[1:]:
        average = [0.8 * a + 0.2 * w for a, w in zip(average, step)]
    assert not np.allclose(average[0], recorder.steps[-1][0], atol=1e-4)  # the test can tell them apart
    saved, _ = load_model(tmp_path / "run" / "last.keras")
    for expected, in_memory, on_disk in zip(average, network.trainable_weights, saved.trainable_weights):
        np.testing.assert_allclose(np.array(in_memory), expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.array(on_disk), expected, rtol=1e-5, atol=1e-6)


def test_named_recipes_are_listed_and_load(tmp_path):
    from keras_fer.training import RECIPE_DIR, get_recipe, recipe_names

    shipped = sorted(path.stem for path in RECIPE_DIR.glob("*.json"))
    assert {"fer2013-reference", "ferplus-reference"} <= set(shipped)
    assert recipe_names() == ["paper", "strong", *shipped]
    help_text = cli("train", "--help").stdout
    for name in recipe_names():
        assert name in help_text
    for name in shipped:
        recipe = get_recipe(name)
        assert recipe.input_size > 0  # a reference recipe fixes its resolution
    with pytest.raises(ValueError, match="unknown recipe 'nope': one of paper, strong, "):
        get_recipe("nope")


def test_run_folder_names_what_sets_the_run_apart(tmp_path, monkeypatch):
    """The default folder's name: data set and recipe, then the model, size, seed, sample size and
    architecture options that differ from the defaults; an explicit --out means what it says."""
    from keras_fer.cli.data_args import run_folder
    from keras_fer.cli.main import build_parser

    monkeypatch.setenv("KERAS_FER_RUNS", str(tmp_path))
    parse = build_parser().parse_args
    common = ["train", "--dataset", "folder", "--data", "faces", "--input-size", "32"]
    assert run_folder(parse([*common, "--recipe", "strong", "--limit", "32", "--seed", "3"]), "train") == \
        tmp_path / "folder-strong-size32-seed3-limit32"
    assert run_folder(parse([*common, "--model", "first_conv", "--norm", "batch"]), "train") == \
        tmp_path / "folder-paper-first_conv-size32-norm-batch"
    assert run_folder(parse([*common, "--recipe", "fer2013-reference", "--dataset", "fer2013"]), "train") == \
        tmp_path / "fer2013-reference-size32"
    short = parse(["train", "--recipe", "fer2013-reference", "--dataset", "fer2013", "--data", "faces",
                   "--time-budget", "1800", "--seed", "1"])
    assert run_folder(short, "train") == tmp_path / "fer2013-reference-seed1-budget1800"
    assert run_folder(parse([*common, "--out", "elsewhere/run"]), "train") == pathlib.Path("elsewhere/run")


def test_reference_recipes_train_one_short_epoch_and_resume(tmp_path, face_folder):
    """The shipped reference recipe, shrunk (32 px, small batches, 2 + 2 epochs): it loads, trains an
    epoch, crashes, and `--resume` finishes the run in the same folder. ferplus-reference is the
    same recipe on FER+'s vote shares, so this run covers it too (vote shares are test_data's job,
    training on soft labels test_distillation's). A small network stands in for `improved`: the
    recipe's machinery (the schedule, augmentation, resuming) does not depend on it, and `improved`
    trains in test_models.py and test_train_writes_a_complete_run_outside_the_checkout."""
    import dataclasses

    from keras_fer import training
    from keras_fer.data import load_dataset

    recipe = training.get_recipe("fer2013-reference")
    ferplus = training.get_recipe("ferplus-reference")
    assert dataclasses.replace(ferplus, label_mode=recipe.label_mode) == recipe
    assert ferplus.label_mode == "probability" and recipe.model_options == {}
    restart = {"epochs": 40, "learning_rate": 3e-4, "warmup_epochs": 1}
    assert recipe == dataclasses.replace(training.RECIPES["strong"], epochs=150, input_size=96, restarts=[restart])
    # 2 main epochs, then a restart cycle of 2 (1 of warm-up): the crash and the resume fall in
    # the main schedule, the run ends in the cycle.
    recipe = dataclasses.replace(recipe, input_size=32, batch_size=16, epochs=2,
                                 restarts=[dict(restart, epochs=2)])

    faces = load_dataset("folder", face_folder)["all"]
    faces = faces.subset(np.arange(0, len(faces), 2))

    def network():  # a fresh one per run, as a new process would build
        return _small_network(len(faces.class_names))

    out = tmp_path / "run"
    with pytest.raises(Crash):
        training.fit(network(), faces, faces, recipe, out, seed=3, extra_callbacks=[CrashAfterFirstEpoch()])
    assert [int(r["epoch"]) for r in csv.DictReader(open(out / "history.csv"))] == [0]
    training.fit(network(), faces, faces, recipe, out, seed=3)
    rows = list(csv.DictReader(open(out / "history.csv")))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3]
    expected = [scheduled_rate(recipe, epoch, 2) for epoch in range(4)]
    assert expected[2:] == pytest.approx([1.5e-4, 3e-4])  # the cycle: warm-up, then its peak
    assert [float(r["learning_rate"]) for r in rows] == pytest.approx(expected)
    assert (out / "best.keras").is_file() and not (out / "backup").exists()  # finished


class CrashAtEpoch(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.crash_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.crash_epoch:
            raise Crash()


class InputSizes(keras.callbacks.Callback):
    """The input size of the network inside each epoch's training wrapper."""

    def __init__(self):
        super().__init__()
        self.sizes = []

    def on_epoch_begin(self, epoch, logs=None):
        self.sizes.append(self.model.get_layer("to_model_input").size)


@pytest.mark.parametrize("crash_epoch", [1, 2])
def test_progressive_resizing_trains_small_then_full_and_resumes_in_either_phase(tmp_path, crash_epoch):
    """small_size=24, small_fraction=0.5 of 4 epochs: 2 epochs at 24 px, then 2 at the network's
    32 px, with EMA and mixup. A run that crashes at the end of the small phase (epoch 1) or inside
    the full-size one (epoch 2) and is resumed ends with the weights of the uninterrupted run;
    best.keras comes from a full-size epoch only."""
    from keras_fer import training

    faces = _constant_faces()
    recipe = Recipe(optimizer="adamw", learning_rate=1e-2, batch_size=8, epochs=4, small_size=24,
                    small_fraction=0.5, ema_momentum=0.9, mixup=0.2, augment="standard")
    sizes = InputSizes()
    uninterrupted = _small_network(4)
    history = training.fit(uninterrupted, faces, faces, recipe, tmp_path / "once", extra_callbacks=[sizes])
    assert sizes.sizes == [24, 24, 32, 32]
    assert history.epoch == [0, 1, 2, 3] and len(history.history["val_accuracy"]) == 4
    assert json.loads((tmp_path / "once" / "best.json").read_text())["epoch"] in (3, 4)
    assert not (tmp_path / "once" / "backup").exists()  # a finished run keeps no backup

    with pytest.raises(Crash):
        training.fit(_small_network(4), faces, faces, recipe, tmp_path / "twice",
                     extra_callbacks=[CrashAtEpoch(crash_epoch)])
    resumed_sizes = InputSizes()
    resumed = _small_network(4)
    training.fit(resumed, faces, faces, recipe, tmp_path / "twice", extra_callbacks=[resumed_sizes])
    assert resumed_sizes.sizes == [32] * (3 - crash_epoch)
    assert [int(r["epoch"]) for r in csv.DictReader(open(tmp_path / "twice" / "history.csv"))] == [0, 1, 2, 3]
    for after_resume, straight in zip(resumed.get_weights(), uninterrupted.get_weights()):
        np.testing.assert_allclose(after_resume, straight, rtol=1e-5, atol=1e-6)
    assert resumed.input_shape == (None, 32, 32, 3)
    with pytest.raises(ValueError, match="expected shape=\\(None, 32, 32, 3\\)"):
        resumed(np.zeros((1, 24, 24, 3), "float32"))  # the size check is back after training
