"""Class probabilities of a Keras or LiteRT model for stored faces, with the test-time
augmentations (mirror image, ten crops): what `FER`, `explain`, `keras_fer evaluate` and
training's teachers and weight averaging all run, so a face is classified the same way
everywhere."""

import numpy as np

from keras_fer.data.pipeline import to_model_input


def predict(model, data, batch_size=256, flip=False, ten_crop=False):
    """Class probabilities of a Keras (or LiteRT) model for a data set's stored faces, in chunks
    of `batch_size` model inputs (`predict_faces` for the test-time augmentation)."""
    step = max(1, batch_size // TEN_CROPS) if ten_crop else batch_size  # ten model inputs per face
    outputs = [predict_faces(model, data.images[start:start + step], batch_size, flip, ten_crop)
               for start in range(0, len(data), step)]
    return np.concatenate(outputs) if outputs else np.zeros((0, model.output_shape[-1]))


def predict_faces(model, faces, batch_size=256, flip=False, ten_crop=False):
    """Class probabilities for stored faces (N, S, S) uint8. Test-time augmentation, off by
    default as the paper evaluates single views: with `flip`, the mean of the face's and its
    mirror image's; with `ten_crop`, the mean of its ten crops (`ten_crop_views`)."""
    if flip and ten_crop:
        raise ValueError("choose one test-time augmentation: flip or ten_crop")
    if ten_crop:
        return predict_ten_crop_averaged(model, faces, batch_size)
    x = to_model_input(faces, model.input_shape[1], model.input_shape[3])
    if flip:
        return predict_flip_averaged(model, x, batch_size)
    return model_outputs(model, x, batch_size)


def model_outputs(model, x, batch_size=256):
    """`model.predict(x)`. Inputs that fit one batch go through `predict_on_batch` instead, which
    skips predict's per-call setup (data adapter, iterator, callbacks): for one face of the shipped
    fer2013 model 12 ms instead of 69 on 2 cores, the same numbers (BENCHMARKS.md). A photo or a
    video frame is one such call."""
    if len(x) <= batch_size and hasattr(model, "predict_on_batch"):  # LiteRT models have no setup to skip
        return np.asarray(model.predict_on_batch(x))
    return np.asarray(model.predict(x, verbose=0, batch_size=batch_size))


def predict_flip_averaged(model, x, batch_size=256):
    """Mean probabilities of model inputs x (N, H, W, C) and their horizontal mirror images: faces
    are near-symmetric, and the two views' errors partly cancel (about a point for the shipped
    models: RESULTS.md's test-time augmentation table) at twice the compute."""
    both = np.concatenate([x, x[:, :, ::-1]])
    probabilities = model_outputs(model, both, batch_size)
    return (probabilities[:len(x)] + probabilities[len(x):]) / 2


# Ten-crop, the usual FER2013 protocol of the literature: crops of 11/12 of the stored face's side
# (44 of 48 pixels; 42 was worse, benchmarks/test_time_augmentation.py) at the centre and the four
# corners, each also mirrored, each enlarged to the model's input as a whole face is.
TEN_CROP_FRACTION = 11 / 12
TEN_CROPS = 10


def crop_offsets(side, crop):
    """(name, top, left) of the centre and four corner crops of side `crop` in a square of `side`."""
    far, middle = side - crop, (side - crop) // 2
    return [("centre", middle, middle), ("top-left", 0, 0), ("top-right", 0, far),
            ("bottom-left", far, 0), ("bottom-right", far, far)]


def ten_crop_views(faces):
    """The ten views of stored faces (N, S, S): five crops (centre, corners) and their mirror images."""
    faces = np.asarray(faces)
    side = faces.shape[1]
    if faces.ndim != 3 or faces.shape[2] != side:
        raise ValueError(f"ten-crop needs square faces (N, S, S), got shape {faces.shape}")
    crop = round(side * TEN_CROP_FRACTION)
    crops = [faces[:, top:top + crop, left:left + crop] for _, top, left in crop_offsets(side, crop)]
    return crops + [c[:, :, ::-1] for c in crops]


def predict_ten_crop_averaged(model, faces, batch_size=256):
    """Mean probabilities of the ten views of stored faces (N, S, S) uint8. For the shipped models
    about as good as flip at five times its compute; whether it beats flip depends on the training
    (corner crops show a finer scale than training did unless it used random erasing; per model
    in RESULTS.md's test-time augmentation table)."""
    size, channels = model.input_shape[1], model.input_shape[3]
    x = np.concatenate([to_model_input(np.ascontiguousarray(view), size, channels) for view in ten_crop_views(faces)])
    probabilities = model_outputs(model, x, batch_size)
    return probabilities.reshape(TEN_CROPS, len(faces), -1).mean(axis=0)
