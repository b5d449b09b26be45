from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from openproctor.detectors.vad_silero import VoiceActivityDetector, to_16k
from tests.detectors.conftest import read_wav


@pytest.fixture(scope="module")
def vad(model_dir: Path) -> VoiceActivityDetector:
    return VoiceActivityDetector(model_dir)


def test_speech_and_silence(vad: VoiceActivityDetector) -> None:
    assert vad.speech_prob(to_16k(read_wav("speech_en"), 16_000)) > 0.9
    assert vad.speech_prob(to_16k(read_wav("silence"), 16_000)) < 0.1


def test_chunks_are_independent(vad: VoiceActivityDetector) -> None:
    speech = to_16k(read_wav("speech_en"), 16_000)
    silence = to_16k(read_wav("silence"), 16_000)
    vad.speech_prob(speech)
    assert vad.speech_prob(silence) < 0.1
    assert vad.speech_prob(silence[: vad.window - 1]) == 0.0


def test_to_16k_resamples_and_scales() -> None:
    tone = (np.sin(np.arange(48_000) / 10) * 32767).astype(np.int16)
    out = to_16k(tone, 48_000)
    assert out.dtype == np.float32
    assert out.size == 16_000
    assert np.abs(out).max() <= 1.0
    assert to_16k(np.zeros(0, np.float64), 8_000).size == 0


@pytest.mark.parametrize(
    ("samples", "rate"),
    [
        (np.zeros((2, 100), np.int16), 16_000),
        (np.zeros(100, np.int32), 16_000),
        (np.zeros(100, np.int16), 0),
    ],
)
def test_to_16k_refuses_bad_audio(samples: npt.NDArray[np.generic], rate: int) -> None:
    with pytest.raises(ValueError, match=r"audio|rate"):
        to_16k(samples, rate)


def test_speech_prob_needs_16k_float(vad: VoiceActivityDetector) -> None:
    with pytest.raises(ValueError, match="float32"):
        vad.speech_prob(np.zeros(16_000, np.int16))
