"""Faces in photos: detection boxes on composed photos of real FER2013 faces, the shared
preprocessing, EXIF / huge / 16-bit / CMYK / array inputs, bad files, `keras_fer predict`."""

import io
import json

import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import dataset_path, pretrained_file, run_cli
from keras_fer import FER
from keras_fer.data import load_dataset
from keras_fer.data.images import equalize_hist
from keras_fer.data.pipeline import to_model_input
from keras_fer.faces import FaceDetector, crop_square
from keras_fer.synthetic import compose_photo, iou, jpeg_with_orientation


@pytest.fixture(scope="module")
def fer():
    return FER(str(pretrained_file("fer2013")))


@pytest.fixture(scope="module")
def raw_test_faces():
    """FER2013's test/ faces with their original pixels (not equalized), as a camera crop has them."""
    return load_dataset("fer2013", dataset_path("fer2013"), equalize=False, split="test")["test"].images


@pytest.fixture(scope="module")
def faces(raw_test_faces):
    """Raw (not equalized) FER2013 test faces that the cascade finds when shown alone.

    About a fifth of FER2013's crops are tilted, cut off or occluded so that no frontal cascade
    finds them (benchmarks/face_detection.py measures the recall); these tests check what this
    package does with faces — positions, several per photo, rotation, scale, crops — so they
    use faces a detector can see."""
    detector, chosen = FaceDetector(), []
    for i in np.random.default_rng(1).permutation(len(raw_test_faces)):
        photo, (box,) = compose_photo(raw_test_faces[i:i + 1], side=150, seed=int(i))
        if any(iou(found, box) >= 0.5 for found in detector.detect(photo.mean(axis=2).astype(np.uint8))):
            chosen.append(i)
        if len(chosen) == 16:
            break
    return raw_test_faces[chosen]


def matched(found, placed):
    """For each placed box, the detected face dict with the highest IoU (or None below 0.5)."""
    result = []
    for box in placed:
        best = max(found, key=lambda f: iou(f["box"], box), default=None)
        result.append(best if best is not None and iou(best["box"], box) >= 0.5 else None)
    return result


def test_preprocessing_is_the_training_pipeline(fer, faces):
    """A 48x48 face given as a crop reaches the network exactly as a data set face does."""
    direct = fer.model.predict(to_model_input(np.stack([equalize_hist(f) for f in faces]),
                                              fer.model.input_shape[1], 3), verbose=0)
    np.testing.assert_allclose(fer.classify_faces(list(faces)), direct, atol=1e-5)


def test_boxes_on_composed_photos_and_predictions_match_direct_ones(fer, faces):
    photos = [compose_photo(faces[i:i + 4], side=side, seed=i) for i, side in zip(range(0, 16, 4), (150, 120, 160, 130))]
    results = fer.detect_emotions_batch([photo for photo, _ in photos])
    pairs = [(m, face) for (photo, placed), found, group in zip(photos, results, np.split(faces, 4))
             for m, face in zip(matched(found, placed), group)]
    found = [(m, face) for m, face in pairs if m is not None]
    assert len(found) >= 0.9 * len(pairs), f"{len(found)} of {len(pairs)} placed faces found"
    direct = fer.classify_faces([face for _, face in found])
    top = np.array([fer.class_names.index(m["top_emotion"]) for m, _ in found])
    # Detected boxes sit a few pixels off the placed face (0.97x its side): the interim model
    # (55.7 %) changes its mind on some of those shifted crops; measured 11 of 15.
    assert (top == direct.argmax(1)).mean() >= 0.6
    # Cropped at the placed box, the face comes back as itself up to bicubic up- and bilinear
    # down-sampling: (nearly) the same predictions.
    gray = [np.asarray(Image.fromarray(photo).convert("L")) for photo, _ in photos]
    at_boxes = fer.classify_faces([crop_square(g, box) for g, (_, placed) in zip(gray, photos) for box in placed])
    direct_all = fer.classify_faces(list(faces))
    assert (at_boxes.argmax(1) == direct_all.argmax(1)).mean() >= 0.8  # measured 14 of 16 (resampling)
    assert np.abs(at_boxes - direct_all).mean() < 0.05
    assert all(f == [] for f in fer.detect_emotions_batch([np.full((480, 640, 3), 128, np.uint8)]))


def test_exif_rotation_huge_16bit_cmyk_and_arrays(fer, faces, tmp_path):
    photo, placed = compose_photo(faces[:2], side=150, seed=3)
    reference = fer.detect_emotions(photo)
    assert all(m is not None for m in matched(reference, placed))
    boxes = sorted(f["box"] for f in reference)

    for orientation in (3, 6, 8):  # stored rotated, EXIF says how to turn it upright
        path = tmp_path / f"rotated_{orientation}.jpg"
        path.write_bytes(jpeg_with_orientation(photo, orientation))
        got = sorted(f["box"] for f in fer.detect_emotions(path))
        assert len(got) == len(boxes) and all(iou(a, b) >= 0.8 for a, b in zip(got, boxes))

    huge = cv2.resize(photo, (640 * 7, 480 * 7), interpolation=cv2.INTER_LINEAR)  # 31 megapixels
    got = fer.detect_emotions(huge)
    assert [m is not None for m in matched(got, [tuple(7 * v for v in box) for box in placed])] == [True, True]

    sixteen = tmp_path / "sixteen.png"
    Image.fromarray((photo.mean(axis=2) * 257).astype(np.uint16)).save(sixteen)
    cmyk = tmp_path / "cmyk.jpg"
    Image.fromarray(photo).convert("CMYK").save(cmyk, quality=95)
    for path in (sixteen, cmyk):
        got = fer.detect_emotions(path)
        assert all(m is not None for m in matched(got, placed)), path

    by_array = {
        "rgb": fer.detect_emotions(photo),
        "bgr": fer.detect_emotions(photo[:, :, ::-1], color="bgr"),
        "rgba": fer.detect_emotions(np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)])),
        "pil": fer.detect_emotions(Image.fromarray(photo)),
    }
    assert all(result == by_array["rgb"] for result in by_array.values())
    name, score = fer.top_emotion(photo)
    assert name == reference[0]["top_emotion"] and score == reference[0]["score"]
    assert fer.top_emotion(np.zeros((100, 100), np.uint8)) == (None, None)
    with pytest.raises(ValueError, match="got shape"):
        fer.detect_emotions(np.zeros((10, 10, 5), np.uint8))


def test_predict_command_images_folder_video_and_bad_files(tmp_path, faces):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(compose_photo(faces[2 * i:2 * i + 2], side=140, seed=i)[0]).save(folder / f"p{i}.png")
    Image.new("RGB", (320, 240), (90, 120, 150)).save(folder / "empty.jpg")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (640, 480))
    for frame in range(12):
        writer.write(compose_photo(faces[frame // 4:frame // 4 + 1], side=150, seed=frame // 4)[0][:, :, ::-1])
    writer.release()

    out = tmp_path / "annotated"
    result = run_cli("predict", folder, video, "--json", "--annotate", out, "--video-stride", 4)
    assert result.returncode == 1, result.stderr  # one unreadable file, reported, the rest done
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    by_file = {}
    for line in lines:
        by_file.setdefault(line["file"].split("/")[-1], []).append(line)
    assert "broken.png" in by_file["broken.png"][0]["error"] and "not an image" in by_file["broken.png"][0]["error"]
    assert "broken.png" in result.stderr
    assert by_file["empty.jpg"][0]["faces"] == []
    assert [len(line["faces"]) for line in by_file["p0.png"] + by_file["p1.png"]] == [2, 2]
    face = by_file["p0.png"][0]["faces"][0]
    assert set(face) == {"box", "emotions", "top_emotion", "score"} and len(face["emotions"]) == 7
    assert [line["frame"] for line in by_file["clip.mp4"]] == [0, 4, 8]
    assert all(len(line["faces"]) >= 1 for line in by_file["clip.mp4"])
    assert (out / "p0_annotated.png").is_file() and (out / "empty_annotated.png").is_file()
    rows = (out / "clip.csv").read_text().splitlines()
    assert rows[0].startswith("frame,time,faces,top,angry") and len(rows) == 4
    summary = json.loads((out / "clip.json").read_text())
    assert summary["frames_with_face"] == 3 and abs(sum(summary["mean_probabilities"].values()) - 1) < 1e-3
    assert (out / "clip.png").stat().st_size > 0

    result = run_cli("predict", tmp_path / "missing_folder_or_file.jpg")
    assert result.returncode == 1 and "missing_folder_or_file.jpg: file not found" in result.stderr
    (tmp_path / "nothing").mkdir()
    result = run_cli("predict", tmp_path / "nothing")
    assert result.returncode == 2 and "folder has no images or videos" in result.stderr


def test_predict_command_ten_crop_matches_the_recognizer(tmp_path, faces):
    """`predict --ten-crop` reaches FER(ten_crop=True): the same probabilities, other than a single view's."""
    photo = compose_photo(faces[:1], side=150, seed=3)[0]
    Image.fromarray(photo).save(tmp_path / "face.png")
    result = run_cli("predict", tmp_path / "face.png", "--json", "--ten-crop")
    assert result.returncode == 0, result.stderr
    (face,) = json.loads(result.stdout)["faces"]
    (expected,) = FER(ten_crop=True).detect_emotions(photo)  # the defaults: the shipped .tflite
    (single,) = FER().detect_emotions(photo)
    assert face["box"] == expected["box"]
    np.testing.assert_allclose(list(face["emotions"].values()), list(expected["emotions"].values()), atol=1e-5)
    assert max(abs(face["emotions"][c] - single["emotions"][c]) for c in single["emotions"]) > 1e-3
    both = run_cli("predict", tmp_path / "face.png", "--ten-crop", "--flip")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr


def test_predict_walks_nested_folders_and_skips_what_is_not_an_image(tmp_path, faces):
    """A photo library as people keep it: one sub-folder per person or event, with notes and
    thumbnail databases beside the photos, and same-named photos in different folders."""
    library = tmp_path / "library"
    for folder in ("2023/party", "2024/trip", "anna"):
        (library / folder).mkdir(parents=True)
    Image.fromarray(compose_photo(faces[:1], side=150, seed=0)[0]).save(library / "2023/party/IMG_1.jpg")
    Image.new("RGB", (96, 64), (90, 120, 150)).save(library / "2024/trip/IMG_1.jpg")
    Image.new("RGB", (96, 64), (40, 40, 40)).save(library / "top.png")
    (library / "anna/broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    (library / "notes.txt").write_text("who is who")
    (library / "2024/trip/.DS_Store").write_bytes(b"\0\0")

    out = tmp_path / "annotated"
    result = run_cli("predict", library, "--json", "--annotate", out)
    assert result.returncode == 1, result.stderr  # the unreadable image still fails the run
    lines = [json.loads(line) for line in result.stdout.splitlines()]  # stdout: JSON lines only
    assert [line["relative"] for line in lines] == ["2023/party/IMG_1.jpg", "2024/trip/IMG_1.jpg",
                                                    "anna/broken.jpg", "top.png"]
    assert [line["file"] for line in lines] == [str(library / line["relative"]) for line in lines]
    assert len(lines[0]["faces"]) == 1 and lines[1]["faces"] == [] and lines[3]["faces"] == []
    assert "broken.jpg" in lines[2]["error"] and "error" not in lines[0]
    assert "skipped 2 file(s) that are neither images nor videos" in result.stderr
    assert "notes.txt" not in result.stdout + result.stderr  # skipped, not reported as an error
    assert "images: 100%" in result.stderr  # the progress bar: stderr, never stdout
    assert (out / "2023/party/IMG_1_annotated.png").is_file() and (out / "2024/trip/IMG_1_annotated.png").is_file()

    flat = run_cli("predict", library, "--json", "--no-recursive")
    assert flat.returncode == 0, flat.stderr
    assert [json.loads(line)["relative"] for line in flat.stdout.splitlines()] == ["top.png"]
    assert "skipped 1 file(s)" in flat.stderr
    only_folders = run_cli("predict", library / "2023", "--no-recursive")
    assert only_folders.returncode == 2 and "2023: folder has no images or videos" in only_folders.stderr
    assert "--no-recursive" in only_folders.stderr


def test_mtcnn_finds_a_real_face_the_cascade_misses_offline_and_fer_classifies_it(monkeypatch, tmp_path,
                                                                                   raw_test_faces):
    """FER(detector="mtcnn") runs MTCNN (its weights inside the `mtcnn` wheel, no network): on a
    composed photo of a real FER2013 face that the Haar cascade misses it finds the face, and the
    recognizer classifies that crop; `predict --detector mtcnn` reaches it."""
    import socket

    from keras_fer.faces import MTCNNDetector

    def no_network(*args, **kwargs):
        raise OSError("network access in an offline test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    fer = FER(detector="mtcnn")
    assert isinstance(fer.detector, MTCNNDetector)
    haar = FaceDetector()
    # Haar misses ~3 in 10 at 120 px
    for i in np.random.default_rng(2).permutation(len(raw_test_faces))[:40]:
        photo, (placed,) = compose_photo(raw_test_faces[i:i + 1], side=120, seed=int(i))
        gray = np.asarray(Image.fromarray(photo).convert("L"))
        if not any(iou(box, placed) >= 0.5 for box in haar.detect(gray)):
            found = fer.detect_emotions(photo)
            if any(iou(face["box"], placed) >= 0.5 for face in found):
                break
    else:
        pytest.fail("MTCNN found none of the faces the Haar cascade missed in 40 photos")
    face = max(found, key=lambda f: iou(f["box"], placed))
    assert fer.detector.detect(gray)[0] == tuple(found[0]["box"])
    expected = FER().classify_faces([crop_square(gray, face["box"])])[0]
    np.testing.assert_allclose(list(face["emotions"].values()), expected, atol=1e-5)
    assert face["top_emotion"] == fer.class_names[int(expected.argmax())]
    Image.fromarray(photo).save(tmp_path / "photo.png")
    result = run_cli("predict", tmp_path / "photo.png", "--json", "--detector", "mtcnn")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["faces"] == found
