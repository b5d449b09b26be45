"""Does the name read from an ID document match the roster name? A pure function.

Both sides are folded first: accents dropped (NFKD, then the few letters that do not decompose,
such as ø, ł, đ, æ), case folded (ß becomes ss), everything that is not a letter a separator.
The roster name is split into words; the document's lines are kept as letters only, without
spaces, because OCR often loses the space between two words ("BARACKHUSSEIN").

A roster word is found on the document when some stretch of one line's letters is within
edit distance of it: its similarity is 1 - edits / len(word), over stretches one letter
shorter, as long and one longer than the word. The first and the last word of the roster name
(the given and the family name, in whichever order the roster or the card puts them) must both
be found with at least MIN_WORD_SIMILARITY; the words between them (middle names) and any extra
names on the card are not required, so "Ana Maria Pérez" matches a card printing "PEREZ" and
"ANA", and "Ana Pérez" matches "PÉREZ GARCÍA / ANA MARÍA". Words of one or two letters must be
found exactly (one slip leaves 1/2). The score is the least similarity of the required words.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

# The middle of the gap measured on 40 generated cards x 3 shots (flat, held, held far and
# blurred; tools/id_documents_eval.py): the right roster name scored at least 0.75 (one slip in
# a four-letter word), another person's name at most 0.5.
MIN_WORD_SIMILARITY = 0.625
# Letters NFKD leaves whole: stroked and ligatured letters of European names.
UNDECOMPOSED = str.maketrans(
    {
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ħ": "h",
        "ŧ": "t",
        "æ": "ae",
        "œ": "oe",
        "\u0131": "i",  # dotless i (Turkish)
        "ð": "d",
        "þ": "th",
    }
)


@dataclass(frozen=True, slots=True)
class NameMatch:
    matched: bool
    score: float
    # The roster words that were looked for, each with its best similarity and the index of
    # the document line it was found on (None when not found).
    words: tuple[tuple[str, float, int | None], ...]

    @property
    def lines(self) -> tuple[int, ...]:
        """The document lines the name was found on, in order."""
        return tuple(sorted({line for _, _, line in self.words if line is not None}))

    def to_dict(self) -> dict[str, Any]:
        return {
            "matched": self.matched,
            "score": round(self.score, 3),
            "words": [
                {"word": word, "similarity": round(similarity, 3), "line": line}
                for word, similarity, line in self.words
            ],
            "lines": list(self.lines),
        }


def fold(text: str) -> str:
    """Lower-case letters and single spaces: accents, case and punctuation gone."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(UNDECOMPOSED))
    letters = (
        char if char.isalpha() else " " for char in decomposed if not unicodedata.combining(char)
    )
    return " ".join("".join(letters).split())


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions and substitutions cost 1)."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        previous = current
    return previous[-1]


def similarity_in(word: str, letters: str) -> float:
    """The best similarity of `word` with any stretch of `letters` one letter shorter, as long
    or one longer; 1.0 when it occurs as it is."""
    if not word or not letters:
        return 0.0
    if word in letters:
        return 1.0
    n = len(word)
    edits = min(
        edit_distance(word, letters[start : start + size])
        for size in {max(1, n - 1), min(n, len(letters)), min(n + 1, len(letters))}
        for start in range(len(letters) - size + 1)
    )
    return max(0.0, 1.0 - edits / n)


def match_name(roster_name: str, document_lines: list[str] | tuple[str, ...]) -> NameMatch:
    """Whether `roster_name` is printed on a document whose OCR gave `document_lines`."""
    words = fold(roster_name).split()
    lines = [fold(line).replace(" ", "") for line in document_lines]
    found: list[tuple[str, float, int | None]] = []
    for word in words:
        best, where = 0.0, None
        for index, letters in enumerate(lines):
            score = similarity_in(word, letters)
            if score > best:
                best, where = score, index
        found.append((word, best, where if best >= MIN_WORD_SIMILARITY else None))
    if not found:
        return NameMatch(False, 0.0, ())
    required = [found[0], found[-1]]
    score = min(similarity for _, similarity, _ in required)
    matched = all(line is not None for _, _, line in required)
    return NameMatch(matched, score, tuple(found))
