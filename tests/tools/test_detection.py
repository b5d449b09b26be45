from __future__ import annotations

import csv
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from openproctor.detectors.config import DetectorConfig
from openproctor.tools.detection import (
    InputError,
    analyze_paths,
    bench,
    evaluate,
    read_image,
    seed_face_locations,
    verify,
)
from openproctor.tools.eval_stats import rate, wilson
from tests.detectors.conftest import FIXTURES

# What face_recognition 1.3.0's face_locations(image) returned for these (recorded with it):
# (top, right, bottom, left), clipped to the image; cropped at x=150, the left face is cut.
SEED_BOXES = [
    ("fr_two_people.jpg", 0, [(26, 225, 116, 135), (46, 544, 136, 454)]),
    ("fr_two_people.jpg", 150, [(32, 402, 140, 294), (26, 76, 116, 0)]),
    ("id_obama_1.jpg", 0, [(81, 356, 236, 201)]),
    ("noface_coffee.jpg", 0, []),
]


def test_analyze_images_and_videos(model_dir: Path, video: Path) -> None:
    rows = list(
        analyze_paths(
            [FIXTURES / "fr_two_people.jpg", video],
            model_dir=model_dir,
            config=DetectorConfig(),
            fps=2,
        )
    )
    assert [r["file"] for r in rows] == [str(FIXTURES / "fr_two_people.jpg")] + [str(video)] * 4
    image = rows[0]
    assert image["faces"] == 2
    assert "t" not in image
    assert set(image["pose"]) == {"yaw", "pitch", "roll"}
    assert set(image["eyes"]) == {"ear_left", "ear_right", "closed"}
    assert set(image["gaze"]) == {"x", "y"}
    assert "multiple_faces" in image["flags"]
    assert image["persons"]["count"] == 2
    assert len(image["face_details"]) == 2
    assert all(set(o) == {"label", "score", "box"} for o in image["objects"])
    assert [r["t"] for r in rows[1:]] == [0.0, 0.5, 1.0, 1.5]
    assert [r["faces"] for r in rows[1:]] == [1, 1, 0, 0]
    assert rows[-1]["pose"] is None
    assert "no_face" in rows[-1]["flags"]


def test_unreadable_inputs_yield_errors(model_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.touch()
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes((FIXTURES / "astronaut.jpg").read_bytes()[:300])
    paths = [empty, text, truncated, tmp_path / "missing.png", tmp_path]
    rows = list(analyze_paths(paths, model_dir=model_dir, config=DetectorConfig()))
    assert [r["file"] for r in rows] == [str(p) for p in paths]
    assert [r["error"] for r in rows] == [
        "empty file",
        "not a readable image or video",
        "not a readable image",
        "no such file",
        "no such file",
    ]


def test_huge_images_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    assert cv2.imwrite(str(path), np.zeros((7000, 6000), np.uint8))
    with pytest.raises(InputError, match="megapixels"):
        read_image(path)


def test_verify(model_dir: Path) -> None:
    config = DetectorConfig()
    same = verify(
        FIXTURES / "id_obama_1.jpg", FIXTURES / "id_obama_2.jpg", model_dir=model_dir, config=config
    )
    other = verify(
        FIXTURES / "id_obama_1.jpg", FIXTURES / "id_biden_1.jpg", model_dir=model_dir, config=config
    )
    assert same["same_person"] is True
    assert other["same_person"] is False
    two = verify(
        FIXTURES / "fr_two_people.jpg",
        FIXTURES / "id_biden_1.jpg",
        model_dir=model_dir,
        config=config,
    )
    assert "exactly one face" in two["error"]


def test_evaluate_scores_a_labelled_directory(model_dir: Path, tmp_path: Path) -> None:
    rows = [
        ("astronaut", 1, "collins"),
        ("fr_two_people", 2, "obama;biden"),
        ("noface_coffee", 0, ""),
        ("id_obama_1", 1, "obama"),
        ("id_obama_2", 1, "obama"),
        ("id_biden_1", 1, "biden"),
    ]
    (tmp_path / "images").mkdir()
    with (tmp_path / "labels.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["file", "faces", "phone", "book", "laptop", "identity", "notes", "persons"]
        )
        for name, faces, identity in rows:
            shutil.copy(FIXTURES / f"{name}.jpg", tmp_path / "images")
            writer.writerow([f"images/{name}.jpg", faces, 0, 0, 0, identity, "", faces])
    report = evaluate(
        tmp_path,
        model_dir=model_dir,
        config=DetectorConfig(),
        with_variants=True,
        hand_image=FIXTURES / "id_obama_1.jpg",
    )
    assert report["faces"]["accuracy"] == 1.0
    assert report["persons"]["exact"] == rate(6, 6)
    assert report["persons"]["one_counted_as_many"] == []
    identity = report["identity"]
    same_max, different_min = identity.pop("same_max"), identity.pop("different_min")
    assert identity.pop("same_accepted") == rate(1, 1)
    assert identity.pop("different_rejected") == rate(5, 5)
    at_threshold = next(row for row in identity.pop("sweep") if row["threshold"] == 0.5)
    assert at_threshold["positives_accepted"] == rate(1, 1)
    assert at_threshold["negatives_rejected"] == rate(5, 5)
    assert identity == {"pairs": 6, "correct": 6, "accuracy": 1.0, "threshold": 0.5, "wrong": []}
    # One same-person pair (the two Obama photos) below the threshold, all others above it.
    assert 0 < same_max < 0.5 < different_min
    # Each photo letterboxed and with a 60- and a 40-px face: 16 samples, no photo paired with
    # its own copies, and still every pair right.
    copies = report["identity_variants"]
    assert (copies["pairs"], copies["correct"], copies["wrong"]) == (96, 96, [])
    assert same_max <= copies["same_max"] < 0.5 < copies["different_min"] <= different_min
    assert report["objects"]["phone"]["fp"] == 0
    assert report["faces"]["accuracy_ci95"] == wilson(6, 6)
    # No photo shows a phone: from the phone threshold up every row rejects all six images
    # (below it, fr_two_people's sleeve scores 0.26), and no row has positives.
    min_score = DetectorConfig().phones.min_score
    sweep = report["phone_sweep"]
    assert {row["negatives_rejected"]["k"] for row in sweep if row["threshold"] >= min_score} == {6}
    assert {row["positives_accepted"]["n"] for row in sweep} == {0}
    # The hand of id_obama_1 at the ear (with a phone) and on the chin of the four one-face
    # photos, reported apart: no chin is a phone, the astronaut's and id_obama_2's ears are.
    composites = report["phone_composites"]
    assert composites["photos"] == 4
    assert composites["chin_false_stream"] == rate(0, 4)
    assert {"images/astronaut.jpg", "images/id_obama_2.jpg"}.isdisjoint(
        composites["ear_missed_stream"]
    )
    assert {"decode", "face", "mesh", "objects"} <= set(report["median_ms"])


@pytest.mark.parametrize(("name", "crop_left", "boxes"), SEED_BOXES)
def test_the_bench_baseline_finds_what_face_recognition_found(
    name: str, crop_left: int, boxes: list[tuple[int, int, int, int]]
) -> None:
    with Image.open(FIXTURES / name) as image:  # decoded as face_recognition decodes it
        rgb = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, crop_left:])
    assert seed_face_locations(rgb) == boxes


def test_bench_reports_stages_and_baseline(model_dir: Path, video: Path) -> None:
    report = bench(
        [video], model_dir=model_dir, config=DetectorConfig(threads=2), frames=4, compare_fps=(2,)
    )
    assert report["frames"] == 4
    assert report["size"] == [640, 480]
    stages = {"decode", "track", "face", "mesh", "face_stage", "baseline", "identity"}
    assert stages <= set(report["stages"])
    assert report["face_stage_ms"] == report["stages"]["face_stage"]
    assert report["ratio"] == round(report["baseline_ms"] / report["face_stage_ms"], 1)
    assert report["ratio"] > 1
    # The first frame is detected; the three that follow show the same face and are tracked.
    assert report["detector_share"] == 0.25
    assert set(report["at_fps"]) == {"native", "2"}
    assert report["at_fps"]["2"]["frames"] == 4
