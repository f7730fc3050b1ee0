"""Input pipelines: tf.data and NumPy batches, the shared model-input layer, augmentation."""

import json

import keras
import numpy as np
import pytest

import keras_fer
from conftest import dataset_path
from keras_fer.data import load_dataset
from keras_fer.data.pipeline import ArrayBatches, ToModelInput, augmentation, tf_dataset, to_model_input, with_input_layers


@pytest.fixture(scope="module")
def faces():
    """A few hundred real FER2013 test faces (all classes)."""
    data = load_dataset("fer2013", dataset_path("fer2013"), split="test")["test"]
    return data.subset(range(0, len(data), 12))


def test_to_model_input_range_and_shape(faces):
    x = to_model_input(faces.images[:4], 96, 3)
    assert x.shape == (4, 96, 96, 3) and x.dtype == np.float32
    assert 0 <= x.min() and x.max() <= 255
    np.testing.assert_array_equal(x[..., 0], x[..., 2])  # grey replicated
    same = to_model_input(faces.images[:4], 48, 1)
    np.testing.assert_array_equal(same[..., 0], faces.images[:4].astype("float32"))  # no resize at 48
    flat = to_model_input(np.full((48, 48), 77, np.uint8), 112, 1)
    np.testing.assert_allclose(flat, 77.0, atol=1e-4)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.data feed is the TF path")
def test_tf_dataset_batches(faces):
    plain = list(tf_dataset(faces, 64, 3, batch_size=32))
    images, targets = plain[0]
    assert tuple(images.shape) == (32, 64, 64, 3) and tuple(targets.shape) == (32, 7)
    np.testing.assert_allclose(images.numpy(), to_model_input(faces.images[:32], 64, 3), atol=1e-4)
    np.testing.assert_array_equal(np.argmax(targets, 1), faces.labels[:32])
    assert sum(int(b[0].shape[0]) for b in plain) == len(faces)
    augmented = next(iter(tf_dataset(faces, 64, 3, batch_size=32, training=True, seed=1)))[0].numpy()
    assert augmented.shape == (32, 64, 64, 3) and 0 <= augmented.min() and augmented.max() <= 255.01
    weighted = next(iter(tf_dataset(faces, 64, 3, batch_size=8, sample_weights=np.arange(len(faces)))))
    assert len(weighted) == 3 and weighted[2].numpy().tolist() == list(range(8))


def test_augmentation_only_in_training(faces):
    x = faces.images[:8, :, :, None].astype("float32")
    layers = augmentation("strong", seed=3)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layers(x, training=False)), x)
    changed = keras.ops.convert_to_numpy(layers(x, training=True))
    assert changed.shape == x.shape and np.mean(np.abs(changed - x)) > 5
    assert augmentation("none") is None
    with pytest.raises(ValueError, match="augmentation must be one of"):
        augmentation("extreme")


def test_erasing_covers_half_the_faces_with_one_patch_of_at_most_a_quarter(faces):
    x = faces.images[:, :, :, None].astype("float32")
    layers = augmentation("erasing", seed=5)
    eraser = layers.layers[-1]
    assert isinstance(eraser, keras.layers.RandomErasing)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(eraser(x, training=False)), x)
    changed = np.abs(keras.ops.convert_to_numpy(eraser(x, training=True)) - x)[..., 0] > 0
    erased = changed.any(axis=(1, 2))
    assert 0.35 < erased.mean() < 0.65, erased.mean()
    for mask in changed[erased]:  # one rectangle: everything changed lies in a box of <= 25 % of the face
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        box = (rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1)
        assert box <= 0.25 * mask.size and mask.sum() > 0.8 * box
    full = keras.ops.convert_to_numpy(layers(x, training=True))
    assert full.shape == x.shape and 0 <= full.min() and full.max() <= 255.01


def test_array_batches_shuffle_every_epoch(faces):
    batches = ArrayBatches(faces, batch_size=64, shuffle=True, seed=0)
    assert len(batches) == -(-len(faces) // 64)
    first = batches.order.copy()
    batches.on_epoch_end()
    assert sorted(first) == sorted(batches.order) == list(range(len(faces)))
    assert (first != batches.order).any()
    images, targets = batches[0]
    assert images.shape == (64, 48, 48, 1) and images.dtype == np.float32 and targets.shape == (64, 7)
    np.testing.assert_array_equal(np.argmax(targets, 1), faces.labels[batches.order[:64]])
    assert len(batches[len(batches) - 1][0]) == len(faces) % 64 or len(faces) % 64 == 0  # the remainder


def test_training_batches_are_all_full_and_still_cover_every_face(faces):
    """One batch shape for the train step (no second JAX compile); the left-over faces differ
    from epoch to epoch, so none is left out for good."""
    batches = ArrayBatches(faces, batch_size=64, shuffle=True, seed=0, drop_remainder=True)
    assert len(faces) % 64 and len(batches) == len(faces) // 64
    assert {len(batches[i][0]) for i in range(len(batches))} == {64}
    seen = set()
    for _ in range(10):
        seen.update(batches.order[:len(batches) * 64].tolist())
        batches.on_epoch_end()
    assert seen == set(range(len(faces)))
    few = ArrayBatches(faces.subset(range(10)), batch_size=64, shuffle=True, drop_remainder=True)
    assert len(few) == 1 and len(few[0][0]) == 10


def test_training_wrapper_feeds_the_network(faces):
    network = keras_fer.build_variant("improved", input_size=64, classes=7)
    wrapper = with_input_layers(network, 48, augment="standard", seed=0)
    x = faces.images[:4, :, :, None].astype("float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(wrapper(x, training=False)),
        keras.ops.convert_to_numpy(network(to_model_input(faces.images[:4], 64, 3), training=False)),
        atol=1e-5,
    )
    assert wrapper.count_params() == network.count_params()
    assert json.loads(json.dumps(ToModelInput(64, 3).get_config()))["size"] == 64
