"""Generated phone scenes for `openproctor eval --composites` and the tests: a real hand, cut
out along its landmarks from one photo, pasted onto the faces of others, holding a drawn phone
at the ear (a phone) or resting on the chin (not a phone).

Only hands the hand models found are used, so the pasted hand is a real one; the phone is
drawn (a dark slab with a lit screen edge), since no cleanly licensed phone photo was found in a
registry package. The composites are made in memory and never stored.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import cv2
import numpy as np

from openproctor.detectors.analyzer import Analyzer
from openproctor.detectors.base import FaceResult, FloatArray, Frame, Hand
from openproctor.detectors.phones import PhoneHistory
from openproctor.tools.eval_stats import rate, sweep

Placement = Literal["ear", "chin"]


def cut_out(frame: Frame, hand: Hand) -> tuple[Frame, FloatArray]:
    """The hand's pixels and a soft 0..1 mask: the landmarks' hull widened by 0.15 of the
    hand's size, cropped to it."""
    pad = 0.15 * hand.size
    hull = cv2.convexHull(hand.landmarks[:, :2].astype(np.float32)).reshape(-1, 2)
    inside = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillConvexPoly(inside, hull.astype(np.int32), 255)
    grow = max(int(pad), 1)
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2)
    mask = np.asarray(cv2.dilate(inside, disk), np.uint8)
    ys, xs = np.nonzero(mask)
    y1, y2, x1, x2 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    soft = np.asarray(cv2.GaussianBlur(mask[y1:y2, x1:x2], (0, 0), max(grow / 4, 1.0)))
    return np.ascontiguousarray(frame[y1:y2, x1:x2]), (soft / 255.0).astype(np.float32)


def _paste(
    canvas: Frame,
    patch: Frame,
    mask: FloatArray,
    centre: tuple[float, float],
    angle: float,
    scale: float,
) -> None:
    """Blend `patch` (rotated by `angle` degrees, scaled) into `canvas` centred at `centre`."""
    h, w = patch.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    m[:, 2] += np.array(centre) - (w / 2, h / 2)
    size = (canvas.shape[1], canvas.shape[0])
    warped = cv2.warpAffine(patch, m, size, flags=cv2.INTER_LINEAR)
    alpha = cv2.warpAffine(mask, m, size, flags=cv2.INTER_LINEAR)[..., None]
    canvas[:] = (canvas * (1 - alpha) + warped * alpha).astype(np.uint8)


def _draw_phone(canvas: Frame, centre: tuple[float, float], width: float, tilt: float) -> None:
    """A phone seen edge-on at the ear: a dark rounded slab with a lit screen rim."""
    rect = (centre, (width, 2.0 * width), tilt)
    body = cv2.boxPoints(rect).astype(np.int32)
    cv2.fillConvexPoly(canvas, body, (30, 30, 34), lineType=cv2.LINE_AA)
    cv2.polylines(canvas, [body], True, (150, 150, 160), max(int(width / 12), 1), cv2.LINE_AA)


def composite(
    face_frame: Frame, face: FaceResult, hand_frame: Frame, hand: Hand, where: Placement
) -> Frame:
    """`face_frame` with `hand` (from `hand_frame`) pasted at the face's image-right ear
    holding a drawn phone, or on its chin; wrist to knuckles 0.45 face widths."""
    canvas = face_frame.copy()
    width = face.box.x2 - face.box.x1
    patch, mask = cut_out(hand_frame, hand)
    scale = 0.45 * width / max(hand.size, 1.0)
    # Turn the hand so that wrist -> middle knuckle points up (fingers up), as in a grip.
    wx, wy = hand.landmarks[0, :2].tolist()
    mx, my = hand.landmarks[9, :2].tolist()
    upright = math.degrees(math.atan2(-(my - wy), mx - wx)) - 90.0
    if where == "ear":
        ex, ey = face.keypoints[5].tolist()  # the image-right ear
        _draw_phone(canvas, (ex + 0.1 * width, ey + 0.1 * width), 0.45 * width, -10.0)
        centre = (ex + 0.2 * width, ey + 0.4 * width)
    else:
        mouth = face.keypoints[3].tolist()
        centre = (mouth[0], face.box.y2 + 0.45 * width)
    _paste(canvas, patch, mask, centre, -upright, scale)
    return canvas


def score_composites(
    analyzer: Analyzer,
    photos: list[tuple[str, Frame]],
    hand_frame: Frame,
    thresholds: list[float],
) -> dict[str, Any]:
    """`openproctor eval --composites`: each one-face photo with the hand at its ear holding a
    phone (a positive) and on its chin (a negative), each judged as a still (one object pass)
    and as a stream of confirm_passes object passes (PhoneHistory, as the live worker does)."""
    hands = analyzer.hands(hand_frame)
    if not hands:
        raise ValueError("no hand found in the hand image")
    config = analyzer.config.phones
    scores: dict[Placement, list[float]] = {"ear": [], "chin": []}
    still: dict[Placement, list[str]] = {"ear": [], "chin": []}
    stream: dict[Placement, list[str]] = {"ear": [], "chin": []}
    for name, frame in photos:
        faces = analyzer.analyze(frame, 0, objects=False).faces
        if len(faces) != 1:
            continue
        for where in ("ear", "chin"):
            scene = composite(frame, faces[0], hand_frame, hands[0], where)
            found = analyzer.analyze(scene, 0).phone
            scores[where].append(found.score if found else 0.0)
            if found is not None and found.phone:
                still[where].append(name)
            history = PhoneHistory(config)
            for i in range(config.confirm_passes):
                found = analyzer.analyze(scene, i * 5000, phones=history).phone
            if found is not None and found.phone:
                stream[where].append(name)
    n = len(scores["ear"])
    return {
        "photos": n,
        "ear_found_still": rate(len(still["ear"]), n),
        "ear_found_stream": rate(len(stream["ear"]), n),
        "ear_missed_stream": sorted({name for name, _ in photos} - set(stream["ear"])),
        "chin_false_still": rate(len(still["chin"]), n),
        "chin_false_stream": rate(len(stream["chin"]), n),
        "chin_false": stream["chin"],
        # positives: the ear composites; negatives: the chin ones.
        "phone_sweep": sweep(scores["ear"], scores["chin"], thresholds, accept_below=False),
    }
