"""`openproctor eval`'s person count: faces and bodies against the labels.

labels.csv's `faces` counts clearly visible faces, a lower bound on the people in a photo (a
person turned away or cut by the edge shows no face). An optional `persons` column, where a
set has one, is the number of people a proctor would count; without it, `faces` stands in and
only the lower bound and the 1-versus-2+ decision are scored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openproctor.detectors.base import FrameAnalysis
from openproctor.tools.eval_stats import rate


@dataclass
class PersonTally:
    images: int = 0
    at_least_faces: int = 0
    labelled: int = 0
    exact: int = 0
    wrong: list[dict[str, Any]] = field(default_factory=list)
    # extra_person raised on one person / not raised on two or more.
    one_as_many: list[str] = field(default_factory=list)
    many_as_one: list[str] = field(default_factory=list)

    def add(self, row: dict[str, str], result: FrameAnalysis) -> None:
        name, got = row["file"], result.persons.count
        faces = int(row["faces"])
        want = int(row["persons"]) if row.get("persons") else None
        self.images += 1
        self.at_least_faces += got >= faces
        if want is not None:
            self.labelled += 1
            self.exact += got == want
            if got != want:
                self.wrong.append({"file": name, "want": want, "got": got, **_sources(result)})
        people = faces if want is None else want
        if people == 1 and got >= 2:
            self.one_as_many.append(name)
        if people >= 2 and got < 2:
            self.many_as_one.append(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "at_least_faces": rate(self.at_least_faces, self.images),
            "exact": rate(self.exact, self.labelled),
            "wrong": self.wrong,
            "one_counted_as_many": self.one_as_many,
            "many_counted_as_one": self.many_as_one,
        }


def _sources(result: FrameAnalysis) -> dict[str, int]:
    return {"faces": result.persons.faces, "bodies": result.persons.bodies}
