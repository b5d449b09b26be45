"""Real models on small, cleanly licensed fixtures.

tests/fixtures images are shrunk (longest side 640 px, JPEG q85) copies of public-domain photos:
fr_two_people, id_obama_1/2, id_biden_1 (US government, via ageitgey/face_recognition examples,
MIT), astronaut (NASA) and noface_coffee (CC0, scikit-image data), and pai_webcam_center /
pai_webcam_eyes_left (vardanagarwal/Proctoring-AI, MIT). silence.wav and speech_en.wav are the
first 2 s of espeak-ng recordings, resampled to 16 kHz mono.
"""

from __future__ import annotations

import wave
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from openproctor.detectors.analyzer import Analyzer
from openproctor.detectors.base import Frame
from openproctor.detectors.config import DetectorConfig

FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.fixture(scope="session")
def analyzer(model_dir: Path) -> Analyzer:
    return Analyzer(model_dir, DetectorConfig())


@pytest.fixture(scope="session")
def image() -> Callable[[str], Frame]:
    def load(name: str) -> Frame:
        frame = cv2.imread(str(FIXTURES / f"{name}.jpg"))
        assert frame is not None, name
        return np.asarray(frame, np.uint8)

    return load


def read_wav(name: str) -> npt.NDArray[np.int16]:
    with wave.open(str(FIXTURES / f"{name}.wav")) as w:
        assert w.getframerate() == 16_000
        return np.frombuffer(w.readframes(w.getnframes()), np.int16)
