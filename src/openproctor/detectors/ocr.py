"""Lines of text in an image: PaddleOCR's PP-OCRv4 mobile models on ONNX Runtime.

Detection is DB (differentiable binarisation): a per-pixel text probability map, thresholded,
each connected region's rotated rectangle grown by `area * UNCLIP_RATIO / perimeter` on every
side (the region map is drawn shrunk by that much in training). Recognition reads each line,
cut out upright by a perspective warp and scaled to 48 px high, with CTC over the character list
stored in the model's metadata. Constants follow RapidOCR's defaults (the models' own
configuration) except where a comment says why; the growing is done on the rectangle itself,
not on the region's polygon, which needs neither pyclipper nor shapely.

No angle classifier: a document shown upside down reads as nothing, and the candidate is asked
to try again, which costs less than a third model on every document.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from openproctor.detectors.base import Frame, TextLine, as_bgr
from openproctor.detectors.catalog import model_path
from openproctor.detectors.objects.coco import onnx_session

# The detector's input: the long side scaled to this (both sides multiples of 32). A 640x480
# webcam frame is enlarged (small print on a card held to the camera gains from it); a 12-MP
# phone photo is reduced, which keeps the pass near 0.3 s on one core.
DET_LONG_SIDE = 960
DET_MIN_SIDE = 32
# DB post-processing (RapidOCR's configuration of these models).
PIXEL_THRESHOLD = 0.3
BOX_THRESHOLD = 0.5
UNCLIP_RATIO = 1.6
MIN_BOX_SIDE = 3
MAX_CANDIDATES = 1000
# Recognition input: 48 px high, at least 320 wide; lines read in batches of this many.
REC_HEIGHT = 48
REC_MIN_WIDTH = 320
REC_BATCH = 6
# Lines read with a lower mean character probability are dropped (RapidOCR's text_score).
MIN_TEXT_SCORE = 0.5
MEAN, STD = 0.5, 0.5

FloatMap = npt.NDArray[np.float32]
Quad = npt.NDArray[np.float32]  # 4x2 corners: top-left, top-right, bottom-right, bottom-left


def _normalise(image: Frame) -> FloatMap:
    """HxWx3 uint8 -> 3xHxW float in [-1, 1], as both models were trained."""
    return np.asarray(((image.astype(np.float32) / 255.0 - MEAN) / STD).transpose(2, 0, 1))


def _det_size(width: int, height: int) -> tuple[int, int]:
    scale = DET_LONG_SIDE / max(width, height)
    return (
        max(DET_MIN_SIDE, round(width * scale / 32) * 32),
        max(DET_MIN_SIDE, round(height * scale / 32) * 32),
    )


def _ordered(points: npt.NDArray[np.float32]) -> Quad:
    """The four corners of a rotated rectangle as top-left, top-right, bottom-right,
    bottom-left (left pair and right pair by x, each pair by y)."""
    by_x = points[np.argsort(points[:, 0])]
    left, right = by_x[:2], by_x[2:]
    top_left, bottom_left = left[np.argsort(left[:, 1])]
    top_right, bottom_right = right[np.argsort(right[:, 1])]
    return np.array([top_left, top_right, bottom_right, bottom_left], np.float32)


def _corners(rect: tuple[Sequence[float], tuple[float, float], float]) -> Quad:
    return np.asarray(cv2.boxPoints(rect), np.float32)


def _region_score(probability: FloatMap, quad: Quad) -> float:
    """The mean text probability inside the quad (DB's "fast" box score)."""
    h, w = probability.shape
    x1, y1 = np.clip(np.floor(quad.min(axis=0)).astype(int), 0, [w - 1, h - 1])
    x2, y2 = np.clip(np.ceil(quad.max(axis=0)).astype(int), 0, [w - 1, h - 1])
    mask = np.zeros((y2 - y1 + 1, x2 - x1 + 1), np.uint8)
    cv2.fillPoly(mask, [(quad - [x1, y1]).astype(np.int32)], 1)
    return float(cv2.mean(probability[y1 : y2 + 1, x1 : x2 + 1], mask)[0])


def text_quads(probability: FloatMap, width: int, height: int) -> list[tuple[Quad, float]]:
    """DB post-processing: the text regions of a probability map as corner quads in the
    coordinates of a width x height image, with their mean probability."""
    bitmap = cv2.dilate((probability > PIXEL_THRESHOLD).astype(np.uint8), np.ones((2, 2)))
    contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    scale = np.array([width / probability.shape[1], height / probability.shape[0]], np.float32)
    found: list[tuple[Quad, float]] = []
    for contour in contours[:MAX_CANDIDATES]:
        centre, (w, h), angle = cv2.minAreaRect(contour)
        if min(w, h) < MIN_BOX_SIDE:
            continue
        score = _region_score(probability, _ordered(_corners((centre, (w, h), angle))))
        if score < BOX_THRESHOLD:
            continue
        grow = w * h * UNCLIP_RATIO / (2 * (w + h))
        w, h = w + 2 * grow, h + 2 * grow
        if min(w, h) < MIN_BOX_SIDE + 2:
            continue
        quad = _ordered(_corners((centre, (w, h), angle))) * scale
        quad = np.clip(quad, 0, [width - 1, height - 1]).astype(np.float32)
        if min(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[0] - quad[3])) <= 3:
            continue
        found.append((quad, score))
    return found


def crop_line(image: Frame, quad: Quad) -> Frame:
    """The line inside quad, warped upright; a line much taller than wide is turned a
    quarter (text running top to bottom)."""
    width = int(max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[2] - quad[3])))
    height = int(max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2])))
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    warp = cv2.getPerspectiveTransform(quad, target)
    line = cv2.warpPerspective(
        image, warp, (width, height), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC
    )
    if height >= 1.5 * width:
        line = np.rot90(line)
    return np.asarray(line, np.uint8)


def ctc_decode(probabilities: FloatMap, characters: list[str]) -> tuple[str, float]:
    """Greedy CTC: the best class at each step, repeats merged, blanks (class 0) dropped;
    the score is the mean probability of the characters kept."""
    best = probabilities.argmax(axis=1)
    keep = best != 0
    keep[1:] &= best[1:] != best[:-1]
    if not keep.any():
        return "", 0.0
    text = "".join(characters[i] for i in best[keep])
    return text, float(probabilities.max(axis=1)[keep].mean())


class TextReader:
    """Text detection + recognition; build once per worker process (~0.2 s)."""

    def __init__(
        self, model_dir: Path, threads: int, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        """clock times the two stages in seconds (see Analyzer)."""
        self._clock = clock
        self._det = onnx_session(model_path(model_dir, "ocr_det"), threads)
        self._rec = onnx_session(model_path(model_dir, "ocr_rec"), threads)
        listed = self._rec.get_modelmeta().custom_metadata_map["character"].splitlines()
        # Class 0 is CTC's blank; the space is the last class (PaddleOCR's use_space_char).
        self._characters = ["", *listed, " "]

    def detect(self, frame: Frame) -> list[tuple[Quad, float]]:
        """Where the lines of text are, by their top edge, then left to right."""
        h, w = frame.shape[:2]
        resized = np.asarray(cv2.resize(frame, _det_size(w, h)), np.uint8)
        name = self._det.get_inputs()[0].name
        (probability,) = self._det.run(None, {name: _normalise(resized)[None]})
        quads = text_quads(np.asarray(probability[0, 0], np.float32), w, h)
        return sorted(quads, key=lambda item: (float(item[0][:, 1].min()), float(item[0][0, 0])))

    def recognise(self, lines: list[Frame]) -> list[tuple[str, float]]:
        """The text of each upright line image and its score."""
        read: list[tuple[str, float]] = [("", 0.0)] * len(lines)
        ratios = [line.shape[1] / line.shape[0] for line in lines]
        order = np.argsort(ratios)  # similar widths together: less padding per batch
        for start in range(0, len(lines), REC_BATCH):
            batch = order[start : start + REC_BATCH]
            width = max(REC_MIN_WIDTH, int(np.ceil(REC_HEIGHT * max(ratios[i] for i in batch))))
            tensor = np.zeros((len(batch), 3, REC_HEIGHT, width), np.float32)
            for row, index in enumerate(batch):
                scaled_w = min(width, int(np.ceil(REC_HEIGHT * ratios[index])))
                tensor[row, :, :, :scaled_w] = _normalise(
                    cv2.resize(lines[index], (scaled_w, REC_HEIGHT))
                )
            (output,) = self._rec.run(None, {self._rec.get_inputs()[0].name: tensor})
            for row, index in enumerate(batch):
                read[index] = ctc_decode(np.asarray(output[row], np.float32), self._characters)
        return read

    def read(self, frame: object) -> tuple[tuple[TextLine, ...], dict[str, float]]:
        """Every line of text read with at least MIN_TEXT_SCORE, top to bottom."""
        image = as_bgr(frame)
        start = self._clock()
        quads = self.detect(image)
        detected = self._clock()
        texts = self.recognise([crop_line(image, quad) for quad, _ in quads]) if quads else []
        done = self._clock()
        lines = tuple(
            TextLine(
                text=text.strip(),
                score=round(score, 3),
                box=(
                    float(quad[:, 0].min()),
                    float(quad[:, 1].min()),
                    float(quad[:, 0].max()),
                    float(quad[:, 1].max()),
                ),
            )
            for (quad, _), (text, score) in zip(quads, texts, strict=True)
            if score >= MIN_TEXT_SCORE and text.strip()
        )
        timings = {"ocr_detect": (detected - start) * 1000, "ocr_read": (done - detected) * 1000}
        return lines, timings
