"""A starting point for `keras_fer train --init-from` on another data set's classes: a trained
model's backbone with a new classifier fitted on its frozen features.

`--init-from` alone copies every layer but `logits` when the class counts differ, so fine-tuning
starts with a random classifier whose first gradients disturb the trained backbone. Here the new
classifier is a softmax regression on the backbone's penultimate features of the training split
(standardized, then folded back into the 1x1 `logits` convolution), so the model file predicts
the new classes from the start.

    python scripts/transfer_init.py --source ferplus --dataset fer2013 \
        --data $KERAS_FER_DATASETS/fer2013 --split train --out runs/ferplus_to_fer2013.keras
"""

import argparse
import sys

import keras

from keras_fer.data import load_dataset
from keras_fer.inference import predict
from keras_fer.model_io import copy_matching_weights, load_model, save_model


def penultimate_features(model, data):
    """The inputs of the `logits` layer (after dropout, which is the identity in inference), one
    row per face of `data`."""
    features = keras.Model(model.inputs, model.get_layer("logits").input)
    return predict(features, data).reshape(len(data), -1)


def fit_softmax(features, labels, classes, epochs=30, seed=0):
    """Softmax regression on standardized features: (kernel, bias) on the raw features, and the
    fitted classifier's accuracy on them. `labels`: class indices (N,) or soft targets (N, classes)."""
    mean, std = features.mean(axis=0), features.std(axis=0) + 1e-6
    keras.utils.set_random_seed(seed)
    head = keras.Sequential([
        keras.Input((features.shape[1],)),
        keras.layers.Dense(classes, activation="softmax", kernel_regularizer=keras.regularizers.l2(1e-4)),
    ])
    loss = "categorical_crossentropy" if labels.ndim == 2 else "sparse_categorical_crossentropy"
    head.compile(keras.optimizers.Adam(1e-3), loss, metrics=["accuracy"])
    standardized = (features - mean) / std
    head.fit(standardized, labels, batch_size=256, epochs=epochs, verbose=0)
    accuracy = head.evaluate(standardized, labels, batch_size=256, verbose=0)[1]
    kernel, bias = head.layers[-1].get_weights()
    # w . (f - mean) / std + b  ==  (w / std) . f + (b - (mean / std) . w)
    return kernel / std[:, None], bias - (mean / std) @ kernel, accuracy


def with_classes(model, classes):
    """The same functional network with a `logits` layer for `classes` classes (weights fresh)."""
    config = model.get_config()
    for layer in config["layers"]:
        if layer["config"]["name"] == "logits":
            layer["config"]["filters"] = classes
    return keras.Model.from_config(config)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="trained model: a pretrained name or a .keras file")
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="train", help="the split the classifier is fitted on")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    source, metadata = load_model(args.source)
    data = load_dataset(args.dataset, args.data)[args.split]
    kernel, bias, accuracy = fit_softmax(penultimate_features(source, data), data.hard_labels,
                                         len(data.class_names))
    target = with_classes(source, len(data.class_names))
    copy_matching_weights(source, target)
    logits = target.get_layer("logits")
    logits.set_weights([kernel.reshape(logits.kernel.shape).astype("float32"), bias.astype("float32")])
    save_model(target, args.out, {**metadata, "class_names": list(data.class_names), "dataset": args.dataset,
                                  "transfer_init": {"source": str(args.source), "split": args.split}})
    print(f"{args.out}: {args.source}'s backbone, a {len(data.class_names)}-class head fitted on {len(data)} "
          f"faces of {args.dataset} {args.split} (training accuracy {accuracy:.4f})")


if __name__ == "__main__":
    sys.exit(main())
