"""Hyper-parameter search with keras-tuner; the best trial becomes a recipe file for `train`.

Searched (each can be fixed by the base recipe instead with `space=`):
learning rate (log 1e-4..1e-2), weight decay (AdamW, 0..0.1) or momentum (SGD, 0.8..0.99),
dropout (0..0.5), GroupNorm groups (2, 4, 8: they divide every channel count of the network),
dilation rate (1, 2, 3) and label smoothing (0..0.2). The tuner's state lives in OUT/tuner, so a
stopped search started again with the same command continues with the trials it has not run.
"""

import dataclasses
import json
import math
import pathlib

import keras_tuner

import keras_fer
from keras_fer.data.pipeline import ArrayBatches, with_input_layers
from keras_fer.models.variants import variant_config
from keras_fer.training import compile_for_training


class FERHyperModel(keras_tuner.HyperModel):
    def __init__(self, variant, base_recipe, input_size, input_channels, classes, stored_size, seed=0):
        super().__init__(name=variant)
        self.variant, self.base = variant, base_recipe
        self.input_size, self.input_channels, self.classes = input_size, input_channels, classes
        self.stored_size, self.seed = stored_size, seed

    def recipe(self, hp):
        """The base recipe with this trial's values (model options included)."""
        base = self.base
        values = {"learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"),
                  "label_smoothing": hp.Float("label_smoothing", 0.0, 0.2, step=0.05)}
        if base.optimizer == "adamw":
            values["weight_decay"] = hp.Float("weight_decay", 0.0, 0.1, step=0.01)
        else:
            values["momentum"] = hp.Float("momentum", 0.8, 0.99)
        options = dict(base.model_options)
        options["dropout"] = hp.Float("dropout", 0.0, 0.5, step=0.1)
        if variant_config(self.variant).norm == "group":
            options["groups"] = hp.Choice("groups", [2, 4, 8], default=8)
        options["dilation_rate"] = hp.Choice("dilation_rate", [1, 2, 3], default=2)
        return dataclasses.replace(base, model_options=options, **values)

    def build(self, hp):
        recipe = self.recipe(hp)
        network = keras_fer.build_variant(self.variant, input_size=self.input_size,
                                          input_channels=self.input_channels, classes=self.classes,
                                          **recipe.model_options)
        return compile_for_training(with_input_layers(network, self.stored_size, recipe.augment, self.seed), recipe)

    def fit(self, hp, model, train, val, epochs=1, callbacks=None, verbose=2, **kwargs):
        recipe = self.recipe(hp)
        return model.fit(ArrayBatches(train, recipe.batch_size, shuffle=True, seed=self.seed, drop_remainder=True),
                         validation_data=ArrayBatches(val, 256), epochs=epochs, callbacks=callbacks,
                         verbose=verbose)


def make_tuner(hypermodel, out_dir, trials, seed):
    # keras-tuner draws a random seed for a falsy one (`seed or random.randint(...)`), so our default
    # seed 0 gave a different search every time; seed + 1 keeps every seed, 0 included, reproducible.
    return keras_tuner.RandomSearch(hypermodel, objective="val_accuracy", max_trials=trials, seed=seed + 1,
                                    directory=str(out_dir), project_name="tuner", overwrite=False)


def tune(variant, train, val, base_recipe, out_dir, *, trials=10, epochs=3, input_size=48,
         input_channels=3, seed=0, verbose=2):
    """Run the search; write OUT/best_recipe.json (a `train --recipe` file) and OUT/trials.json."""
    out_dir = pathlib.Path(out_dir)
    hypermodel = FERHyperModel(variant, base_recipe, input_size, input_channels, len(train.class_names),
                               train.images.shape[1], seed)
    tuner = make_tuner(hypermodel, out_dir, trials, seed)
    tuner.search(train, val, epochs=epochs, verbose=verbose)
    # Ties (small validation sets) are broken by trial id: keras-tuner's own order of equal scores
    # changes when a finished search is reloaded, and the best recipe must not.
    ranked = sorted(tuner.oracle.get_best_trials(num_trials=trials),
                    key=lambda t: (-(t.score if t.score is not None else -math.inf), t.trial_id))
    summary = [{"trial": t.trial_id, "val_accuracy": t.score, "values": t.hyperparameters.values}
               for t in ranked]
    (out_dir / "trials.json").write_text(json.dumps(summary, indent=2))
    best = hypermodel.recipe(ranked[0].hyperparameters)
    best.save(out_dir / "best_recipe.json")
    return best, summary
