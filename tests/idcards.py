"""Generated ID cards (tools/id_cards.py) held to the camera, for tests: a clean fixture's face
as the card's portrait, a printed name, and the holder's own picture behind the card."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from openproctor.detectors.analyzer import Analyzer
from openproctor.detectors.config import DetectorConfig
from openproctor.tools import id_cards

FIXTURES = Path(__file__).parent / "fixtures"
# Held at the webcam as a candidate does: slightly turned and tilted, a little blurred and noisy.
HELD = id_cards.Shot(width=380, tilt_deg=-4, turn=0.06, blur=0.6, noise=2)


def fixture_image(name: str) -> np.ndarray:
    return np.asarray(cv2.imread(str(FIXTURES / name)), np.uint8)


class CardMaker:
    """Cards with a fixture's face (found by the real face detector) and any name."""

    def __init__(self, model_dir: Path) -> None:
        self.analyzer = Analyzer(model_dir, DetectorConfig())

    def portrait(self, face: str) -> np.ndarray:
        image = fixture_image(face)
        (found,) = self.analyzer.analyze(image, 0, objects=False).faces
        return id_cards.portrait(image, found.box)

    def held(self, face: str, given: str, family: str, holder: str = "id_obama_2.jpg") -> bytes:
        """The webcam JPEG of `holder` holding a card with `face`'s portrait and the name."""
        card = id_cards.card(id_cards.CardText(given, family, seed=7), self.portrait(face))
        return id_cards.held_to_camera(card, HELD, fixture_image(holder))
