"""One time zone per exam: its times are entered and shown in it, and stored in UTC. The one
place that turns a wall-clock time into an instant and an instant into text for staff pages."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


class ZoneError(ValueError):
    """A zone name or a wall-clock time that does not work; the message says why."""


def check_zone(name: str) -> str:
    """The name when it is a known IANA zone (Europe/Berlin, UTC); raises ZoneError otherwise."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ZoneError(
            f"{name!r} is not a known time zone: give an IANA name such as Europe/Berlin or UTC"
        ) from None
    return name


@cache
def zone_names() -> list[str]:
    """Every zone the server knows, UTC first, for a picker."""
    return ["UTC", *sorted(available_timezones() - {"UTC"})]


def from_wall_clock(wall: datetime, zone: str) -> datetime:
    """The UTC instant of a naive wall-clock time in `zone`. A time the clocks skip (the hour
    moved forward in spring) is refused; one they pass twice (autumn) is the first of the two."""
    aware = wall.replace(tzinfo=ZoneInfo(zone), fold=0)
    instant = aware.astimezone(UTC)
    if instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None) != wall:
        raise ZoneError(
            f"{wall:%Y-%m-%d %H:%M} does not exist in {zone}: the clocks move forward then"
        )
    return instant


def to_wall_clock(instant: datetime, zone: str) -> datetime:
    """The naive wall-clock time of an instant in `zone` (to prefill a form)."""
    return instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def format_time(instant: datetime, zone: str) -> str:
    """An instant as staff read it everywhere: "Mon 30 Nov 2026, 09:00 CET (Europe/Berlin)".
    The abbreviation says whether summer time applies; the zone name says which zone."""
    local = instant.astimezone(ZoneInfo(zone))
    abbreviation = local.tzname() or ""
    named = "" if abbreviation == zone else f" ({zone})"
    return f"{local:%a %d %b %Y, %H:%M} {abbreviation}{named}"
