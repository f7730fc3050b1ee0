"""What the network looks at: Grad-CAM of a class and SimAM's own attention, per face.

Grad-CAM (Selvaraju et al. 2017): the feature maps A of a convolutional layer (by default the
last stage with a map of at least 6 x 6, see MIN_SIDE), weighted per channel by the spatial mean of d score / d A, summed
over channels, ReLU. The score is the class's logit (pre-softmax), as in the paper of Grad-CAM.
The model is cut in two at that layer (`body`: image -> A, `head`: A -> logits) so the one
gradient needed is the head's with respect to its input: `keras.ops` for the arithmetic, the
backend's own autodiff (tf.GradientTape, jax.grad through `stateless_call`, torch autograd) for
that gradient only.

SimAM map: the channel mean of the weights sigmoid(1 / e*) (Eq. 6-7) a SimAM layer multiplies
its input by — the attention the paper's network computes, nothing estimated.
"""

import keras
import numpy as np
from keras import ops

from keras_fer.layers import SimAM

# Grad-CAM's default layer has a map of at least 6 x 6: the paper's 224-px network's last stage
# (7 x 7, head_act); for the shipped 96-px models (last stage 3 x 3) the stride-16 stage's
# output (block12_add). On FER2013's happy test faces the 3 x 3 map puts as much of "happy" on
# the eyes as on the mouth; the 6 x 6 map puts 1.6x more on the mouth (tests/test_explain.py).
MIN_SIDE = 6


class Explainer:
    """Grad-CAM and SimAM maps of one Keras model.

    layer: the layer Grad-CAM reads (default: `gradcam_layer`, the last convolutional stage
    with a map of at least 6 x 6).
    simam_layer: a SimAM layer's name, or a block number (6 -> "block6_simam"); default: the
    deepest SimAM layer of the largest map (block 6 of the paper's network, stride 8), the finest
    attention the network has after its early blocks.
    """

    def __init__(self, model, class_names, layer=None, simam_layer=None, name="model"):
        if not isinstance(model, keras.Model):
            raise ValueError(f"{name}: explain needs a Keras model (.keras file or a bundled model); "
                             "a .tflite model has no gradients")
        self.model, self.class_names, self.name = model, list(class_names), name
        self.layer = self._layer(layer or gradcam_layer(model))
        score = _score_tensor(model)
        self.body = keras.Model(model.input, self.layer.output)
        try:
            self.head = keras.Model(self.layer.output, score)
        except ValueError:
            raise ValueError(f"{name}: layer {self.layer.name!r} does not cut the network in two "
                             "(a later layer also reads an earlier one); choose a block's output (e.g. "
                             "block12_add) or head_act") from None
        self.simam = self._simam_layer(simam_layer)
        self.simam_input = keras.Model(model.input, self.simam.input) if self.simam else None

    def class_index(self, class_name):
        if class_name not in self.class_names:
            raise ValueError(f"{self.name}: no class {class_name!r}; its classes are {', '.join(self.class_names)}")
        return self.class_names.index(class_name)

    def gradcam(self, x, class_indices):
        """(N, h, w) Grad-CAM maps of model inputs x for one class each, each scaled to max 1
        (all zeros where no position argues for the class)."""
        features = self.body(x)
        one_hot = ops.one_hot(ops.convert_to_tensor(np.asarray(class_indices, "int32")), len(self.class_names))
        gradients = input_gradient(self.head, features, lambda logits: ops.sum(ops.reshape(logits, one_hot.shape) * one_hot))
        weights = ops.mean(gradients, axis=(1, 2))  # (N, K): pooled gradients
        cam = ops.relu(ops.einsum("nhwk,nk->nhw", features, weights))
        peak = ops.max(cam, axis=(1, 2), keepdims=True)
        return ops.convert_to_numpy(ops.where(peak > 0, cam / ops.maximum(peak, 1e-12), 0.0))

    def simam_map(self, x):
        """(N, h, w) channel mean of the chosen SimAM layer's weights, or None without SimAM."""
        if self.simam is None:
            return None
        return ops.convert_to_numpy(ops.mean(self.simam.attention_weights(self.simam_input(x)), axis=-1))

    def _layer(self, name):
        try:
            layer = self.model.get_layer(name)
        except ValueError:
            raise ValueError(f"{self.name}: no layer {name!r}") from None
        if len(layer.output.shape) != 4:
            raise ValueError(f"{self.name}: layer {name!r} has no spatial map (output {layer.output.shape})")
        return layer

    def _simam_layer(self, choice):
        layers = [layer for layer in self.model.layers if isinstance(layer, SimAM)]
        if choice is None:
            if not layers:
                return None
            largest = max(layer.input.shape[1] for layer in layers)
            return [layer for layer in layers if layer.input.shape[1] == largest][-1]
        name = f"block{choice}_simam" if str(choice).isdigit() else str(choice)
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"{self.name}: no SimAM layer {name!r}; it has "
                         f"{', '.join(layer.name for layer in layers) or 'none (no SimAM in this model)'}")


def gradcam_layer(model, min_side=MIN_SIDE):
    """Name of the last layer that cuts the network in two (all later layers read only it and its
    successors) and whose map is at least `min_side` x `min_side` (the largest map where none is)."""
    candidates = [layer for layer in model.layers
                  if len(layer.output.shape) == 4 and not isinstance(layer, keras.layers.InputLayer)]
    if not candidates:
        raise ValueError(f"{model.name}: no convolutional layer with a spatial map")
    side = min(min_side, max(layer.output.shape[1] or 0 for layer in candidates))
    score = _score_tensor(model)
    for layer in reversed(candidates):
        if (layer.output.shape[1] or 0) >= side and _cuts(layer, score):
            return layer.name
    raise ValueError(f"{model.name}: no layer cuts the network in two")


def _cuts(layer, score):
    try:
        keras.Model(layer.output, score)
    except ValueError:
        return False
    return True


def _score_tensor(model):
    """The class scores before softmax: the `logits` layer of this package's networks, else the
    input of a final softmax activation, else the model's output."""
    try:
        return model.get_layer("logits").output
    except ValueError:
        pass
    last = model.layers[-1]
    if isinstance(last, keras.layers.Activation) and getattr(last.activation, "__name__", "") == "softmax":
        return last.input
    return model.output


def input_gradient(network, x, score):
    """d score(network(x)) / d x on the running backend; the only backend-specific code here."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = score(network(x, training=False))
        return tape.gradient(value, x)
    if backend == "jax":
        import jax

        trainable = [v.value for v in network.trainable_variables]
        non_trainable = [v.value for v in network.non_trainable_variables]

        def scored(inputs):
            outputs, _ = network.stateless_call(trainable, non_trainable, inputs, training=False)
            return score(outputs)

        return jax.grad(scored)(x)
    if backend == "torch":
        import torch

        x = x.detach().clone().requires_grad_(True)
        score(network(x, training=False)).backward()
        return x.grad
    raise ValueError(f"explain: no gradient for the {backend!r} backend")


def resize_map(heat, size):
    """A (h, w) map resized bilinearly to size x size (for overlays and region measures)."""
    import cv2

    return cv2.resize(np.asarray(heat, np.float32), (size, size), interpolation=cv2.INTER_LINEAR)


def explain_faces(fer, image, class_name=None, color="rgb", layer=None, simam_layer=None, detect=True):
    """`FER.explain`: one dict per face (largest first) with what `detect_emotions` gives, plus
    `explained` (the class the maps are of), `face` (the stored face the model saw), `crop`,
    `gradcam` and `simam` (maps at their layers' resolution; `simam` is None without SimAM).
    Probabilities are of the single view explained (no test-time augmentation)."""
    from keras_fer.data.images import as_pil, prepare_face, to_grayscale
    from keras_fer.data.pipeline import to_model_input
    from keras_fer.inference import model_outputs

    explainer = cached_explainer(fer, layer, simam_layer)
    if detect:
        _, boxes, crops = fer.find_faces(image, color)
    else:  # the image is one face crop, as the data sets' faces are
        gray = to_grayscale(as_pil(image, color))
        boxes, crops = [(0, 0, gray.shape[1], gray.shape[0])], [gray]
    if not crops:
        return []
    classes = [explainer.class_index(class_name)] * len(crops) if class_name else None
    faces = np.stack([prepare_face(crop, fer.preprocessing) for crop in crops])
    x = to_model_input(faces, explainer.model.input_shape[1], explainer.model.input_shape[3])
    probabilities = model_outputs(explainer.model, x)  # the model the maps are of
    classes = classes or list(np.argmax(probabilities, axis=1))
    cams, simam = explainer.gradcam(x, classes), explainer.simam_map(x)
    return [{**fer._face(box, p), "explained": fer.class_names[c], "face": face, "crop": crop, "gradcam": cam,
             "simam": None if simam is None else simam[i]}
            for i, (box, p, c, face, crop, cam) in enumerate(zip(boxes, probabilities, classes, faces, crops, cams))]


def cached_explainer(fer, layer, simam_layer):
    """One Explainer per FER and choice of layers: cutting the model costs more than a face."""
    cache = fer.__dict__.setdefault("_explainers", {})
    key = (layer, simam_layer)
    if key not in cache:
        cache[key] = Explainer(keras_twin(fer), fer.class_names, layer, simam_layer, name=fer.model_name)
    return cache[key]


def keras_twin(fer):
    """The Keras model behind `fer`: its own, or for a bundled model run by LiteRT (the default)
    the shipped `.keras` it was converted from. A `.tflite` path has none (Explainer says so)."""
    from keras_fer import shipped, zoo

    if isinstance(fer.model, keras.Model) or fer.model_name not in zoo.MODELS:
        return fer.model
    return shipped.pretrained(fer.model_name)
