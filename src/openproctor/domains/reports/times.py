"""One way to write a time in reviews: the review page, the PDF and the CSV all format through
`when`, in the exam's zone (`review_zone`), with the zone's name beside it, so the
three never disagree about when something happened."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from openproctor.domains.exams.models import Exam

# clock: "14:03:07"; minute: "2026-11-30 14:03 UTC"; full: "2026-11-30 14:03:07 UTC";
# iso: "2026-11-30T14:03:07+00:00" (machine-readable, the offset says the zone).
TimeStyle = Literal["clock", "minute", "full", "iso"]
_PATTERNS: dict[TimeStyle, str] = {
    "clock": "%H:%M:%S",
    "minute": "%Y-%m-%d %H:%M",
    "full": "%Y-%m-%d %H:%M:%S",
}


def review_zone(exam: Exam) -> ZoneInfo:
    """The zone an exam's times are shown in on its reviews: the exam's own."""
    return ZoneInfo(exam.timezone)


def zone_name(zone: ZoneInfo) -> str:
    return zone.key


def when(value: datetime | None, zone: ZoneInfo, style: TimeStyle = "full") -> str:
    """`value` in `zone`, "-" for no time. Every style but clock and iso names the zone; a
    clock stands where the zone is said once nearby (a column heading, a caption)."""
    if value is None:
        return "-"
    local = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(zone)
    if style == "iso":
        return local.isoformat()
    text = local.strftime(_PATTERNS[style])
    return text if style == "clock" else f"{text} {zone_name(zone)}"
