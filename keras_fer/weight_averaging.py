"""Stochastic weight averaging (Izmailov et al., 2018, "Averaging Weights Leads to Wider Optima"):
the mean of the network's weights after each epoch from a given epoch on, evaluated on the
validation split after every epoch and saved as averaged.keras beside best.keras.

Epoch end points taken at a constant or slowly falling rate lie around the basin the run
explores; their mean lies nearer its centre than any of them. The mean needs no pass over the
data afterwards for GroupNorm, whose statistics are per face. A BatchNorm network's moving
statistics are averaged like its weights, an approximation of SWA's recomputation.
"""

import math
import pathlib

import keras
import numpy as np

from keras_fer.inference import predict
from keras_fer.model_io import read_record, save_model

AVERAGED = "averaged.keras"
LOG_KEY = "val_accuracy_averaged"  # history.csv's column: the average's validation accuracy


class WeightAverage(keras.callbacks.Callback):
    """Keeps the running mean of `network`'s weights after epochs `start_epoch`, ... (1-based),
    scores it on the LabeledImages `val` as `keras_fer evaluate` would and saves it with `metadata`.

    A resumed run (`resume=True`) reads the mean back from averaged.keras and skips the epochs it
    already holds, so an interrupted run ends with the same average as an uninterrupted one.
    """

    def __init__(self, network, out_dir, metadata, start_epoch, val, resume=False):
        super().__init__()
        if start_epoch < 1:
            raise ValueError(f"average_from_epoch must be 1 or more (0 turns averaging off), got {start_epoch}")
        self.network, self.metadata, self.start_epoch = network, metadata, int(start_epoch)
        self.path = pathlib.Path(out_dir) / AVERAGED
        self.val, self.resume = val, resume

    def on_train_begin(self, logs=None):
        self.mean, self.count, self.through_epoch = None, 0, 0
        record = self.path.with_suffix(".json")
        if self.resume and self.path.is_file() and record.is_file():
            advice = f"delete it and {AVERAGED} to start the average afresh"
            info = read_record(record, advice)
            try:
                self.count, self.through_epoch = int(info["averaged_epochs"]), int(info["epoch"])
            except (ValueError, KeyError, TypeError) as error:
                raise ValueError(f"{record}: not the record of a weight average ({error!r}); {advice}") from None
            saved = keras.saving.load_model(self.path, compile=False)
            self.mean = [np.asarray(w, "float64") for w in saved.get_weights()]

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        number = epoch + 1
        logs[LOG_KEY] = math.nan  # every row has the column (CSVLogger fixes its columns at the first)
        if number < self.start_epoch or number <= self.through_epoch:
            return
        current = self.network.get_weights()
        self.count += 1
        if self.mean is None:
            self.mean = [np.asarray(w, "float64") for w in current]
        else:
            for mean, weight in zip(self.mean, current):
                mean += (weight - mean) / self.count
        self.network.set_weights([m.astype(w.dtype) for m, w in zip(self.mean, current)])
        try:
            accuracy = self._validation_accuracy()
            save_model(self.network, self.path, {
                **self.metadata, "epoch": number, "averaged_epochs": self.count,
                "average_from_epoch": self.start_epoch, "val_accuracy": accuracy})
        finally:
            self.network.set_weights(current)  # training goes on from its own weights
        self.through_epoch = number
        logs[LOG_KEY] = accuracy

    def _validation_accuracy(self):
        return float(np.mean(predict(self.network, self.val).argmax(axis=1) == self.val.hard_labels))
