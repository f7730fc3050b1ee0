"""Would FER+'s votes help a FER2013 model? FER+ relabels FER2013's own training faces with ten
annotators each; this blends those votes (mapped to FER2013's 7 classes, contempt as disgust)
into FER2013's one-hot labels, target = (1 - w) * one-hot + w * votes, and fits a softmax
regression on a model's frozen penultimate features (scripts/transfer_init.py's) for each
weight w, scored on FER2013's own `test/` labels. Faces are matched by content, as
scripts/face_pack.py does; unmatched faces keep their one-hot label.

    .venv/bin/python benchmarks/ferplus_vote_blend.py ferplus fer2013    # 5.5 min on a quiet 2-core CPU
"""

import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import numpy as np  # noqa: E402
from face_pack import MIN_SIMILARITY, match  # noqa: E402
from transfer_init import fit_softmax, penultimate_features  # noqa: E402

from keras_fer.data import load_dataset  # noqa: E402
from keras_fer.model_io import load_model  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets"
TO_FER2013 = {"neutral": "neutral", "happiness": "happy", "surprise": "surprise", "sadness": "sad",
              "anger": "angry", "disgust": "disgust", "fear": "fear", "contempt": "disgust"}
WEIGHTS = (0.0, 0.2, 0.4, 0.6, 1.0)


def fer2013_votes(fer2013_train, ferplus_train):
    """(N, 7) FER+ vote distributions for FER2013's training faces; NaN rows where none matched."""
    best, similarity = match(ferplus_train.images, fer2013_train.images)
    kept = similarity >= MIN_SIMILARITY
    names = list(fer2013_train.class_names)
    mapping = np.zeros((len(ferplus_train.class_names), len(names)), np.float32)
    for i, name in enumerate(ferplus_train.class_names):
        mapping[i, names.index(TO_FER2013[name])] = 1
    votes = np.full((len(fer2013_train), len(names)), np.nan, np.float32)
    votes[best[kept]] = ferplus_train.labels[kept] @ mapping
    return votes


def main(models):
    start = time.perf_counter()
    fer2013 = load_dataset("fer2013", DATA / "fer2013")
    train, test = fer2013["train"], fer2013["test"]
    votes = fer2013_votes(train, load_dataset("ferplus", DATA / "ferplus", label_mode="probability")["train"])
    has = ~np.isnan(votes[:, 0])
    labels = train.hard_labels
    print(f"{has.sum()} of {len(train)} training faces have FER+ votes; their top class is FER2013's label "
          f"for {np.mean(votes[has].argmax(1) == labels[has]):.3f}, which holds {np.mean(votes[has, labels[has]]):.3f} "
          f"of the votes on average")
    one_hot = np.eye(len(train.class_names), dtype=np.float32)[labels]
    for name in models:
        model, _ = load_model(name)
        features, test_features = penultimate_features(model, train), penultimate_features(model, test)
        for weight in WEIGHTS:
            target = one_hot.copy()
            target[has] = (1 - weight) * one_hot[has] + weight * votes[has]
            kernel, bias, _ = fit_softmax(features, target, len(train.class_names))
            accuracy = [np.mean((f @ kernel + bias).argmax(1) == y)
                        for f, y in ((features, labels), (test_features, test.hard_labels))]
            print(f"{name} features, w={weight:.1f}: train {accuracy[0]:.4f}  test/ {accuracy[1]:.4f}  "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ["ferplus", "fer2013"])
