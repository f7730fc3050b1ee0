"""Recipes, callbacks and `model.fit` on stored faces — backend-agnostic (TensorFlow or JAX).

A run directory gets: config.json, splits.json, history.csv, curves.png (loss and accuracy per
epoch), tensorboard/ (TensorFlow backend), best.keras / last.keras (the network alone, with its
class names and preprocessing), backup/ (BackupAndRestore: a killed run started
again, `train ... --resume`, continues from its last completed epoch), schedule.json (the time
budget's plan, so that a resumed run keeps it), random_state.json (the data order and seed states
after each epoch, so that it keeps its random streams too), averaged.keras (with the recipe's
average_from_epoch: the mean of the weights after each epoch from then on).
"""

import contextlib
import dataclasses
import json
import math
import pathlib
import time

import keras
import numpy as np

from keras_fer.data.pipeline import ArrayBatches, accepting_any_size, augmentation, with_input_layers
from keras_fer.data.splits import write_split_record
from keras_fer.model_io import read_record, save_model, write_record
from keras_fer.models.config import ArchitectureConfig
from keras_fer.weight_averaging import WeightAverage

SCHEDULE_STATE = "schedule.json"  # EpochSchedule's plan, read back by a resumed run
RANDOM_STATE = "random_state.json"  # RandomStreams' record, read back by a resumed run


@dataclasses.dataclass
class Recipe:
    optimizer: str = "sgd"
    learning_rate: float = 1e-4
    momentum: float = 0.0
    weight_decay: float = 0.0
    batch_size: int = 16
    epochs: int = 100
    warmup_epochs: float = 0.0
    schedule: str = "constant"  # or "cosine"
    label_smoothing: float = 0.0
    augment: str = "none"
    class_weights: bool = False
    # Stochastic weight averaging: from this 1-based epoch on, the mean of the weights after each
    # epoch is scored and saved as averaged.keras (keras_fer.weight_averaging); 0 = off.
    average_from_epoch: int = 0
    # Exponential moving average of the weights (the optimizer's `use_ema`): validation and the
    # saved models use the averaged weights; 0 = off (0.999 averages over about 1,000 steps).
    ema_momentum: float = 0.0
    # Mixup (Zhang et al., 2018): each training batch is blended with a shuffled copy of itself,
    # faces and targets alike, with a weight drawn from Beta(mixup, mixup); 0 = off.
    mixup: float = 0.0
    # Where the recipe fixes them: the network's input size and FER+'s label mode (0 / "": the
    # command line's --input-size and --label-mode).
    input_size: int = 0
    label_mode: str = ""
    # Progressive resizing: the first `small_fraction` of the epochs train at `small_size` (cheaper
    # per epoch), the rest at the network's input size; 0 = off.
    small_size: int = 0
    small_fraction: float = 0.0
    # The recipe's architecture: ArchitectureConfig fields over the --model variant's (what
    # `keras_fer tune` searches: dropout, groups, dilation_rate, ...); `train` passes them to build_variant.
    model_options: dict = dataclasses.field(default_factory=dict)
    # Warm restarts (SGDR, Loshchilov & Hutter, 2017): after the main schedule's `epochs`, more
    # cosine cycles, each {"epochs": N, "learning_rate": PEAK, "warmup_epochs": W} from its own
    # peak to zero, the optimizer's state carried over. A run with a time budget fits the main
    # schedule to the budget and runs none of them.
    restarts: list = dataclasses.field(default_factory=list)

    def __post_init__(self):
        for index, cycle in enumerate(self.restarts):
            where = f"restarts[{index}]"
            if not isinstance(cycle, dict) or not {"epochs", "learning_rate"} <= set(cycle):
                raise ValueError(f"{where}: needs an object with 'epochs' and 'learning_rate' (and "
                                 f"optionally 'warmup_epochs'), got {cycle!r}")
            unknown = sorted(set(cycle) - {"epochs", "learning_rate", "warmup_epochs"})
            if unknown:
                raise ValueError(f"{where}: unknown field(s) {unknown}; known: epochs, learning_rate, warmup_epochs")
            epochs, rate, warmup = cycle["epochs"], cycle["learning_rate"], cycle.get("warmup_epochs", 0)
            if not (isinstance(epochs, int) and all(isinstance(n, (int, float)) for n in (rate, warmup))
                    and epochs > 0 and rate > 0 and 0 <= warmup < epochs):
                raise ValueError(f"{where}: needs epochs > 0 (an integer), learning_rate > 0 and "
                                 f"0 <= warmup_epochs < epochs, got {cycle!r}")

    @property
    def total_epochs(self):
        """The main schedule's epochs and the restart cycles'."""
        return self.epochs + sum(cycle["epochs"] for cycle in self.restarts)

    @classmethod
    def from_file(cls, path):
        values = read_record(path, "fix the recipe file (a JSON object of recipe fields)")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{path}: unknown recipe field(s) {unknown}; known: {sorted(known)}")
        try:  # a misspelt architecture field or choice fails here, not after the data has loaded
            ArchitectureConfig.from_dict(values.get("model_options", {}))
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path}: model_options: {error}") from None
        try:
            return cls(**values)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None

    def save(self, path):
        pathlib.Path(path).write_text(json.dumps(dataclasses.asdict(self), indent=2))


RECIPE_DIR = pathlib.Path(__file__).parent / "recipes"  # named recipe files shipped with the package

RECIPES = {
    # The paper: SGD, lr 1e-4, batch 16, 100 epochs; it names no augmentation or schedule.
    "paper": Recipe(),
    # AdamW with warm-up and cosine decay, label smoothing and geometric augmentation.
    "strong": Recipe(optimizer="adamw", learning_rate=2e-3, weight_decay=0.05, batch_size=64,
                     epochs=60, warmup_epochs=3, schedule="cosine", label_smoothing=0.1,
                     augment="standard"),
}


def recipe_names():
    """The presets, then the recipe files shipped in keras_fer/recipes/ (by file stem). The stage
    recipes of the shipped models, in recipes/stages/, are named `stages/NAME`."""
    return [*RECIPES, *sorted(path.stem for path in RECIPE_DIR.glob("*.json"))]


def get_recipe(name_or_path, **overrides):
    """A preset, a recipe shipped with the package (by name), or a recipe JSON file."""
    if name_or_path in RECIPES:
        recipe = RECIPES[name_or_path]
    elif (RECIPE_DIR / f"{name_or_path}.json").is_file():
        recipe = Recipe.from_file(RECIPE_DIR / f"{name_or_path}.json")
    elif pathlib.Path(name_or_path).is_file():
        recipe = Recipe.from_file(name_or_path)
    else:
        raise ValueError(f"unknown recipe {name_or_path!r}: one of {', '.join(recipe_names())} or a JSON file")
    return dataclasses.replace(recipe, **{k: v for k, v in overrides.items() if v is not None})


def compile_for_training(wrapper, recipe):
    """Compile the training wrapper with the recipe's optimizer, loss and metric; returns it."""
    wrapper.compile(
        make_optimizer(recipe),
        keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
        # XLA is slower for this net on TF CPU, and Keras' "auto" would pick it there.
        jit_compile=keras.backend.backend() != "tensorflow",
    )
    # Create the optimizer's slots now. Keras' TF trainer (no strategy) otherwise creates them inside
    # the first compiled step, and TensorFlow then traces that step twice (AdamW at 32x32: 25 s to
    # the first step instead of 13, BENCHMARKS.md, "What we tried"); tests and tuner trials pay it most.
    wrapper.optimizer.build(wrapper.trainable_variables)
    return wrapper


def make_optimizer(recipe):
    """The recipe's optimizer at its base rate; `EpochSchedule` sets the rate every epoch."""
    ema = {"use_ema": True, "ema_momentum": recipe.ema_momentum} if recipe.ema_momentum else {}
    if recipe.optimizer == "sgd":
        return keras.optimizers.SGD(recipe.learning_rate, momentum=recipe.momentum,
                                    weight_decay=recipe.weight_decay or None, **ema)
    if recipe.optimizer == "adamw":
        return keras.optimizers.AdamW(recipe.learning_rate, weight_decay=recipe.weight_decay, **ema)
    raise ValueError(f"optimizer must be 'sgd' or 'adamw', got {recipe.optimizer!r}")


def scheduled_rate(recipe, epoch, total_epochs):
    """Learning rate of 0-based `epoch`: linear warm-up, then constant or cosine to zero over the
    main schedule's `total_epochs` (the recipe's, or fewer under a time budget); after the recipe's
    `epochs`, its restart cycles."""
    if epoch >= recipe.epochs:
        return _restart_rate(recipe.restarts, epoch - recipe.epochs)
    base = recipe.learning_rate
    if epoch < recipe.warmup_epochs:
        return base * (epoch + 1) / (recipe.warmup_epochs + 1)
    if recipe.schedule == "constant":
        return base
    if recipe.schedule == "cosine":
        span = max(1.0, total_epochs - recipe.warmup_epochs)
        progress = min(1.0, (epoch - recipe.warmup_epochs) / span)
        return base * 0.5 * (1 + math.cos(math.pi * progress))
    raise ValueError(f"schedule must be 'constant' or 'cosine', got {recipe.schedule!r}")


def _restart_rate(cycles, epoch):
    """The rate of `epoch` (0-based, counted from the end of the main schedule) in the restart cycles."""
    for cycle in cycles:
        if epoch < cycle["epochs"]:
            one_cycle = Recipe(learning_rate=cycle["learning_rate"], warmup_epochs=cycle.get("warmup_epochs", 0),
                               schedule="cosine", epochs=cycle["epochs"])
            return scheduled_rate(one_cycle, epoch, cycle["epochs"])
        epoch -= cycle["epochs"]
    return 0.0


class EpochSchedule(keras.callbacks.Callback):
    """Sets the optimizer's rate each epoch (a variable, so it works inside compiled steps).

    With `time_budget` (seconds of training in all) the number of epochs is planned again after
    every epoch from the median time of the epochs so far (the first one of a process is left out:
    it includes compilation; the median, so that one epoch slowed by other work on a shared
    machine does not cut the plan short), so that the cosine reaches zero when the budget ends
    even when the machine gets slower or faster, and training stops before an epoch would
    overrun it.

    With `state_path` the plan (seconds trained, epoch times, planned epochs) is written after
    every epoch, and a resumed run reads it back: `--resume` with the same `--time-budget`
    continues the same cosine and stops when the run's whole budget is spent, not the budget
    again from the restart.
    """

    def __init__(self, recipe, time_budget=None, state_path=None):
        super().__init__()
        self.recipe, self.time_budget = recipe, time_budget
        self.state_path = pathlib.Path(state_path) if state_path else None
        self.total_epochs = self.planned_epochs_on_disk()
        self.stopped_for_phase = False  # set by EndOfSmallPhase

    def planned_epochs_on_disk(self):
        return min(self.recipe.epochs, int(self._state().get("total_epochs", self.recipe.epochs)))

    def planned_epochs(self):
        """The epochs the run is planned to have: the recipe's with its restart cycles, or the time
        budget's latest plan (which has no restart cycles)."""
        return self.total_epochs if self.time_budget else self.recipe.total_epochs

    def _state(self):
        if self.time_budget and self.state_path and self.state_path.is_file():
            return read_record(self.state_path, "delete it to plan the rest of the budget afresh")
        return {}

    def on_train_begin(self, logs=None):
        self.start = time.time()
        self.epoch_start = self.start
        self.first_epoch = None
        state = self._state()
        self.earlier_seconds = float(state.get("trained_seconds", 0.0))
        self.timed_epochs = [float(t) for t in state.get("timed_epochs", [])]
        self.total_epochs = self.planned_epochs_on_disk()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = time.time()
        if self.first_epoch is None:
            self.first_epoch = epoch
        self.model.optimizer.learning_rate.assign(scheduled_rate(self.recipe, epoch, self.total_epochs))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(scheduled_rate(self.recipe, epoch, self.total_epochs))
        if not self.time_budget:
            return
        now = time.time()
        elapsed = self.earlier_seconds + now - self.start
        if epoch != self.first_epoch:  # a process's first epoch includes compilation (minutes for XLA)
            self.timed_epochs.append(now - self.epoch_start)
        if self.timed_epochs:
            per_epoch = float(np.median(self.timed_epochs))
            remaining = int((self.time_budget - elapsed) // per_epoch)
            self.total_epochs = min(self.recipe.epochs, epoch + 1 + max(0, remaining))
            out_of_time = epoch + 1 >= self.total_epochs
        else:  # no basis for a forecast yet
            out_of_time = elapsed > self.time_budget
        if out_of_time:  # only ever set: another callback (TerminateOnNaN) may have stopped the run
            self.model.stop_training = True
        if self.state_path:
            state = {"time_budget": self.time_budget, "trained_seconds": elapsed,
                     "timed_epochs": self.timed_epochs, "total_epochs": self.total_epochs}
            write_record(self.state_path, state)


class RandomStreams(keras.callbacks.Callback):
    """Records after every epoch where the run's random streams stand: the epochs done (which
    place the shuffled order) and the seed states of the augmentation and dropout layers, which
    BackupAndRestore's weights file leaves out. Without them every resumed run repeated its first
    epochs' batches and augmentations exactly (training accuracy jumped at a restart)."""

    def __init__(self, path):
        super().__init__()
        self.path = pathlib.Path(path)

    def on_epoch_end(self, epoch, logs=None):
        write_record(self.path, {"epochs_done": epoch + 1,
                                 "seed_states": [np.asarray(v).tolist() for v in seed_states(self.model)]})


def seed_states(model):
    """The state variables of `model`'s seed generators (random augmentation, dropout)."""
    return [v for v in model.non_trainable_variables if v.path.endswith("seed_generator_state")]


def restore_random_streams(model, path):
    """Epochs done per `path` (RandomStreams' record; 0 where there is none, as for a run begun
    before it existed), after setting `model`'s seed states to the recorded ones."""
    path = pathlib.Path(path)
    if not path.is_file():
        return 0
    record = read_record(path, "delete it to resume with fresh random streams")
    variables = seed_states(model)
    if len(variables) != len(record["seed_states"]):
        raise ValueError(f"{path}: {len(record['seed_states'])} seed states recorded, the model has "
                         f"{len(variables)}; resume with the run's own --model and --recipe")
    for variable, value in zip(variables, record["seed_states"]):
        variable.assign(np.asarray(value, dtype=variable.dtype))
    return int(record["epochs_done"])


class SwapToAveragedWeights(keras.callbacks.SwapEMAWeights):
    """Keras' SwapEMAWeights with `swap_on_epoch`: validation and the callbacks after it (SaveNetwork)
    see the averaged weights. It also leaves them in the network when a time budget or a NaN stops
    the run early; Keras' own does that only after the recipe's last epoch."""

    def __init__(self):
        super().__init__(swap_on_epoch=True)

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if self.model.stop_training and epoch != self.params["epochs"] - 1:
            self._finalize_ema_values()


class SaveNetwork(keras.callbacks.Callback):
    """Saves the wrapped network (not the training wrapper) as last.keras and, when the monitored
    validation accuracy improves, best.keras — each with class names and preprocessing."""

    def __init__(self, network, out_dir, metadata, monitor="val_accuracy", best=-math.inf):
        super().__init__()
        self.network, self.out_dir, self.metadata, self.monitor = network, pathlib.Path(out_dir), metadata, monitor
        self.best = best  # a resumed run passes its best so far: a worse epoch must not replace it

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        info = {**self.metadata, "epoch": epoch + 1, **{k: float(v) for k, v in logs.items()}}
        save_model(self.network, self.out_dir / "last.keras", info)
        score = logs.get(self.monitor)
        if score is not None and score > self.best:
            self.best = float(score)
            save_model(self.network, self.out_dir / "best.keras", info)


def fit(network, train, val, recipe, out_dir, *, stored_size=None, seed=0, time_budget=None,
        dataset="", split="own", verbose=2, extra_callbacks=(), provenance=None):
    """Train `network` (a keras_fer model) on LabeledImages `train`, validate on `val`.
    `provenance` (e.g. the teachers of a distilled run) is kept in the run's config and its models.

    Works on every backend: faces go in as NumPy batches; augmentation and resizing are the first
    layers of the training wrapper. With the recipe's `small_size`, the first epochs train (and
    validate) at that size, the rest at the network's: two `model.fit` calls sharing the network
    and augmentation, the second one resuming from the first one's backup (weights, optimizer,
    random streams) exactly as a restarted process would. Returns the Keras History (of every epoch this call trained).
    """
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stored_size = stored_size or train.images.shape[1]
    keras.utils.set_random_seed(seed)
    augmenter = augmentation(recipe.augment, seed)
    resuming = (out_dir / "backup").is_dir()  # BackupAndRestore's folder: an interrupted run
    epochs_done = 0
    if resuming:
        epochs_done = restore_random_streams(with_input_layers(network, stored_size, augmenter=augmenter),
                                             out_dir / RANDOM_STATE)
    val_batches = ArrayBatches(val, 256)
    metadata = {
        "class_names": list(train.class_names),
        "preprocessing": {**train.preprocessing, "stored_size": stored_size, "input_size": network.input_shape[1],
                          "input_channels": network.input_shape[3], "value_range": [0, 255]},
        "dataset": dataset, "recipe": dataclasses.asdict(recipe), "backend": keras.backend.backend(),
        **(provenance or {}),
    }
    architecture = getattr(network, "keras_fer_architecture", None)  # set by the builder
    if architecture is not None:
        metadata["architecture"] = architecture.to_dict()
    config = {**metadata, "model": network.name, "split": split, "seed": seed, "n_train": len(train),
              "n_val": len(val), "stored_size": stored_size, "time_budget": time_budget}
    if not resuming:  # a finished run's plan and random streams are not this run's
        (out_dir / SCHEDULE_STATE).unlink(missing_ok=True)
        (out_dir / RANDOM_STATE).unlink(missing_ok=True)
    (out_dir / "config.json").write_text(json.dumps(config, indent=2))
    write_split_record(out_dir / "splits.json", train, val, dataset, split, seed)
    schedule = EpochSchedule(recipe, time_budget, out_dir / SCHEDULE_STATE)
    histories = []
    small = recipe.small_size if recipe.small_size and recipe.small_fraction > 0 else None
    for size in ([small] if small else []) + [None]:
        if size and epochs_done >= small_phase_epochs(recipe, schedule.total_epochs):
            continue  # a resumed run already past the small epochs
        phase_callbacks = [
            # First: it adds the rate to the logs the others write.
            schedule,
            *([EndOfSmallPhase(schedule)] if size else []),
            # The small phase keeps its backup: the full-size phase starts from it.
            keras.callbacks.BackupAndRestore(str(out_dir / "backup"), delete_checkpoint=not size),
            RandomStreams(out_dir / RANDOM_STATE),  # next to the backup: the two describe the same epoch
            keras.callbacks.TerminateOnNaN(),
            # After the backup (it keeps the raw weights and their average apart), before SaveNetwork.
            *([SwapToAveragedWeights()] if recipe.ema_momentum else []),
            # No best.keras from the small phase: it is validated at the small size.
            SaveNetwork(network, out_dir, metadata, monitor=None if size else "val_accuracy",
                        best=best_so_far(out_dir) if resuming or histories else -math.inf),
            # After SaveNetwork (its records get no NaN for epochs before averaging), before CSVLogger.
            *([WeightAverage(network, out_dir, metadata, recipe.average_from_epoch, val,
                             resume=resuming or bool(histories))] if recipe.average_from_epoch else []),
            # Last: a row in history.csv means that epoch's backup and checkpoints are on disk.
            keras.callbacks.CSVLogger(str(out_dir / "history.csv"), append=True),
            *extra_callbacks,
        ]
        if keras.backend.backend() == "tensorflow":
            phase_callbacks.append(keras.callbacks.TensorBoard(str(out_dir / "tensorboard")))
        # New batches for each phase, as a restarted process makes them: Keras peeks into a data set
        # it has not seen, and that moves its epoch on (one reused object would skip that peek).
        train_batches = ArrayBatches(train, recipe.batch_size, shuffle=True, seed=seed, drop_remainder=True,
                                     sample_weights=_weights(train, recipe), start_epoch=epochs_done,
                                     mixup=recipe.mixup)
        wrapper = with_input_layers(network, stored_size, size=size, augmenter=augmenter)
        compile_for_training(wrapper, recipe)  # the full-size phase restores its state from the backup
        with accepting_any_size(network) if size else contextlib.nullcontext():
            # shuffle=False: ArrayBatches shuffles the faces itself. Keras' own shuffle of the batches'
            # order draws from NumPy's global state, which a resumed process would restart.
            histories.append(wrapper.fit(train_batches, validation_data=val_batches, epochs=recipe.total_epochs,
                                         initial_epoch=epochs_done, callbacks=phase_callbacks, verbose=verbose,
                                         shuffle=False))
        epochs_done = _epochs_done(out_dir)
        if wrapper.stop_training and not schedule.stopped_for_phase or epochs_done >= schedule.planned_epochs():
            break  # out of time, a NaN, or the recipe's last epoch
    from keras_fer.evaluation import plot_history

    plot_history(out_dir / "history.csv", out_dir / "curves.png")
    history = histories[-1]
    for earlier in reversed(histories[:-1]):
        history.epoch = earlier.epoch + history.epoch
        history.history = {key: earlier.history.get(key, []) + values for key, values in history.history.items()}
    return history


def small_phase_epochs(recipe, planned_epochs):
    """How many of the planned epochs train at the recipe's small size."""
    return int(round(recipe.small_fraction * planned_epochs))


class EndOfSmallPhase(keras.callbacks.Callback):
    """Stops the small-size `fit` when its share of the (re)planned epochs is done."""

    def __init__(self, schedule):
        super().__init__()
        self.schedule = schedule
        schedule.stopped_for_phase = False

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 >= small_phase_epochs(self.schedule.recipe, self.schedule.total_epochs):
            self.model.stop_training = self.schedule.stopped_for_phase = True


def _epochs_done(out_dir):
    """Epochs completed in the run folder (RandomStreams' record of the last one)."""
    path = pathlib.Path(out_dir) / RANDOM_STATE
    return int(read_record(path, "delete it to resume with fresh random streams")["epochs_done"]) if path.is_file() else 0


def best_record(out_dir):
    """The record of the run's best.keras (best.json: its epoch and scores), or {} where there is none."""
    path = pathlib.Path(out_dir) / "best.json"
    if not path.is_file():
        return {}
    return read_record(path, "best.keras's record; delete it to let the next epoch replace it")


def best_so_far(out_dir, monitor="val_accuracy"):
    """The monitored score of the run's best.keras (from best.json), or -inf where there is none."""
    return float(best_record(out_dir).get(monitor, -math.inf))


def _weights(data, recipe):
    if not recipe.class_weights:
        return None
    table = data.class_weights()
    return np.array([table[int(label)] for label in data.hard_labels], "float32")
