"""The per-session PDF: summary, timeline of violations, the conversation between the
candidate and the proctors, evidence thumbnails (reportlab)."""

from __future__ import annotations

import io
from datetime import datetime
from xml.sax.saxutils import escape

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

from openproctor.domains.messages.models import Sender
from openproctor.domains.reports.service import SessionReport, Thumbnail
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


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S} UTC" if value else "-"


def _clock(value: datetime | None) -> str:
    return f"{value:%H:%M:%S}" if value else "-"


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
        invariant=int(invariant),
        pageCompression=int(compress),
    )
    story: list[Flowable] = [
        Paragraph(f"Proctoring report: {_text(candidate.name)}", _STYLES["Title"]),
        _summary(report),
        Spacer(1, 0.5 * cm),
        Paragraph("Attention", _STYLES["Heading2"]),
        *_attention(report),
        Spacer(1, 0.5 * cm),
        Paragraph("Violations", _STYLES["Heading2"]),
        _timeline(report),
        Spacer(1, 0.5 * cm),
        Paragraph("Conversation", _STYLES["Heading2"]),
        _conversation(report),
        Spacer(1, 0.5 * cm),
        Paragraph("Proctors' notes", _STYLES["Heading2"]),
        _notes(report),
        Spacer(1, 0.5 * cm),
        Paragraph("Prompts shown to the candidate", _STYLES["Heading2"]),
        _prompts(report),
        Spacer(1, 0.5 * cm),
        Paragraph("Consent", _STYLES["Heading2"]),
        *_consent(report),
        Spacer(1, 0.5 * cm),
        Paragraph("Evidence", _STYLES["Heading2"]),
        *_evidence(report),
    ]
    footer = f"OpenProctor, {exam.title}, generated {now:%Y-%m-%d %H:%M} UTC"

    def on_page(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(1.6 * cm, 0.9 * cm, footer[:150])
        canvas.drawRightString(A4[0] - 1.6 * cm, 0.9 * cm, f"page {doc.page}")
        canvas.restoreState()

    document.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()


def _summary(report: SessionReport) -> Table:
    candidate, exam, session = report.candidate, report.exam, report.session
    decision = session.decision.value if session.decision else "not decided"
    if session.decided_at:
        decision += f" ({_when(session.decided_at)})"
    rows = [
        ("Candidate", candidate.name),
        ("Email", candidate.email),
        ("External id", candidate.external_id or "-"),
        ("Exam", exam.title),
        ("Session", f"{session.id} (attempt {session.attempt})"),
        ("State", session.state.value + (f": {session.end_reason}" if session.end_reason else "")),
        ("Started", _when(session.started_at)),
        ("Ended", _when(session.ended_at)),
        ("Score", "-" if session.score is None else f"{session.score:g}"),
        ("Risk score", f"{session.risk_score:.0f} / 100"),
        ("Accommodations", "; ".join(candidate.accommodated.labels()) or "none"),
        ("Identity checks", _identity(report)),
        ("Decision", decision),
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
    return "not checked " + "; ".join(gap.describe() for gap in report.identity_gaps)


def _timeline(report: SessionReport) -> Flowable:
    if not report.violations:
        return _p("No violations.")
    header = ["Start", "End", "Kind", "Label", "Severity", "Review", "Note"]
    rows = [[_p(cell) for cell in header]]
    for violation in report.violations:
        rows.append(
            [
                _p(_clock(violation.started_at)),
                _p(_clock(violation.ended_at)),
                _p(violation.kind.value),
                _p(violation.label or ""),
                _p(violation.severity.value),
                _p(violation.review_status.value),
                _p(violation.review_note or ""),
            ]
        )
    widths = [1.7, 1.7, 3.2, 2.4, 1.6, 1.9, 5.2]
    table = Table(rows, colWidths=[w * cm for w in widths], repeatRows=1)
    table.setStyle(_GRID)
    table.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke)]))
    return table


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
    line = (
        f"Average attention {mean:.0f} / 100 over {count} samples "
        f"({_clock(samples[0].at)} to {_clock(samples[-1].at)}); {shares} of the time. "
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


def _conversation(report: SessionReport) -> Flowable:
    if not report.messages:
        return _p("No messages.")
    rows = [[_p(cell) for cell in ("Time", "From", "Kind", "Text")]]
    for message in report.messages:
        who = "Candidate" if message.sender is Sender.CANDIDATE else "Proctor"
        kind = message.kind.value.replace("_", " ")
        rows.append([_p(_clock(message.created_at)), _p(who), _p(kind), _p(message.body)])
    widths = [1.7, 2.2, 2.6, 11.2]
    table = Table(rows, colWidths=[w * cm for w in widths], repeatRows=1)
    table.setStyle(_GRID)
    table.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke)]))
    return table


def _notes(report: SessionReport) -> Flowable:
    if not report.notes:
        return _p("No notes.")
    rows = [[_p(cell) for cell in ("Time", "Proctor", "Note")]]
    for note in report.notes:
        author = note.author_name or "A former staff member"
        rows.append([_p(_clock(note.created_at)), _p(author), _p(note.body)])
    table = Table(rows, colWidths=[w * cm for w in (1.7, 3.5, 12.5)], repeatRows=1)
    table.setStyle(_GRID)
    table.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke)]))
    return table


def _prompts(report: SessionReport) -> Flowable:
    if not report.prompts:
        return _p("No prompts.")
    rows = [[_p(cell) for cell in ("Shown", "Put right", "Text")]]
    for prompt in report.prompts:
        cleared = _clock(prompt.cleared_at) if prompt.cleared_at else "not put right"
        rows.append([_p(_clock(prompt.shown_at)), _p(cleared), _p(prompt.text)])
    table = Table(rows, colWidths=[w * cm for w in (2.2, 2.8, 12.7)], repeatRows=1)
    table.setStyle(_GRID)
    table.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke)]))
    return table


def _consent(report: SessionReport) -> list[Flowable]:
    session = report.session
    if not session.consent_text:
        return [_p("No consent recorded.")]
    line = (
        f"Agreed {_when(session.consented_at)}, wording version {session.consent_version}, "
        f"SHA-256 {session.consent_sha256}:"
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
        grid = [cells[i : i + 2] for i in range(0, len(cells), 2)]
        if len(grid[-1]) == 1:
            grid[-1].append([])
        table = Table(grid, colWidths=[8.85 * cm, 8.85 * cm])
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        flowables.append(table)
    elif not notes:
        flowables.append(_p("No evidence images (none stored, or deleted after retention)."))
    if notes:
        flowables.append(_p("; ".join(notes) + "."))
    return flowables
