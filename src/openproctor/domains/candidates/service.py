"""Candidates: creation, roster import from CSV, and assignment to proctors."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from pydantic import ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from openproctor.domains.candidates.accommodations import Accommodations
from openproctor.domains.candidates.models import Candidate, CandidateCreate, CandidateUpdate
from openproctor.domains.exams.models import Exam
from openproctor.domains.exams.zones import ZoneError, from_wall_clock
from openproctor.domains.users.models import Role, User
from openproctor.domains.users.service import list_proctors, normalize_email
from openproctor.pagination import Page, PageRequest, scalars_page

DEFAULT_MAX_PER_PROCTOR = 30
# The accommodation columns (optional, empty: none): extra_time "15" (minutes) or "25%";
# exempt: violation kinds separated by ";" or spaces; opens_at / closes_at: the candidate's own
# window, ISO 8601 ("2026-12-01 13:00" is on the exam's clock, "…13:00Z" is UTC).
ACCOMMODATION_COLUMNS = ("extra_time", "exempt", "opens_at", "closes_at")
ROSTER_COLUMNS = ("name", "email", "external_id", "proctor_email", *ACCOMMODATION_COLUMNS)
EXTRA_TIME = re.compile(r"(?P<amount>\d+)\s*(?P<unit>%|min|minutes?)?", re.IGNORECASE)
REQUIRED_ROSTER_COLUMNS = ("name", "email")
MAX_ROSTER_ROWS = 10_000


class CandidateError(Exception):
    """A request about candidates that cannot be carried out; the message says why."""


@dataclass
class RosterError:
    line: int
    message: str


@dataclass
class RosterResult:
    created: list[Candidate] = field(default_factory=list)
    errors: list[RosterError] = field(default_factory=list)


def get(*, db: Session, candidate_id: uuid.UUID) -> Candidate | None:
    return db.get(Candidate, candidate_id)


def get_by_invite(*, db: Session, token: str) -> Candidate | None:
    return db.scalar(select(Candidate).where(Candidate.invite_token == token))


def page_for_exam(
    *,
    db: Session,
    exam_id: uuid.UUID,
    page: PageRequest,
    search: str | None = None,
    proctor_id: uuid.UUID | None = None,
) -> Page[Candidate]:
    """In the order they were added; `search` finds a part of the name, e-mail or external id
    (any case)."""
    query = select(Candidate).where(Candidate.exam_id == exam_id)
    if proctor_id is not None:
        query = query.where(Candidate.proctor_id == proctor_id)
    if search:
        # autoescape: a % or _ typed in the search is a character, not a wildcard.
        columns = (Candidate.name, Candidate.email, Candidate.external_id)
        found = (func.lower(c).contains(search.lower(), autoescape=True) for c in columns)
        query = query.where(or_(*found))
    order = (Candidate.created_at, Candidate.id)
    return scalars_page(db, query, order, page)


def list_for_exam(
    *, db: Session, exam_id: uuid.UUID, proctor_id: uuid.UUID | None = None
) -> Sequence[Candidate]:
    query = select(Candidate).where(Candidate.exam_id == exam_id).order_by(Candidate.name)
    if proctor_id is not None:
        query = query.where(Candidate.proctor_id == proctor_id)
    return db.scalars(query).all()


def _active_proctor(db: Session, proctor_id: uuid.UUID) -> User:
    proctor = db.get(User, proctor_id)
    if proctor is None or proctor.role is not Role.PROCTOR or not proctor.is_active:
        raise CandidateError(f"{proctor_id} is not an active proctor")
    return proctor


def create(*, db: Session, exam: Exam, candidate_in: CandidateCreate) -> Candidate:
    email = normalize_email(candidate_in.email)
    taken = db.scalar(
        select(Candidate.id).where(Candidate.exam_id == exam.id, Candidate.email == email)
    )
    if taken:
        raise CandidateError(f"{email} is already a candidate of this exam")
    if candidate_in.proctor_id is not None:
        _active_proctor(db, candidate_in.proctor_id)
    candidate = Candidate(
        exam_id=exam.id,
        name=candidate_in.name.strip(),
        email=email,
        external_id=candidate_in.external_id,
        proctor_id=candidate_in.proctor_id,
        accommodations=candidate_in.accommodations.stored(),
    )
    db.add(candidate)
    db.flush()
    return candidate


def update(*, candidate: Candidate, candidate_in: CandidateUpdate) -> dict[str, Any]:
    """Applies the fields the change names; returns them as they are now (for the audit)."""
    changed: dict[str, Any] = {}
    if candidate_in.name is not None:
        candidate.name = changed["name"] = candidate_in.name.strip()
    if "external_id" in candidate_in.model_fields_set:
        candidate.external_id = changed["external_id"] = candidate_in.external_id
    if candidate_in.accommodations is not None:
        candidate.accommodations = candidate_in.accommodations.stored()
        changed["accommodations"] = candidate.accommodations or {}
    return changed


def parse_accommodations(values: dict[str, str], *, zone: str) -> Accommodations | list[str]:
    """The accommodation columns of a roster line (or the admin form), or what is wrong
    with them. A time without an offset is on the exam's clock (`zone`)."""
    raw: dict[str, Any] = {}
    errors = []
    extra = values.get("extra_time", "")
    if extra:
        match = EXTRA_TIME.fullmatch(extra)
        if match is None:
            errors.append(f"extra_time {extra!r} is neither minutes (15) nor a percentage (25%)")
        else:
            unit = "extra_percent" if match["unit"] == "%" else "extra_minutes"
            raw[unit] = int(match["amount"])
    if values.get("exempt"):
        raw["exempt"] = [kind for kind in re.split(r"[;,\s]+", values["exempt"]) if kind]
    for column in ("opens_at", "closes_at"):
        if not values.get(column):
            continue
        try:
            at = datetime.fromisoformat(values[column])
        except ValueError:
            errors.append(f"{column} {values[column]!r} is not a date and time (2026-12-01 13:00)")
            continue
        try:
            raw[column] = at if at.tzinfo else from_wall_clock(at, zone)
        except ZoneError as error:
            errors.append(f"{column}: {error}")
    if errors:
        return errors
    try:
        return Accommodations.model_validate(raw)
    except ValidationError as error:
        return [_message(item) for item in error.errors()]


def _message(item: Any) -> str:
    """One pydantic error as a roster line's message: the column named, pydantic's prefix off."""
    name = str(item["loc"][0]) if item["loc"] else ""
    column = "extra_time" if name.startswith("extra_") else name
    message = str(item["msg"]).removeprefix("Value error, ")
    return f"{column}: {message}" if column else message


def import_roster(*, db: Session, exam: Exam, text: str) -> RosterResult:
    """Adds every line of a CSV roster, or none: any error leaves the exam unchanged.

    Columns: name, email, and optionally external_id, proctor_email and the accommodations
    (ACCOMMODATION_COLUMNS). Line numbers in the errors count the header as line 1, as a
    spreadsheet shows them.
    """
    result = RosterResult()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED_ROSTER_COLUMNS if name not in header]
    unknown = [name for name in header if name not in ROSTER_COLUMNS]
    if missing or unknown:
        problems = []
        if missing:
            problems.append("missing column(s): " + ", ".join(missing))
        if unknown:
            problems.append("unknown column(s): " + ", ".join(unknown))
        expected = ", ".join(ROSTER_COLUMNS)
        result.errors.append(RosterError(1, "; ".join(problems) + f" (expected {expected})"))
        return result
    reader.fieldnames = header

    existing = set(db.scalars(select(Candidate.email).where(Candidate.exam_id == exam.id)))
    proctors = {proctor.email: proctor for proctor in list_proctors(db=db)}
    seen: dict[str, int] = {}
    rows: list[tuple[int, CandidateCreate]] = []
    for number, row in enumerate(reader, start=2):
        if number - 1 > MAX_ROSTER_ROWS:
            result.errors.append(RosterError(number, f"more than {MAX_ROSTER_ROWS} rows"))
            break
        if None in row:
            result.errors.append(RosterError(number, "more fields than columns"))
            continue
        values = {key: (value or "").strip() for key, value in row.items()}
        if not any(values.values()):
            continue
        line_errors = _roster_line_errors(values, existing, seen, proctors)
        accommodations = parse_accommodations(values, zone=exam.timezone)
        if isinstance(accommodations, list):
            line_errors.extend(accommodations)
        if line_errors or isinstance(accommodations, list):
            result.errors.extend(RosterError(number, message) for message in line_errors)
            continue
        email = normalize_email(values["email"])
        seen[email] = number
        proctor = proctors.get(normalize_email(values.get("proctor_email", "")))
        rows.append(
            (
                number,
                CandidateCreate(
                    name=values["name"],
                    email=email,
                    external_id=values.get("external_id") or None,
                    proctor_id=proctor.id if proctor else None,
                    accommodations=accommodations,
                ),
            )
        )
    if not rows and not result.errors:
        result.errors.append(RosterError(1, "the roster has no candidates"))
    if result.errors:
        return result
    result.created = [create(db=db, exam=exam, candidate_in=row) for _, row in rows]
    return result


def _roster_line_errors(
    values: dict[str, str], existing: set[str], seen: dict[str, int], proctors: dict[str, User]
) -> list[str]:
    errors = []
    if not values.get("name"):
        errors.append("name is empty")
    elif len(values["name"]) > 200:
        errors.append("name is longer than 200 characters")
    raw_email = values.get("email", "")
    try:
        email = normalize_email(validate_email(raw_email, check_deliverability=False).normalized)
    except EmailNotValidError as error:
        errors.append(f"email {raw_email!r} is not valid: {error}")
    else:
        if email in existing:
            errors.append(f"{email} is already a candidate of this exam")
        elif email in seen:
            errors.append(f"{email} appears twice (first on line {seen[email]})")
    proctor_email = normalize_email(values.get("proctor_email", ""))
    if proctor_email and proctor_email not in proctors:
        errors.append(f"proctor {proctor_email} is not an active proctor account")
    if len(values.get("external_id", "")) > 200:
        errors.append("external_id is longer than 200 characters")
    return errors


def assign(*, db: Session, candidate: Candidate, proctor_id: uuid.UUID | None) -> None:
    if proctor_id is not None:
        _active_proctor(db, proctor_id)
    candidate.proctor_id = proctor_id


def auto_balance(*, db: Session, exam: Exam, max_per_proctor: int) -> list[Candidate]:
    """Assigns every unassigned candidate to the least-loaded proctor, or none of them.

    Load is counted within this exam: it is how many candidates a proctor watches at once.
    """
    if max_per_proctor < 1:
        raise CandidateError("the maximum per proctor must be at least 1")
    proctors = list(list_proctors(db=db))
    if not proctors:
        raise CandidateError("there are no active proctors to assign to")
    unassigned = [
        candidate
        for candidate in list_for_exam(db=db, exam_id=exam.id)
        if candidate.proctor_id is None
    ]
    load_rows = db.execute(
        select(Candidate.proctor_id, func.count())
        .where(Candidate.exam_id == exam.id, Candidate.proctor_id.is_not(None))
        .group_by(Candidate.proctor_id)
    ).all()
    load: dict[uuid.UUID, int] = {proctor.id: 0 for proctor in proctors}
    for proctor_id, count in load_rows:
        if proctor_id in load:
            load[proctor_id] = count
    free = sum(max(0, max_per_proctor - count) for count in load.values())
    if len(unassigned) > free:
        raise CandidateError(
            f"{len(unassigned)} unassigned candidates but room for only {free} "
            f"({len(proctors)} proctors at most {max_per_proctor} each); "
            "add proctors or raise the maximum"
        )
    for candidate in unassigned:
        proctor_id = min(load, key=lambda pid: (load[pid], str(pid)))
        candidate.proctor_id = proctor_id
        load[proctor_id] += 1
    db.flush()
    return unassigned


def invite_url(*, public_url: str, candidate: Candidate) -> str:
    return f"{public_url.rstrip('/')}/take/{candidate.invite_token}"
