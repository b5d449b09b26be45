"""The ID document check's result, as the API returns it and the check-in record keeps it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class TextLineRead(BaseModel):
    text: str
    score: float = Field(description="Mean probability of the line's characters.")
    box: tuple[float, float, float, float] = Field(description="x1, y1, x2, y2 in pixels.")


class NameWordRead(BaseModel):
    word: str = Field(description="A word of the roster name, folded (no accents, lower case).")
    similarity: float = Field(description="1 - edits / length against the best stretch of text.")
    line: int | None = Field(description="Index in `lines` where it was found; null if not.")


class IdCheckRead(BaseModel):
    """One ID document shown by a candidate, and what was found on it."""

    document_id: uuid.UUID = Field(description="The stored image (an evidence object).")
    checked_at: datetime
    decoded: bool = Field(description="False: the image could not be read at all.")
    lines: list[TextLineRead] = Field(description="Every line of text read, top to bottom.")
    face_found: bool = Field(description="A portrait was found on the document.")
    face_matched: bool | None = Field(
        description="The portrait's distance is at most max_distance; null: nothing to compare."
    )
    distance: float | None = Field(
        description="The distance that decides: to the enrolment photo if there is one, "
        "else to the face holding the document in the same picture."
    )
    compared_with: Literal["enrolment", "frame"] | None
    distance_enrolment: float | None
    distance_frame: float | None
    max_distance: float = Field(description="The identity check's same-person threshold.")
    name_matched: bool
    name_score: float = Field(description="The least similarity of the name's required words.")
    name_words: list[NameWordRead]
    name_lines: list[str] = Field(description="The lines the roster name was found on.")
    passed: bool = Field(description="Face and name both matched.")
    guidance: str = Field(description="What to tell the candidate.")
    retry: bool = Field(
        description="Not passed, and the candidate may put it right (closer, better light): "
        "the page asks for another picture. False when passed or when a proctor decides."
    )
    timings_ms: dict[str, float] = Field(
        description="Milliseconds per stage, from the upload's arrival to the decision."
    )


class IdPracticeRead(BaseModel):
    """The practice run's answer on an ID: nothing is kept."""

    passed: bool = Field(description="The portrait and the roster name were found on it.")
    guidance: str = Field(description="What to tell the candidate.")
