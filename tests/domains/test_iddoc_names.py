"""The roster name against OCR lines: case, accents, order, middle names, lost spaces."""

from __future__ import annotations

import pytest

from openproctor.domains.iddoc.names import edit_distance, fold, match_name, similarity_in

CARD = ["IDENTITY CARD", "Surname", "PEREZ GARCIA", "Given names", "ANA MARIA", "12.03.1990"]


def test_fold_drops_accents_case_and_punctuation() -> None:
    assert fold("Ana-María  Pérez") == "ana maria perez"
    assert fold("Søren Łukasz Straße") == "soren lukasz strasse"
    assert fold("O'Brien, J.") == "o brien j"


def test_edit_distance() -> None:
    assert edit_distance("obama", "orama") == 1
    assert edit_distance("", "abc") == 3
    assert edit_distance("kitten", "sitting") == 3


def test_a_word_is_found_inside_a_line_that_lost_its_spaces() -> None:
    assert similarity_in("hussein", "barackhussein") == 1.0
    assert similarity_in("obama", "orama") == pytest.approx(0.8)
    assert similarity_in("obama", "") == 0.0


@pytest.mark.parametrize(
    "roster",
    [
        "Ana Pérez",  # accents on one side only
        "ana perez",  # case
        "Pérez Ana",  # family name first
        "Ana María Pérez García",  # middle and second family names
        "Ana Garcia",  # the second family name as the last word
        "Ana Lucía Pérez",  # a middle name the card does not print
    ],
)
def test_the_right_name_matches(roster: str) -> None:
    result = match_name(roster, CARD)
    assert result.matched, result
    assert result.score >= 0.99
    assert {CARD[i] for i in result.lines} <= {"PEREZ GARCIA", "ANA MARIA"}


def test_an_ocr_slip_is_tolerated_and_scored() -> None:
    result = match_name("Barack Obama", ["ORAMA", "BARACKHUSSEIN"])
    assert result.matched
    assert result.score == pytest.approx(0.8)
    assert result.lines == (0, 1)


@pytest.mark.parametrize(
    "roster",
    [
        "Joe Biden",  # another person ("biden" is close to "identity" on the card's title)
        "Ana Lopez",  # the right given name, another family name
        "Juan Perez",  # the right family name, another given name
    ],
)
def test_another_name_does_not_match(roster: str) -> None:
    assert not match_name(roster, CARD).matched


def test_short_words_must_be_exact_and_nothing_read_is_no_match() -> None:
    assert not match_name("Li Wei", ["LU WEI"]).matched
    assert match_name("Li Wei", ["WEI", "LI"]).matched
    assert not match_name("Ana Pérez", []).matched
    assert not match_name("", CARD).matched
