"""`LabeledImages`: decoded faces with their labels, class names and source files, kept together."""

import dataclasses
import hashlib
import json
import zipfile

import numpy as np

from keras_fer.data.images import equalize_hist


@dataclasses.dataclass
class LabeledImages:
    """uint8 grayscale faces (N, H, W) with integer labels (N,) or soft labels (N, classes).

    `files` names where each image came from (a path, or `file.csv:row`); `skipped` lists the
    inputs left out with on_bad="skip", as (source, reason); `subjects`, where a data set names
    them (RaFD), the person in each image, for subject-disjoint splits.
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple
    files: list
    skipped: list = dataclasses.field(default_factory=list)
    preprocessing: dict = dataclasses.field(default_factory=dict)
    subjects: np.ndarray | None = None

    def __post_init__(self):
        self.class_names = tuple(self.class_names)
        if not (len(self.images) == len(self.labels) == len(self.files)):
            raise ValueError("images, labels and files must have the same length")
        if self.subjects is not None:
            self.subjects = np.asarray(self.subjects)
            if len(self.subjects) != len(self.images):
                raise ValueError("subjects must name one person per image")

    def __len__(self):
        return len(self.images)

    @classmethod
    def from_faces(cls, images, labels, class_names, files, skipped=(), equalize=True):
        """Decoded grayscale faces, histogram-equalized when `equalize` (every loader's last step;
        the choice is recorded in `preprocessing`, which travels with trained models)."""
        if equalize and len(images):
            images = np.stack([equalize_hist(image) for image in images])
        return cls(images, np.asarray(labels), class_names, list(files), list(skipped),
                   preprocessing={"grayscale": True, "equalize": bool(equalize)})

    @property
    def soft(self):
        return self.labels.ndim == 2

    @property
    def hard_labels(self):
        return np.argmax(self.labels, axis=1) if self.soft else self.labels

    def subset(self, indices):
        indices = np.asarray(indices, dtype=np.int64)
        return dataclasses.replace(
            self,
            images=self.images[indices],
            labels=self.labels[indices],
            files=[self.files[i] for i in indices],
            skipped=list(self.skipped),
            subjects=None if self.subjects is None else self.subjects[indices],
        )

    def counts(self):
        """Images per class name (majority class for soft labels)."""
        counts = np.bincount(self.hard_labels, minlength=len(self.class_names))
        return dict(zip(self.class_names, counts.tolist()))

    def class_weights(self):
        """Balanced weights n / (classes * count_c), as sklearn's "balanced"; for model.fit."""
        counts = np.bincount(self.hard_labels, minlength=len(self.class_names)).astype(np.float64)
        weights = len(self) / (len(self.class_names) * np.maximum(counts, 1))
        return {i: float(w) for i, w in enumerate(weights)}

    def fingerprint(self):
        """Hash of the file list and labels: two runs with the same hash saw the same data."""
        digest = hashlib.sha256(json.dumps([self.files, self.class_names]).encode())
        digest.update(np.ascontiguousarray(self.labels).tobytes())
        return digest.hexdigest()[:16]

    def relabel(self, class_names):
        """The same images with labels re-indexed to `class_names` (matched by name, not position)."""
        missing = [name for name in self.class_names if name not in class_names]
        if missing:
            raise ValueError(
                f"classes {missing} of the data are not among {list(class_names)}"
            )
        order = [list(class_names).index(name) for name in self.class_names]
        if self.soft:
            labels = np.zeros((len(self), len(class_names)), self.labels.dtype)
            labels[:, order] = self.labels
        else:
            labels = np.asarray(order)[self.labels]
        return dataclasses.replace(self, labels=labels, class_names=tuple(class_names))

    def save_npz(self, path, compression="deflate"):
        """A compressed `.npz` cache (uint8 images) that `load_npz` / `np.load` read without
        TensorFlow. compression="lzma" is ~20 % smaller than NumPy's deflate and slower to write."""
        arrays = {
            "images": self.images,
            "labels": self.labels,
            "class_names": np.array(self.class_names),
            "files": np.array(self.files),
            "preprocessing": np.array(json.dumps(self.preprocessing)),
        }
        if self.subjects is not None:
            arrays["subjects"] = self.subjects
        method = {"deflate": zipfile.ZIP_DEFLATED, "lzma": zipfile.ZIP_LZMA}[compression]
        with zipfile.ZipFile(path, "w", compression=method) as archive:
            for name, array in arrays.items():
                with archive.open(name + ".npy", "w", force_zip64=True) as handle:
                    np.lib.format.write_array(handle, np.asanyarray(array), allow_pickle=False)

    @classmethod
    def load_npz(cls, path):
        with np.load(path, allow_pickle=False) as data:
            return cls(
                images=data["images"],
                labels=data["labels"],
                class_names=tuple(str(c) for c in data["class_names"]),
                files=[str(f) for f in data["files"]],
                preprocessing=json.loads(str(data["preprocessing"])),
                subjects=data["subjects"] if "subjects" in data else None,
            )


def concatenate(parts):
    """One LabeledImages from several with the same classes (e.g. train + test for a re-split)."""
    names = {part.class_names for part in parts}
    if len(names) != 1:
        raise ValueError(f"cannot concatenate data with different classes: {names}")
    return LabeledImages(
        images=np.concatenate([p.images for p in parts]),
        labels=np.concatenate([p.labels for p in parts]),
        class_names=parts[0].class_names,
        files=[f for p in parts for f in p.files],
        skipped=[s for p in parts for s in p.skipped],
        preprocessing=parts[0].preprocessing,
        # kept only where every part names its subjects (a person-disjoint split needs all)
        subjects=None if any(p.subjects is None for p in parts)
        else np.concatenate([p.subjects for p in parts]),
    )
