"""Knowledge distillation (Hinton et al., 2015, at temperature 1): training targets that blend a data
set's labels with the mean class probabilities of trained "teacher" networks,

    target = (1 - weight) * label + weight * mean(teacher probabilities).

A teacher's probabilities say which other classes a face resembles, which FER2013's single noisy
label does not; several teachers distilled into one network can keep part of their ensemble's gain
at one network's inference cost (`benchmarks/prediction_ensemble.py` measures that gain). Teachers
that make the student's own errors teach them: on FER2013, stages 9 and 10 (ensemble +0.14 points)
as teachers of stage 9's command ended 1.08 points under it (RESULTS.md, stage 11).
Stage 13 taught by its own mirror-averaged probabilities (`--teacher-flip`, stage 14) kept +0.78
of its +1.5-point mirror gain and none of it moved into the single view.
`keras_fer train --teacher MODEL [--teacher MODEL ...] --teacher-weight W`.
"""

import dataclasses
import hashlib
import pathlib

import numpy as np

from keras_fer.data.images import BadInputError

TEACHER_TARGETS = "teacher_targets.npz"  # in the run folder: a resumed run does not predict again


def distill(data, teachers, weight, cache_path=None, flip=False):
    """LabeledImages `data` with soft labels (1 - weight) * labels + weight * the teachers' mean
    probabilities (hard labels count as one-hot). The teachers' probabilities are kept in
    `cache_path` and reused while the data, the teacher files and `flip` are the same. With `flip`
    each teacher predicts the mean of a face and its mirror image (`evaluate --flip`): a teacher
    that gains from mirror averaging passes that gain on as targets."""
    if not 0 <= weight <= 1:
        raise ValueError(f"the teacher weight must be between 0 and 1, got {weight}")
    probabilities = teacher_probabilities(data, teachers, cache_path, flip)
    labels = data.labels if data.soft else np.eye(len(data.class_names), dtype=np.float32)[data.labels]
    return dataclasses.replace(data, labels=((1 - weight) * labels + weight * probabilities).astype(np.float32))


def teacher_probabilities(data, teachers, cache_path=None, flip=False):
    """(N, classes) mean probabilities of the teacher models for `data`'s faces, columns in the
    data's class order (with `flip`, each the mean over the face and its mirror image)."""
    from keras_fer.model_io import resolve_model_path

    key = _cache_key(data, [resolve_model_path(teacher) for teacher in teachers], flip)
    if cache_path and pathlib.Path(cache_path).is_file():
        with np.load(cache_path, allow_pickle=False) as cached:
            if str(cached["key"]) == key:
                return cached["probabilities"]
    probabilities = np.mean([_predict_in_data_order(teacher, data, flip) for teacher in teachers], axis=0)
    if cache_path:
        temporary = pathlib.Path(cache_path).with_suffix(".partial.npz")
        np.savez(temporary, key=np.array(key), probabilities=probabilities)
        temporary.replace(cache_path)  # atomically: an interrupted write leaves no half file
    return probabilities


def _predict_in_data_order(teacher, data, flip=False):
    from keras_fer.inference import predict
    from keras_fer.model_io import load_model

    model, metadata = load_model(teacher)
    classes = list(metadata.get("class_names") or [])
    if sorted(classes) != sorted(data.class_names):
        raise BadInputError(f"teacher {teacher}: a model for {len(classes)} classes {classes}; the "
                            f"training data has {len(data.class_names)}: {list(data.class_names)}")
    equalize = metadata.get("preprocessing", {}).get("equalize")
    if equalize is not None and equalize != data.preprocessing.get("equalize"):
        raise BadInputError(f"teacher {teacher}: trained on faces with equalize={equalize}, but the training "
                            f"data has equalize={data.preprocessing.get('equalize')}")
    order = [classes.index(name) for name in data.class_names]
    return predict(model, data, flip=flip)[:, order]


def _cache_key(data, teacher_files, flip=False):
    """The data's fingerprint, the teachers' file contents and `flip`: a changed teacher predicts anew."""
    digest = hashlib.sha256(data.fingerprint().encode() + (b"|flip" if flip else b""))
    for path in teacher_files:
        if not pathlib.Path(path).is_file():
            raise FileNotFoundError(f"teacher {path}: model file not found")
        digest.update(pathlib.Path(path).read_bytes())
    return digest.hexdigest()[:16]
