"""`keras_fer.FER`: expressions of the faces in photos — detect, crop, classify.

    from keras_fer import FER
    fer = FER()                                   # the bundled FER2013 model, offline
    fer.detect_emotions("photo.jpg")              # [{"box": [x, y, w, h], "emotions": {...}, ...}]
    fer.top_emotion("photo.jpg")                  # ("happy", 0.93), or (None, None) without a face

Crops go through `data.images.prepare_face` (resize to the training faces' size, histogram
equalization when the model was trained with it) and `data.pipeline.to_model_input` — the
functions training and evaluation use, so a face in a photo reaches the network exactly as a
face of the data set did.
"""

import pathlib

import numpy as np

from keras_fer import shipped, zoo
from keras_fer.data.images import as_pil, prepare_face, to_grayscale
from keras_fer.faces import crop_square, make_detector
from keras_fer.inference import predict_faces
from keras_fer.model_io import load_model


class FER:
    """Face detection + expression classification.

    model: a pretrained name ("fer2013", "ferplus"), a `.keras` / `.tflite` path,
    or a keras.Model with `keras_fer_metadata` (as `keras_fer.pretrained` returns).
    detector: "haar" (OpenCV's cascade, the default: fast), "mtcnn" (finds more faces, 12-28x slower)
    or an object with `detect(gray) -> [(x, y, w, h), ...]`.
    backend: for a pretrained name, "litert" (the default: its shipped `.tflite`, ~10x faster
    per face) or "keras" (its `.keras`); for a path, the file's suffix decides.
    margin: how much to enlarge the detected square before cropping (0: the cascade's box,
    which frames a face as FER2013's crops do — measured in benchmarks/face_detection.py).
    flip: average each face's probabilities with its mirror image's (test-time augmentation:
    about a point for the shipped models) at twice the compute.
    ten_crop: average the probabilities of ten crops of each face (centre, corners, mirrored) at
    ten times the compute: about as good as flip for the shipped models.
    The gains per model are in docs/models.md and RESULTS.md.
    Both are off by default, as the paper evaluates single views.
    """

    def __init__(self, model="fer2013", detector=None, margin=0.0, batch_size=64, num_threads=None, flip=False,
                 ten_crop=False, backend=None):
        if flip and ten_crop:
            raise ValueError("choose one test-time augmentation: flip or ten_crop")
        if isinstance(model, str) or hasattr(model, "__fspath__"):
            self.model, self.metadata = load_model(model_file(model, backend), num_threads=num_threads)
            self.model_name = str(model)
        else:
            self.model, self.metadata = model, getattr(model, "keras_fer_metadata", {})
            self.model_name = getattr(model, "name", "model")
        classes = self.model.output_shape[-1]
        self.class_names = list(self.metadata.get("class_names") or [f"class_{i}" for i in range(classes)])
        if len(self.class_names) != classes:
            raise ValueError(f"{self.model_name}: {classes} outputs but {len(self.class_names)} class names")
        self.preprocessing = self.metadata.get("preprocessing", {})
        self.detector = make_detector(detector)
        self.margin, self.batch_size, self.flip, self.ten_crop = margin, batch_size, flip, ten_crop

    def classify_faces(self, crops):
        """Probabilities (N, classes) for grayscale face crops (any size, uint8)."""
        if len(crops) == 0:
            return np.zeros((0, len(self.class_names)), np.float32)
        faces = np.stack([prepare_face(crop, self.preprocessing) for crop in crops])
        n = len(faces)
        # Keras traces its predict function anew for every new batch shape: pad to a power of two
        # so a stream of photos with 1, 3, 5... faces reuses a handful of traces.
        padded = min(self.batch_size, 1 << (n - 1).bit_length()) if n < self.batch_size else n
        if padded > n:
            faces = np.concatenate([faces, np.zeros((padded - n, *faces.shape[1:]), faces.dtype)])
        return predict_faces(self.model, faces, self.batch_size, self.flip, self.ten_crop)[:n]

    def find_faces(self, image, color="rgb"):
        """(grayscale array of the upright image, boxes, crops)."""
        gray = to_grayscale(as_pil(image, color))
        boxes = self.detector.detect(gray)
        return gray, boxes, [crop_square(gray, box, self.margin) for box in boxes]

    def detect_emotions_batch(self, images, color="rgb"):
        """`detect_emotions` for many images, classifying all their faces in one batch."""
        found = [self.find_faces(image, color) for image in images]
        probabilities = self.classify_faces([crop for _, _, crops in found for crop in crops])
        results, start = [], 0
        for _, boxes, _ in found:
            results.append([self._face(box, p) for box, p in zip(boxes, probabilities[start:start + len(boxes)])])
            start += len(boxes)
        return results

    def detect_emotions(self, image, color="rgb"):
        """One dict per face, largest first: box [x, y, w, h] on the upright image, emotions
        {class: probability}, top_emotion and its score. No face: an empty list."""
        return self.detect_emotions_batch([image], color)[0]

    def top_emotion(self, image, color="rgb"):
        """(class name, probability) of the largest face, or (None, None) without a face."""
        faces = self.detect_emotions(image, color)
        if not faces:
            return None, None
        return faces[0]["top_emotion"], faces[0]["score"]

    def _face(self, box, probabilities):
        top = int(np.argmax(probabilities))
        return {"box": [int(v) for v in box],
                "emotions": {name: round(float(p), 6) for name, p in zip(self.class_names, probabilities)},
                "top_emotion": self.class_names[top], "score": round(float(probabilities[top]), 6)}

    def explain(self, image, class_name=None, color="rgb", layer=None, simam_layer=None, detect=True):
        """What the network looks at, per face: `detect_emotions`' dict plus the Grad-CAM map of
        the top class (or `class_name`) and the SimAM attention map (see keras_fer.explain).
        `detect=False`: the image is one face crop. Keras models only (a .tflite has no gradients)."""
        from keras_fer.explain import explain_faces

        return explain_faces(self, image, class_name, color, layer, simam_layer, detect)

BACKENDS = ("litert", "keras")


def model_file(model, backend=None):
    """The file `FER(model, backend=...)` runs: a pretrained name's `.tflite` (LiteRT, the default)
    or `.keras`; a path as given, when its suffix fits `backend`."""
    if backend not in (None, *BACKENDS):
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if str(model) in zoo.MODELS:
        return shipped.pretrained_file(str(model), "keras" if backend == "keras" else "tflite")
    path = pathlib.Path(model)
    suffix = {"litert": ".tflite", "keras": ".keras"}.get(backend)
    if suffix and path.suffix != suffix:
        raise ValueError(f"{path}: backend {backend!r} runs {suffix} files (convert a .keras file with "
                         "keras_fer convert)")
    return path
