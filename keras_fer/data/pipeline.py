"""From stored faces (uint8, H x W) to model inputs, and batches for `model.fit`.

The value range every model of this package expects: float32 pixels in [0, 255], shape
(S, S, C) with C = 1 or the grey channel replicated to 3 (the model rescales to [-1, 1] itself).

Two feeds, one set of Keras layers:
- `tf_dataset`: tf.data (TensorFlow backend) — batch, then augment + resize in parallel map calls
  with the layers below, prefetch.
- `ArrayBatches` + `with_input_layers`: NumPy batches of stored faces for any backend (JAX on a
  GPU), with resizing and augmentation as the first layers of the training model.
"""

import contextlib
import math

import cv2
import keras
import numpy as np
from keras import ops

from keras_fer.layers import PACKAGE


@keras.saving.register_keras_serializable(package=PACKAGE)
class ToModelInput(keras.layers.Layer):
    """(N, H, W, 1) pixels in [0, 255] -> (N, size, size, channels) float32, bilinear resize."""

    def __init__(self, size, channels=3, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)
        self.channels = int(channels)

    def call(self, images):
        images = ops.cast(images, "float32")
        if images.shape[1] != self.size or images.shape[2] != self.size:
            images = ops.image.resize(images, (self.size, self.size), interpolation="bilinear")
        if self.channels == 3 and images.shape[-1] == 1:
            images = ops.repeat(images, 3, axis=-1)
        return images

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, self.channels)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "channels": self.channels}


def to_model_input(faces, size, channels=3):
    """NumPy uint8 faces (N, H, W) or (H, W) -> float32 model input (N, size, size, channels)."""
    faces = np.asarray(faces)
    if faces.ndim == 2:
        faces = faces[None]
    if faces.shape[1] <= size and faces.shape[2] <= size:
        # Enlarging (48 -> 96, every face of the shipped models): OpenCV's bilinear resize in float32
        # is TensorFlow's (half-pixel centres) to float rounding, without the eager-op overhead that
        # made it most of the time to classify one face (BENCHMARKS.md, "Fast by default").
        resized = np.stack([cv2.resize(face.astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
                            for face in faces]) if len(faces) else np.zeros((0, size, size), np.float32)
        return np.repeat(resized[..., None], channels, axis=-1)
    return keras.ops.convert_to_numpy(ToModelInput(size, channels)(faces[..., None].astype("float32")))


# Geometric jitter that keeps a face a face: mirror, +-10 deg, +-10 % zoom and shift.
_STANDARD = [
    lambda seed: keras.layers.RandomFlip("horizontal", seed=seed),
    lambda seed: keras.layers.RandomRotation(10 / 360, fill_mode="reflect", seed=seed),
    lambda seed: keras.layers.RandomZoom(0.1, fill_mode="reflect", seed=seed),
    lambda seed: keras.layers.RandomTranslation(0.1, 0.1, fill_mode="reflect", seed=seed),
]

AUGMENTATIONS = {
    "none": [],
    "standard": _STANDARD,
    # "standard" plus random erasing (Zhong et al., 2017): half the faces get a noise patch over
    # 2-25 % of their area, so the network cannot rest on one region (an eye, the mouth) alone.
    "erasing": _STANDARD + [
        lambda seed: keras.layers.RandomErasing(factor=(0.5, 0.5), scale=(0.02, 0.25), value_range=(0, 255),
                                                seed=seed),
    ],
    "strong": [
        lambda seed: keras.layers.RandomFlip("horizontal", seed=seed),
        lambda seed: keras.layers.RandomRotation(15 / 360, fill_mode="reflect", seed=seed),
        lambda seed: keras.layers.RandomZoom((-0.2, 0.15), fill_mode="reflect", seed=seed),
        lambda seed: keras.layers.RandomTranslation(0.12, 0.12, fill_mode="reflect", seed=seed),
        lambda seed: keras.layers.RandomContrast(0.3, value_range=(0, 255), seed=seed),
        lambda seed: keras.layers.RandomBrightness(0.2, value_range=(0, 255), seed=seed),
    ],
}


def augmentation(kind="standard", seed=None):
    """The augmentation layers (active only in training) as one Sequential, or None for "none"."""
    if kind not in AUGMENTATIONS:
        raise ValueError(f"augmentation must be one of {', '.join(AUGMENTATIONS)}, got {kind!r}")
    layers = [make(None if seed is None else seed + i) for i, make in enumerate(AUGMENTATIONS[kind])]
    if keras.backend.backend() == "jax":
        # Keras flags its affine layers as not XLA-compatible (a TF limitation); on JAX they
        # compile (map_coordinates), and without XLA a JAX training step is many times slower.
        for layer in layers:
            layer.supports_jit = True
    return keras.Sequential(layers, name=f"augment_{kind}") if layers else None


def one_hot_labels(data):
    """Labels as float targets (soft labels stay as they are)."""
    if data.soft:
        return data.labels.astype("float32")
    return np.eye(len(data.class_names), dtype="float32")[data.labels]


def tf_dataset(data, input_size, channels=3, batch_size=32, training=False, augment="standard",
               seed=0, one_hot=True, sample_weights=None):
    """A tf.data.Dataset of (model input, target[, weight]) batches (TensorFlow backend)."""
    import tensorflow as tf

    targets = one_hot_labels(data) if one_hot else data.labels
    tensors = (data.images[..., None], targets)
    if sample_weights is not None:
        tensors += (np.asarray(sample_weights, "float32"),)
    dataset = tf.data.Dataset.from_tensor_slices(tensors)
    if training:
        dataset = dataset.shuffle(len(data), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)
    resize = ToModelInput(input_size, channels)
    augmenter = augmentation(augment, seed) if training else None

    def prepare(images, *rest):
        images = ops.cast(images, "float32")
        if augmenter is not None:  # at the stored size, as `with_input_layers` does: cheaper
            images = augmenter(images, training=True)
        return (resize(images), *rest)

    dataset = dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=not training)
    return dataset.prefetch(tf.data.AUTOTUNE)


class ArrayBatches(keras.utils.PyDataset):
    """NumPy batches of stored faces (N, H, W, 1) uint8 -> float32, with targets; any backend.

    Resizing and augmentation happen in the model (`with_input_layers`), on the accelerator.
    `drop_remainder` (training): every batch is full, and the few faces left over by this epoch's
    shuffle are seen in other epochs. A smaller last batch has another shape, and JAX compiles
    the train step a second time for it (first epoch 30.0 vs 18.9 s on this CPU at 48x48,
    BENCHMARKS.md, "What we tried"; XLA compilation of this network takes minutes on a GPU). TF's
    step takes any batch size (no difference there).
    """

    def __init__(self, data, batch_size=32, shuffle=False, seed=0, one_hot=True, sample_weights=None,
                 drop_remainder=False, start_epoch=0, mixup=0.0, **kwargs):
        super().__init__(**kwargs)
        self.images = data.images[..., None]
        self.targets = one_hot_labels(data) if one_hot else data.labels
        self.weights = None if sample_weights is None else np.asarray(sample_weights, "float32")
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_remainder = drop_remainder
        if mixup and not one_hot:
            raise ValueError("mixup blends targets: it needs one_hot=True")
        self.mixup, self.seed, self.epoch = float(mixup), seed, start_epoch
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(len(self.images))
        if shuffle:
            # A resumed run (`start_epoch` epochs done) draws the orders it has used and goes on
            # with the one an uninterrupted run would use next, instead of repeating epoch 1's.
            for _ in range(start_epoch):
                self.rng.permutation(len(self.images))
            self.order = self.rng.permutation(len(self.images))

    def __len__(self):
        if self.drop_remainder:
            return max(1, len(self.images) // self.batch_size)  # fewer faces than a batch: one batch
        return math.ceil(len(self.images) / self.batch_size)

    def __getitem__(self, index):
        picked = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        images, targets = self.images[picked].astype("float32"), self.targets[picked]
        if self.mixup:
            images, targets = self.mixed(images, targets, index)
        return (images, targets) if self.weights is None else (images, targets, self.weights[picked])

    def mixed(self, images, targets, index):
        """The batch blended with a permutation of itself (one Beta-drawn weight per batch). The
        draw comes from (seed, epoch, batch), so it is the same in whatever order Keras asks for
        batches, and a resumed run goes on with the blends an uninterrupted run would use."""
        rng = np.random.default_rng([self.seed, self.epoch, index])
        weight = np.float32(rng.beta(self.mixup, self.mixup))
        partner = rng.permutation(len(images))
        return (weight * images + (1 - weight) * images[partner],
                weight * targets + (1 - weight) * targets[partner])

    def on_epoch_end(self):
        self.epoch += 1
        if self.shuffle:
            self.order = self.rng.permutation(len(self.images))


def with_input_layers(model, stored_size=48, augment="standard", seed=None, *, size=None, augmenter=None):
    """A training model: stored faces (stored_size^2 x 1, [0, 255]) -> augment -> resize -> model.

    The wrapped `model` is trained in place; save `model`, not the wrapper. `size`: feed it faces
    of this size instead of its own input size (progressive resizing: the network is convolutional
    up to a global pooling, so its weights do not depend on the size; see `accepting_any_size`).
    `augmenter`: augmentation layers to share with another wrapper (their random streams go on).
    """
    own_size, channels = model.input_shape[1], model.input_shape[3]
    inputs = keras.Input((stored_size, stored_size, 1), name="face")
    x = inputs
    if augmenter is None:
        augmenter = augmentation(augment, seed)
    if augmenter is not None:
        x = augmenter(x)
    x = ToModelInput(size or own_size, channels, name="to_model_input")(x)
    if size and size != own_size:
        with accepting_any_size(model):
            return keras.Model(inputs, model(x), name=f"{model.name}_training_{size}")
    return keras.Model(inputs, model(x), name=f"{model.name}_training")


@contextlib.contextmanager
def accepting_any_size(model):
    """`model` accepts inputs of any height and width while the block runs (Keras checks a
    functional model's inputs against the shape it was built for; its layers do not care)."""
    built_for = model.input_spec
    model.input_spec = keras.InputSpec(ndim=4, axes={-1: model.input_shape[-1]})
    try:
        yield model
    finally:
        model.input_spec = built_for
