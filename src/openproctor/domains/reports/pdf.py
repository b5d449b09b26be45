"""The per-session PDF: summary with the decision, the candidate's photos, flags, every
intervention and message, the answers, attention, prompts, consent and evidence thumbnails
(reportlab). Every time is written by times.when in the exam's zone, named in each heading.
reportlab cannot write a tagged PDF (no structure tree); the document has a title, language,
subject and an outline of its sections, which screen readers and viewers use."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from PIL import Image as PILImage
from PIL import UnidentifiedImageError
from reportlab.graphics.shapes import Drawing, Rect
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Image,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import Flowable

from openproctor.domains.reports.service import (
    SessionReport,
    Thumbnail,
    flag_label,
    termination_reason,
)
from openproctor.domains.reports.times import when, zone_name
from openproctor.pipeline import images

THUMB_PX = (320, 240)
THUMB_WIDTH = 8.2 * cm
_STYLES = getSampleStyleSheet()
_SMALL = ParagraphStyle("small", parent=_STYLES["BodyText"], fontSize=8, leading=10)
_GRID = TableStyle(
    [
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
    ]
)


def _text(value: object) -> str:
    return escape("" if value is None else str(value))


def _p(value: object, style: ParagraphStyle = _SMALL) -> Paragraph:
    return Paragraph(_text(value), style)


class _Heading(Paragraph):  # type: ignore[misc]  # reportlab has no type hints
    """A section heading, also an entry of the document's outline (bookmarks)."""

    def __init__(self, text: str, key: str) -> None:
        super().__init__(text, _STYLES["Heading2"])
        self.key = key

    def draw(self) -> None:
        super().draw()
        self.canv.bookmarkPage(self.key)
        self.canv.addOutlineEntry(self.getPlainText(), self.key, level=0)


def _section(title: str, zone: ZoneInfo | None = None) -> list[Flowable]:
    """A heading (with the zone its times are in, when it has times) after some space."""
    text = f"{title}, times in {zone_name(zone)}" if zone else title
    return [Spacer(1, 0.5 * cm), _Heading(_text(text), key=title.lower().replace(" ", "-"))]


def _table(header: tuple[str, ...], rows: list[list[object]], widths: tuple[float, ...]) -> Table:
    """A grid with a shaded heading row repeated on every page."""
    cells = [[_p(cell) for cell in header], *([_p(cell) for cell in row] for row in rows)]
    table = Table(cells, colWidths=[w * cm for w in widths], repeatRows=1)
    table.setStyle(_GRID)
    table.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke)]))
    return table


def session_pdf(
    report: SessionReport, *, now: datetime, invariant: bool = False, compress: bool = True
) -> bytes:
    """The report as PDF bytes. invariant and compress=False make byte-stable, readable
    output for tests."""
    buffer = io.BytesIO()
    candidate, exam = report.candidate, report.exam
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=1.6 * cm,
        rightMargin=1.6 * cm,
        topMargin=1.6 * cm,
        bottomMargin=1.6 * cm,
        title=f"Proctoring report: {candidate.name}",
        author="OpenProctor",
        subject=f"Review of {candidate.name}'s attempt at {exam.title}",
        creator="OpenProctor",
        lang="en",
        displayDocTitle=1,
        invariant=int(invariant),
        pageCompression=int(compress),
    )
    zone = report.zone
    story: list[Flowable] = [
        Paragraph(f"Proctoring report: {_text(candidate.name)}", _STYLES["Title"]),
        _summary(report),
        *_section("Photos of the candidate"),
        *_photos(report),
        *_section("Flags", zone),
        _flags(report),
        *_section("Interventions and messages", zone),
        _events(report),
        *_section("Answers"),
        _answers(report),
        *_section("Attention", zone),
        *_attention(report),
        *_section("Proctors' notes", zone),
        _notes(report),
        *_section("Prompts shown to the candidate", zone),
        _prompts(report),
        *_section("Consent"),
        *_consent(report),
        *_section("Evidence"),
        *_evidence(report),
    ]
    footer = f"OpenProctor, {exam.title}, generated {when(now, zone, 'minute')}"

    def on_page(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(1.6 * cm, 0.9 * cm, footer[:150])
        canvas.drawRightString(A4[0] - 1.6 * cm, 0.9 * cm, f"page {doc.page}")
        canvas.restoreState()

    document.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()


def _summary(report: SessionReport) -> Table:
    candidate, exam, session, zone = report.candidate, report.exam, report.session, report.zone
    decision = session.decision.value if session.decision else "not decided"
    if session.decided_at:
        decision += f" ({when(session.decided_at, zone)})"
    score = report.answers.describe() if report.answers else "-"
    rows = [
        ("Candidate", candidate.name),
        ("Email", candidate.email),
        ("External id", candidate.external_id or "-"),
        ("Exam", exam.title),
        ("Session", f"{session.id} (attempt {session.attempt})"),
        ("State", session.state.value),
        ("Termination reason", termination_reason(session) or "-"),
        ("Started", when(session.started_at, zone)),
        ("Ended", when(session.ended_at, zone)),
        ("Score", score),
        ("Risk score", f"{session.risk_score:.0f} / 100"),
        ("Accommodations", "; ".join(candidate.accommodated.labels()) or "none"),
        ("Identity checks", _identity(report)),
        ("Decision", decision),
        ("Reviewer", report.reviewer or "-"),
        ("Decision note", session.decision_note or "-"),
    ]
    table = Table(
        [[_p(label), _p(value)] for label, value in rows], colWidths=[3.5 * cm, 14.2 * cm]
    )
    table.setStyle(_GRID)
    return table


def _identity(report: SessionReport) -> str:
    """Whether the face was compared with the enrolment all along (a session enrolled by an
    identity model that was replaced is not, until its photo is embedded again)."""
    if not report.identity_gaps:
        return "on throughout"
    return "not checked " + "; ".join(gap.describe(report.zone) for gap in report.identity_gaps)


def _flags(report: SessionReport) -> Flowable:
    if not report.violations:
        return _p("No flags.")
    clock = _clock_in(report)
    rows: list[list[object]] = [
        [
            clock(violation.started_at),
            clock(violation.ended_at),
            flag_label(violation),
            violation.severity.value,
            violation.review_status.value,
            violation.review_note or "",
        ]
        for violation in report.violations
    ]
    header = ("Start", "End", "Flag", "Severity", "Review", "Reviewer's note")
    return _table(header, rows, (1.7, 1.7, 4.4, 1.6, 1.9, 6.4))


def _clock_in(report: SessionReport) -> Callable[[datetime | None], str]:
    """Times in a table or line whose heading names the zone."""
    return lambda value: when(value, report.zone, "clock")


def _events(report: SessionReport) -> Flowable:
    if not report.events:
        return _p("No interventions and no messages.")
    clock = _clock_in(report)
    rows: list[list[object]] = [
        [clock(event.at), event.label, event.by, event.text] for event in report.events
    ]
    return _table(("Time", "What", "By", "Text"), rows, (1.7, 4.2, 4.2, 7.6))


def _answers(report: SessionReport) -> Flowable:
    sheet = report.answers
    if sheet is None or not sheet.questions:
        return _p("The exam has no built-in questions.")
    rows: list[list[object]] = [
        [
            question.number,
            question.prompt,
            question.chosen or "-",
            question.right_choice,
            f"{question.verdict}: {question.points:g} / {question.worth:g}",
        ]
        for question in sheet.questions
    ]
    rows.append(["", "Score", "", "", sheet.describe()])
    header = ("No.", "Question", "Answer given", "Right answer", "Result (points)")
    return _table(header, rows, (1.0, 6.2, 3.6, 3.6, 3.3))


ATTENTION_COLOURS = {
    "focused": colors.HexColor("#2f8f46"),
    "distracted": colors.HexColor("#d08a00"),
    "away": colors.HexColor("#c0392b"),
}
CHART_WIDTH, CHART_HEIGHT = 17.7 * cm, 2.2 * cm


def _attention(report: SessionReport) -> list[Flowable]:
    """The attention score over the session: a summary line and one bar per sample, as tall as
    the score and coloured by label (the review page's lane)."""
    samples = report.attention
    if not samples:
        return [_p("No attention samples (the session was not analysed live).")]
    count = len(samples)
    shares = ", ".join(
        f"{label} {100 * sum(s.label == label for s in samples) / count:.0f} %"
        for label in ATTENTION_COLOURS
    )
    mean = sum(s.score for s in samples) / count
    clock = _clock_in(report)
    line = (
        f"Average attention {mean:.0f} / 100 over {count} samples "
        f"({clock(samples[0].at)} to {clock(samples[-1].at)}); {shares} of the time. "
        "It describes where the candidate looked; it is not a verdict."
    )
    start = samples[0].at.timestamp()
    span = max(samples[-1].at.timestamp() - start, 1.0)
    bar = max(CHART_WIDTH / count, 0.5)
    chart = Drawing(CHART_WIDTH, CHART_HEIGHT)
    chart.add(Rect(0, 0, CHART_WIDTH, CHART_HEIGHT, fillColor=colors.whitesmoke, strokeWidth=0))
    for sample in samples:
        x = (sample.at.timestamp() - start) / span * (CHART_WIDTH - bar)
        height = max(sample.score, 3) / 100 * CHART_HEIGHT
        colour = ATTENTION_COLOURS.get(sample.label, colors.grey)
        chart.add(Rect(x, 0, bar, height, fillColor=colour, strokeWidth=0))
    return [_p(line), Spacer(1, 0.2 * cm), chart]


def _notes(report: SessionReport) -> Flowable:
    if not report.notes:
        return _p("No notes.")
    clock = _clock_in(report)
    rows: list[list[object]] = [
        [clock(note.created_at), note.author_name or "A former staff member", note.body]
        for note in report.notes
    ]
    return _table(("Time", "Proctor", "Note"), rows, (1.7, 3.5, 12.5))


def _prompts(report: SessionReport) -> Flowable:
    if not report.prompts:
        return _p("No prompts.")
    clock = _clock_in(report)
    rows: list[list[object]] = [
        [
            clock(prompt.shown_at),
            clock(prompt.cleared_at) if prompt.cleared_at else "not put right",
            prompt.text,
        ]
        for prompt in report.prompts
    ]
    return _table(("Shown", "Put right", "Text"), rows, (2.2, 2.8, 12.7))


def _consent(report: SessionReport) -> list[Flowable]:
    session = report.session
    if not session.consent_text:
        return [_p("No consent recorded.")]
    line = (
        f"Agreed {when(session.consented_at, report.zone)}, "
        f"wording version {session.consent_version}, SHA-256 {session.consent_sha256}:"
    )
    return [_p(line), *(_p(f"- {text}") for text in session.consent_text.splitlines())]


def _thumbnail(item: Thumbnail) -> Image | None:
    """The evidence JPEG scaled down (a 640x480 frame becomes 320x240), or None if damaged or
    larger than any evidence we keep (see images.py)."""
    try:
        images.check(item.jpeg, images.STILL_LIMIT)
        with PILImage.open(io.BytesIO(item.jpeg)) as image:
            image.thumbnail(THUMB_PX)
            small = io.BytesIO()
            image.convert("RGB").save(small, "JPEG", quality=80)
            width, height = image.size
    except (images.ImageRefused, UnidentifiedImageError, OSError):
        return None
    small.seek(0)
    return Image(small, width=THUMB_WIDTH, height=THUMB_WIDTH * height / width)


def _photos(report: SessionReport) -> list[Flowable]:
    """The reference and enrolment photos side by side, each captioned."""
    cells: list[list[Flowable]] = []
    for photo in report.photos:
        image = _thumbnail(photo)
        caption = photo.caption if image is not None else f"{photo.caption}: missing or unreadable"
        cells.append([image, _p(caption)] if image is not None else [_p(caption)])
    if not cells:
        return [_p("No reference photo and no enrolment photo stored.")]
    return [_pairs(cells)]


def _pairs(cells: list[list[Flowable]]) -> Table:
    """Images with captions, two to a row."""
    grid = [cells[i : i + 2] for i in range(0, len(cells), 2)]
    if len(grid[-1]) == 1:
        grid[-1].append([])
    table = Table(grid, colWidths=[8.85 * cm, 8.85 * cm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def _evidence(report: SessionReport) -> list[Flowable]:
    cells: list[list[Flowable]] = []
    damaged = 0
    for item in report.thumbnails:
        image = _thumbnail(item)
        if image is None:
            damaged += 1
            continue
        cells.append([image, _p(item.caption)])
    notes = []
    shown = len(cells)
    if report.evidence_total > shown:
        notes.append(f"{shown} of {report.evidence_total} evidence images shown")
    if report.evidence_missing or damaged:
        notes.append(f"{report.evidence_missing + damaged} missing or unreadable")
    flowables: list[Flowable] = []
    if cells:
        flowables.append(_pairs(cells))
    elif not notes:
        flowables.append(_p("No evidence images (none stored, or deleted after retention)."))
    if notes:
        flowables.append(_p("; ".join(notes) + "."))
    return flowables
