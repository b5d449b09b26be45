"""Measure the ID document check on generated cards: `python -m openproctor.tools.id_documents_eval
EVAL_DIR [--json]` (EVAL_DIR laid out as shared/eval; DATA_DIR/models installed).

1. Portrait to live face: a card carries photo A's face; its portrait is compared with the
   enrolment embedding of photo B. Same person: A and B two photos of one identity; different:
   two identities. Flat (an uploaded photo of the card) and held to a webcam (smaller, turned,
   blurred, noisy).
2. Name match: made-up names with accents, fonts and shots varied; the right roster name must
   match, the next card's roster name must not.
3. Time per stage of the worker job (wall time, or CPU time with --cpu-time).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from openproctor.detectors.config import DetectorConfig
from openproctor.detectors.identity_dlib import distance
from openproctor.domains.iddoc.names import match_name
from openproctor.pipeline import worker
from openproctor.pipeline.id_documents import pick_faces
from openproctor.pipeline.jobs import IdDocumentJob
from openproctor.settings import load_settings
from openproctor.tools import id_cards

SHOTS = {
    "flat": None,
    "held": id_cards.Shot(width=420, tilt_deg=3, turn=0.05, blur=0.5, noise=2),
    "held_far_blurred": id_cards.Shot(width=320, tilt_deg=-8, turn=0.15, blur=1.2, noise=5),
}
GIVEN = (
    "José",
    "Zoë",
    "Łukasz",
    "Søren",
    "Ana María",
    "François",
    "Jürgen",
    "Ngozi",
    "Siobhán",
    "Çağla",
    "Björn",
    "Inés",
    "Ólafur",
    "Zsófia",
    "Chidi",
    "Priya",
    "Jean-Luc",
    "Anaïs",
    "Tomás",
    "Hiroshi",
)
FAMILY = (
    "Müller",
    "García Pérez",
    "Dvořák",
    "Nguyễn",
    "Kowalczyk",
    "Ó Súilleabháin",
    "Åström",
    "Øvergaard",
    "Okonkwo",
    "Y\u0131lmaz",  # dotless i
    "Lefèvre",
    "Szabó",
    "Van der Berg",
    "Şahin",
    "Mensah",
    "Fernández",
    "Bianchi",
    "Tanaka",
    "Smith-Jones",
    "Kowalski",
)


def names(count: int) -> list[tuple[str, str]]:
    """Given and family names paired with different strides, so no two cards share both."""
    return [(GIVEN[i % len(GIVEN)], FAMILY[(i * 7 + 3) % len(FAMILY)]) for i in range(count)]


def roster_form(given: str, family: str, index: int) -> str:
    """How a roster might write the name: family first, or without a middle name."""
    if index % 3 == 1:
        return f"{family} {given}"
    if index % 4 == 2:
        return f"{given.split()[0]} {family}"
    return f"{given} {family}"


def image_of(card: np.ndarray, shot: id_cards.Shot | None) -> bytes:
    return id_cards.jpeg(card) if shot is None else id_cards.held_to_camera(card, shot)


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "n": len(values),
        "min": round(min(values), 3),
        "median": round(statistics.median(values), 3),
        "max": round(max(values), 3),
    }


def faces_part(eval_dir: Path, w: worker.Worker) -> dict[str, Any]:
    rows = list(csv.DictReader((eval_dir / "labels.csv").open()))
    photos = [
        (row["file"], row["identity"])
        for row in rows
        if row["faces"] == "1" and row["identity"] and ";" not in row["identity"]
    ]
    portraits: dict[str, np.ndarray] = {}
    enrolled: dict[str, tuple[float, ...]] = {}
    for file, _ in photos:
        image = np.asarray(cv2.imread(str(eval_dir / file)), np.uint8)
        faces = w.analyzer.analyze(image, 0, objects=False).faces
        if len(faces) == 1:
            portraits[file] = id_cards.portrait(image, faces[0].box)
            enrolled[file] = tuple(float(x) for x in w.analyzer.enrol(image).embedding)
    identity = dict(photos)
    out: dict[str, Any] = {"photos": len(portraits)}
    max_distance = w.analyzer.config.identity.max_distance
    for shot_name, shot in SHOTS.items():
        same: list[float] = []
        different: list[float] = []
        missed = 0
        for a in sorted(portraits):
            card = id_cards.card(id_cards.CardText("Test", "Person"), portraits[a])
            shown = worker.decode(image_of(card, shot))
            assert shown is not None
            # The job's own steps, once per card; then the portrait against every enrolment.
            lines, _ = w.text_reader().read(shown)
            portrait, _ = pick_faces(w.analyzer.embedded_faces(shown), lines)
            if portrait is None or portrait.embedding is None:
                missed += 1
                continue
            for b in sorted(portraits):
                if b != a:
                    d = distance(portrait.embedding, np.asarray(enrolled[b], np.float32))
                    (same if identity[a] == identity[b] else different).append(d)
        out[shot_name] = {
            "same": _stats(same),
            "different": _stats(different),
            "portrait_missed": missed,
            "same_matched": sum(d <= max_distance for d in same),
            "different_matched": sum(d <= max_distance for d in different),
        }
    return out


def names_part(count: int, w: worker.Worker) -> dict[str, Any]:
    out: dict[str, Any] = {}
    timings: dict[str, list[float]] = {}
    cards = names(count)
    for shot_name, shot in SHOTS.items():
        right: list[float] = []
        wrong: list[float] = []
        matched = false_matches = 0
        misses: list[str] = []
        for index, (given, family) in enumerate(cards):
            font = id_cards.FONTS[index % len(id_cards.FONTS)]
            card = id_cards.card(id_cards.CardText(given, family, font, seed=index), None)
            outcome = worker.id_document(IdDocumentJob("eval", image_of(card, shot)), w)
            for stage, ms in outcome.timings_ms.items():
                timings.setdefault(stage, []).append(ms)
            lines = [line.text for line in outcome.lines]
            own = match_name(roster_form(given, family, index), lines)
            other_given, other_family = cards[(index + 1) % len(cards)]
            other = match_name(roster_form(other_given, other_family, index), lines)
            right.append(own.score)
            wrong.append(other.score)
            matched += own.matched
            false_matches += other.matched
            if not own.matched:
                misses.append(f"{roster_form(given, family, index)} [{font}]: {lines[2:6]}")
            if other.matched:
                misses.append(f"FALSE MATCH {other_given} {other_family}: {lines}")
        out[shot_name] = {
            "cards": len(cards),
            "right_name_matched": matched,
            "other_name_matched": false_matches,
            "right_score": _stats(right),
            "other_name_score": _stats(wrong),
            "misses": misses,
        }
    out["timings_ms"] = {stage: _stats(values) for stage, values in timings.items()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("eval_dir", type=Path)
    parser.add_argument("--cards", type=int, default=40)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="time stages in process CPU time (what other load on the machine does not inflate)",
    )
    args = parser.parse_args()
    settings = load_settings()
    config = DetectorConfig().model_copy(update={"threads": 1})
    clock = time.process_time if args.cpu_time else time.perf_counter
    w = worker.Worker(settings.data_dir / "models", config, clock)
    result = {"faces": faces_part(args.eval_dir, w), "names": names_part(args.cards, w)}
    print(json.dumps(result, indent=None if args.json else 2, ensure_ascii=False))


if __name__ == "__main__":
    main()
