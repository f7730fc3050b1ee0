"""One compact file of FER2013 and FER+ for a GPU machine: each face stored once, as JPEG.

FER+ relabels FER2013's own faces, so the Kaggle FER2013 faces (train/ + test/, equalized as the
loaders give them) are stored once, JPEG quality 90 (mean error 2.4 grey levels, 37 MB for 32,298
faces: the device tool carries at most 64 MiB with the working tree), and each FER+ split is a
list of indices into them plus its labels. FER+'s PNGs hold the original pixels, not the Kaggle
JPEGs, so its faces are matched by content (cosine similarity of equalized 16x16 thumbnails);
matches below `MIN_SIMILARITY` (0.2-0.4 % of FER+) are left out.

    python -m keras_fer.data.pack --fer2013 $KERAS_FER_DATASETS/fer2013 --ferplus $KERAS_FER_DATASETS/ferplus \
        --out .gpu/faces.npz                                     # here, with TensorFlow (the loaders)
    load(".gpu/faces.npz", "ferplus/train/majority")             # there: NumPy and OpenCV only
    keras_fer train --dataset ferplus --data .gpu/faces.npz ...  # any backend: load_dataset reads packs

Names: fer2013/train, fer2013/test, ferplus/{train,valid}/{majority,probability}.
"""

import argparse
import json
import pathlib
import zipfile

import numpy as np

from keras_fer.data.labeled import LabeledImages

MIN_SIMILARITY = 0.9
QUALITY = 90
FERPLUS_SPLITS = {"train": "train", "valid": "test"}  # FER+ split -> the FER2013 folder of its faces


def thumbnails(images):
    """Zero-mean, unit-norm 16x16 block means: robust to JPEG error and to the Kaggle stretch."""
    x = images.astype(np.float32).reshape(len(images), 16, 3, 16, 3).mean(axis=(2, 4)).reshape(len(images), -1)
    x -= x.mean(axis=1, keepdims=True)
    return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-6)


def match(queries, pool, chunk=2048):
    """Index of each query's most similar face in `pool`, and the similarity."""
    q, p = thumbnails(queries), thumbnails(pool)
    best, similarity = np.empty(len(q), np.int64), np.empty(len(q), np.float32)
    for start in range(0, len(q), chunk):
        scores = q[start:start + chunk] @ p.T
        best[start:start + chunk] = scores.argmax(axis=1)
        similarity[start:start + chunk] = scores.max(axis=1)
    return best, similarity


def build(fer2013_root, ferplus_root, out):
    import cv2

    from keras_fer.data.fer2013 import load_fer2013  # the loaders, not load_dataset: that imports this module
    from keras_fer.data.ferplus import load_ferplus

    fer2013 = load_fer2013(fer2013_root)
    offsets = {"train": 0, "test": len(fer2013["train"])}
    faces = np.concatenate([fer2013["train"].images, fer2013["test"].images])
    arrays = {"fer2013_class_names": np.array(fer2013["train"].class_names)}
    for split in ("train", "test"):
        arrays[f"fer2013/{split}/index"] = offsets[split] + np.arange(len(fer2013[split]))
        arrays[f"fer2013/{split}/labels"] = fer2013[split].labels
    report = {}
    for mode in ("majority", "probability"):
        ferplus = load_ferplus(ferplus_root, label_mode=mode)
        arrays["ferplus_class_names"] = np.array(ferplus["train"].class_names)
        for split, folder in FERPLUS_SPLITS.items():
            best, similarity = match(ferplus[split].images, fer2013[folder].images)
            kept = similarity >= MIN_SIMILARITY
            arrays[f"ferplus/{split}/{mode}/index"] = offsets[folder] + best[kept]
            arrays[f"ferplus/{split}/{mode}/labels"] = ferplus[split].labels[kept]
            report[f"ferplus/{split}/{mode}"] = {"faces": len(kept), "kept": int(kept.sum()),
                                                 "similarity_median": float(np.median(similarity))}
    jpegs = [cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, QUALITY])[1] for face in faces]
    arrays["jpeg"] = np.concatenate(jpegs)
    arrays["jpeg_offsets"] = np.cumsum([0] + [len(j) for j in jpegs])
    arrays["preprocessing"] = np.array(json.dumps(fer2013["train"].preprocessing))
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_LZMA) as archive:
        for name, array in arrays.items():
            with archive.open(name.replace("/", "__") + ".npy", "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, np.asanyarray(array), allow_pickle=False)
    return report


_faces_cache = {}


def is_pack(path):
    return str(path).endswith(".npz") and pathlib.Path(path).is_file()


def load_splits(path, kind, label_mode="majority"):
    """{split: LabeledImages} of data set `kind` in a pack, as `load_dataset` gives a folder's."""
    splits = {"fer2013": ("train", "test"), "ferplus": ("train", "valid")}
    if kind not in splits:
        raise ValueError(f"{path}: a face pack holds fer2013 and ferplus, not {kind!r}")
    suffix = f"/{label_mode}" if kind == "ferplus" else ""
    return {split: load(path, f"{kind}/{split}{suffix}") for split in splits[kind]}


def load(path, name):
    """The LabeledImages called `name` (see the module docstring) from a pack made by `build`."""
    import cv2

    key = name.replace("/", "__")
    path = str(path)
    with np.load(path, allow_pickle=False) as data:
        if key + "__index" not in data.files:
            names = sorted({f.rsplit("__", 1)[0].replace("__", "/") for f in data.files if f.endswith("__index")})
            raise ValueError(f"{path}: no split {name!r}; it holds {names}")
        if path not in _faces_cache:  # decode once per process
            jpeg, offsets = data["jpeg"], data["jpeg_offsets"]
            _faces_cache[path] = np.stack([cv2.imdecode(jpeg[offsets[i]:offsets[i + 1]], cv2.IMREAD_GRAYSCALE)
                                           for i in range(len(offsets) - 1)])
        index = data[key + "__index"]
        return LabeledImages(
            images=_faces_cache[path][index],
            labels=data[key + "__labels"],
            class_names=tuple(str(c) for c in data[name.split("/")[0] + "_class_names"]),
            files=[f"{path}#{name}:{i}" for i in index],
            preprocessing=json.loads(str(data["preprocessing"])),
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fer2013", required=True)
    parser.add_argument("--ferplus", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    report = build(args.fer2013, args.ferplus, args.out)
    print(json.dumps(report, indent=2))
    print(f"{args.out}: {pathlib.Path(args.out).stat().st_size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
