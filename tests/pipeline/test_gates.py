from __future__ import annotations

import numpy as np

from openproctor.pipeline.gates import Gate, check, shrink


def noise(seed: int, level: int = 128) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(level, 40, (480, 640, 3)), 0, 255).astype(np.uint8)


def test_a_black_frame_is_covered() -> None:
    result = check(np.zeros((480, 640, 3), np.uint8), last_seen=None, last_analysed=None)
    assert result.gate is Gate.COVERED


def test_a_dark_but_textured_room_is_not_covered() -> None:
    dark = noise(1, level=15)
    assert check(dark, last_seen=None, last_analysed=None).gate is Gate.ANALYSED


def test_first_frame_is_analysed_and_is_no_change() -> None:
    result = check(noise(1), last_seen=None, last_analysed=None)
    assert result.gate is Gate.ANALYSED
    assert not result.changed_a_lot
    assert not result.frozen


def test_identical_frames_are_frozen_and_unchanged() -> None:
    frame = noise(2)
    small = shrink(frame)
    result = check(frame, last_seen=small, last_analysed=small)
    assert result.gate is Gate.UNCHANGED
    assert result.frozen


def test_sensor_noise_is_unchanged_but_not_frozen() -> None:
    frame = noise(3)
    jitter = np.clip(
        frame.astype(np.int16) + np.random.default_rng(4).integers(-2, 3, frame.shape), 0, 255
    )
    small = shrink(frame)
    result = check(jitter.astype(np.uint8), last_seen=small, last_analysed=small)
    assert result.gate is Gate.UNCHANGED
    assert not result.frozen


def test_a_new_scene_is_analysed() -> None:
    small = shrink(noise(5, level=60))
    result = check(noise(6, level=190), last_seen=small, last_analysed=small)
    assert result.gate is Gate.ANALYSED
    assert result.changed_a_lot
