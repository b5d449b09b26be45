"""The text reader (PP-OCRv4 on ONNX Runtime) on generated ID cards, and its post-processing."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from openproctor.detectors.ocr import TextReader, ctc_decode, text_quads
from openproctor.domains.iddoc.names import fold
from openproctor.tools import id_cards


@pytest.fixture(scope="module")
def reader(model_dir: Path) -> TextReader:
    return TextReader(model_dir, 1)


def test_ctc_merges_repeats_and_drops_blanks() -> None:
    characters = ["", "a", "b"]
    steps = np.eye(3, dtype=np.float32)[[1, 1, 0, 1, 2, 2, 0]] * 0.9
    assert ctc_decode(steps, characters) == ("aab", pytest.approx(0.9))
    assert ctc_decode(np.eye(3, dtype=np.float32)[[0, 0]], characters) == ("", 0.0)


def test_a_text_region_becomes_a_grown_quad_in_image_coordinates() -> None:
    probability = np.zeros((100, 200), np.float32)
    probability[40:50, 20:120] = 0.9  # one line, 100 x 10 on the map
    ((quad, score),) = text_quads(probability, 400, 200)  # the image is twice the map
    assert 0.7 < score <= 0.9  # the region's mean, its edge included
    x1, y1 = quad.min(axis=0)
    x2, y2 = quad.max(axis=0)
    # Grown by area * 1.6 / perimeter (7.3 map px) on each side, then doubled.
    assert (x1, y1, x2, y2) == pytest.approx((25, 65, 253, 113), abs=3)
    assert text_quads(probability * 0.4, 400, 200) == []  # below the pixel threshold


def test_the_names_on_a_generated_card_are_read(reader: TextReader) -> None:
    card = id_cards.card(id_cards.CardText("Zoë Anaïs", "Müller-Lüdenscheidt"), None)
    lines, timings = reader.read(card)
    texts = [fold(line.text) for line in lines]
    assert "muller ludenscheidt" in texts, texts
    assert any(text.replace(" ", "") == "zoeanais" for text in texts), texts
    assert all(line.score >= 0.5 for line in lines)
    surname = next(line for line in lines if fold(line.text) == "muller ludenscheidt")
    assert 300 < surname.box[0] < 340
    assert 140 < surname.box[1] < 200
    assert set(timings) == {"ocr_detect", "ocr_read"}


def test_a_blank_image_reads_as_nothing(reader: TextReader) -> None:
    assert reader.read(np.full((480, 640, 3), 128, np.uint8))[0] == ()


def test_a_card_held_to_the_camera_is_read(reader: TextReader) -> None:
    card = id_cards.card(id_cards.CardText("Kwame", "Mensah", font="DejaVuSerif.ttf"), None)
    shot = id_cards.Shot(width=360, tilt_deg=5, turn=0.1, blur=0.8, noise=3)
    frame = cv2.imdecode(np.frombuffer(id_cards.held_to_camera(card, shot), np.uint8), 1)
    texts = [line.text for line in reader.read(frame)[0]]
    assert "MENSAH" in texts, texts
    assert "KWAME" in texts, texts
