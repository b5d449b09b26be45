"""An exam's time zone: wall-clock times in it become UTC instants, instants are shown in it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from openproctor.domains.exams.zones import (
    ZoneError,
    check_zone,
    format_time,
    from_wall_clock,
    to_wall_clock,
    zone_names,
)


def test_nine_in_berlin_is_eight_utc_in_winter_and_seven_in_summer() -> None:
    winter = from_wall_clock(datetime(2027, 1, 12, 9, 0), "Europe/Berlin")
    summer = from_wall_clock(datetime(2027, 7, 12, 9, 0), "Europe/Berlin")
    assert winter == datetime(2027, 1, 12, 8, 0, tzinfo=UTC)
    assert summer == datetime(2027, 7, 12, 7, 0, tzinfo=UTC)
    assert to_wall_clock(summer, "Europe/Berlin") == datetime(2027, 7, 12, 9, 0)


def test_a_time_the_clocks_skip_is_refused_and_a_repeated_one_is_the_first() -> None:
    with pytest.raises(ZoneError, match="does not exist in Europe/Berlin"):
        from_wall_clock(datetime(2027, 3, 28, 2, 30), "Europe/Berlin")
    twice = from_wall_clock(datetime(2027, 10, 31, 2, 30), "Europe/Berlin")
    assert twice == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # still summer time (+2)


def test_times_are_shown_in_the_zone_with_its_name() -> None:
    at = datetime(2027, 1, 12, 8, 0, tzinfo=UTC)
    assert format_time(at, "Europe/Berlin") == "Tue 12 Jan 2027, 09:00 CET (Europe/Berlin)"
    assert format_time(at, "UTC") == "Tue 12 Jan 2027, 08:00 UTC"
    assert format_time(at, "Asia/Kolkata") == "Tue 12 Jan 2027, 13:30 IST (Asia/Kolkata)"


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "", "../etc/passwd", "europe/berlin "])
def test_an_unknown_zone_is_refused_with_what_to_give(name: str) -> None:
    with pytest.raises(ZoneError, match="give an IANA name such as Europe/Berlin"):
        check_zone(name)


def test_the_picker_offers_utc_first_and_every_zone() -> None:
    names = zone_names()
    assert names[0] == "UTC"
    assert "Europe/Berlin" in names
    assert "America/Sao_Paulo" in names
    assert names.count("UTC") == 1
