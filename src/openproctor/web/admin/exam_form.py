"""The exam form without JSON: its fields as the page shows them and as they come back. Times are
entered in the exam's time zone; the policy is one input per field and per rule, read back onto
the defaults; the question editor (static/js/admin/questions.js) posts its questions in one
hidden field."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, get_args

from pydantic import ValidationError
from pydantic.fields import FieldInfo
from starlette.datastructures import FormData

from openproctor.db import utcnow
from openproctor.domains.exams.models import ExamWrite
from openproctor.domains.exams.policy import (
    KIND_LABELS,
    PROMPT_TEXTS,
    ExamPolicy,
    RuleSettings,
    ViolationKind,
    human_value,
)
from openproctor.domains.exams.zones import (
    ZoneError,
    check_zone,
    from_wall_clock,
    to_wall_clock,
)

WALL_CLOCK_FORMAT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends
TEXT_FIELDS = ("title", "instructions", "opens_at", "closes_at", "duration_minutes")
MAX_FIELD_CHARS = 200_000


@dataclass(frozen=True)
class PolicyInput:
    """One input of the policy form: a toggle, a number, a choice or a comma-separated list."""

    name: str  # the form field: policy.<field> or rules.<kind>.<field>
    title: str
    description: str
    kind: str  # "toggle", "number", "choice" or "list"
    default: str  # as people read it (Yes/No, lists joined)
    minimum: float | None = None
    maximum: float | None = None
    step: str = "any"
    options: tuple[str, ...] = ()
    optional: bool = False  # a number that may be None: left empty, it is


def _input(name: str, field: FieldInfo, default: object) -> PolicyInput:
    """The input for one pydantic field, from its type, bounds, title and description."""
    bounds = {type(m).__name__: m for m in field.metadata}
    annotation = field.annotation
    options: tuple[str, ...] = ()
    if annotation is bool:
        kind = "toggle"
    elif isinstance(annotation, type) and issubclass(annotation, Enum):
        kind, options = "choice", tuple(str(member.value) for member in annotation)
    elif annotation == list[str]:
        kind = "list"
    else:
        kind = "number"
    return PolicyInput(
        name=name,
        title=field.title or name,
        description=field.description or "",
        kind=kind,
        default=human_value(default),
        minimum=getattr(bounds.get("Ge"), "ge", None),
        maximum=getattr(bounds.get("Le"), "le", None),
        step="1" if annotation is int else "any",
        options=options,
        optional=type(None) in get_args(annotation),  # empty means None ("no prompt")
    )


def policy_inputs() -> list[PolicyInput]:
    defaults = ExamPolicy()
    return [
        _input(f"policy.{name}", field, getattr(defaults, name))
        for name, field in ExamPolicy.model_fields.items()
        if name != "rules"
    ]


@dataclass(frozen=True)
class RuleRow:
    kind: ViolationKind
    label: str
    inputs: list[PolicyInput | None]  # one per rule field; None: a prompt this kind cannot have


RULE_COLUMNS = [field.title or name for name, field in RuleSettings.model_fields.items()]


def rule_inputs() -> list[RuleRow]:
    defaults = ExamPolicy().rules
    return [
        RuleRow(
            kind=kind,
            label=KIND_LABELS[kind],
            inputs=[
                _input(f"rules.{kind}.{name}", field, getattr(defaults[kind], name))
                if name != "prompt_after_s" or kind in PROMPT_TEXTS
                else None
                for name, field in RuleSettings.model_fields.items()
            ],
        )
        for kind in ViolationKind
    ]


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else ""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, Enum):
        return str(value.value)
    return human_value(value)


def form_values(exam: ExamWrite | None) -> dict[str, str]:
    """The form's fields, filled from an exam or for a new one (open from now for a day, in
    UTC; the page moves that to the admin's zone when it offers it)."""
    if exam is None:
        opens = utcnow().replace(tzinfo=None, second=0, microsecond=0)
        exam_values = {
            "title": "",
            "instructions": "",
            "opens_at": opens.strftime(WALL_CLOCK_FORMAT),
            "closes_at": (opens + timedelta(days=1)).strftime(WALL_CLOCK_FORMAT),
            "duration_minutes": "60",
            "external_url": "",
            "questions": "[]",
            "shuffle_questions": "",
            "shuffle_choices": "",
            "timezone": "UTC",
        }
        policy = ExamPolicy()
    else:
        exam_values = {
            "title": exam.title,
            "instructions": exam.instructions,
            "opens_at": to_wall_clock(exam.opens_at, exam.timezone).strftime(WALL_CLOCK_FORMAT),
            "closes_at": to_wall_clock(exam.closes_at, exam.timezone).strftime(WALL_CLOCK_FORMAT),
            "duration_minutes": str(exam.duration_minutes),
            "external_url": str(exam.external_url or ""),
            "questions": json.dumps([q.model_dump(mode="json") for q in exam.questions]),
            "shuffle_questions": _as_text(exam.shuffle_questions),
            "shuffle_choices": _as_text(exam.shuffle_choices),
            "timezone": exam.timezone,
        }
        policy = exam.policy
    for name in ExamPolicy.model_fields:
        if name != "rules":
            exam_values[f"policy.{name}"] = _as_text(getattr(policy, name))
    for kind, rule in policy.rules.items():
        for name in RuleSettings.model_fields:
            exam_values[f"rules.{kind}.{name}"] = _as_text(getattr(rule, name))
    return exam_values


def read_form(form: FormData) -> dict[str, str]:
    """The posted fields as text (files and over-long values refused as empty)."""
    values: dict[str, str] = {}
    for name, value in form.multi_items():
        if isinstance(value, str) and len(value) <= MAX_FIELD_CHARS:
            values[name] = value
    return values


def _policy_document(values: dict[str, str]) -> dict[str, Any]:
    """The policy inputs as a document on the defaults: a field not sent or a number left empty
    keeps its default (an optional number left empty has none); an unticked toggle is off."""
    document: dict[str, Any] = {}
    rules: dict[str, dict[str, Any]] = {}
    inputs = [*policy_inputs(), *(i for row in rule_inputs() for i in row.inputs if i)]
    for item in inputs:
        if item.name not in values:
            continue  # not sent: the default stays
        raw = values[item.name].strip()
        if item.kind == "toggle":
            value: Any = raw == "on"  # a hidden "off" comes first; a ticked box sends "on" after
        elif item.kind == "list":
            value = [part.strip() for part in raw.split(",") if part.strip()]
        elif not raw:
            if not item.optional:
                continue
            value = None
        else:
            value = raw
        parts = item.name.split(".")
        if parts[0] == "policy":
            document[parts[1]] = value
        else:
            rules.setdefault(parts[1], {})[parts[2]] = value
    return {**document, "rules": rules}


def parse(values: dict[str, str]) -> tuple[ExamWrite | None, list[str]]:
    """The form as an exam, or the problems in plain words."""
    zone = values.get("timezone", "UTC") or "UTC"
    document: dict[str, Any] = {name: values.get(name, "") for name in TEXT_FIELDS}
    document |= {
        "external_url": values.get("external_url") or None,
        "shuffle_questions": bool(values.get("shuffle_questions")),
        "shuffle_choices": bool(values.get("shuffle_choices")),
        "timezone": zone,
        "policy": _policy_document(values),
    }
    errors: list[str] = []
    try:
        check_zone(zone)
    except ZoneError as error:
        return None, [f"Time zone: {error}"]
    for name, label in (("opens_at", "Opens"), ("closes_at", "Closes")):
        try:
            wall = datetime.strptime(values.get(name, ""), WALL_CLOCK_FORMAT)
            document[name] = from_wall_clock(wall, zone)
        except ZoneError as error:
            errors.append(f"{label}: {error}")
        except ValueError:
            errors.append(f"{label}: give a date and time")
    try:
        document["questions"] = json.loads(values.get("questions") or "[]")
    except json.JSONDecodeError:
        errors.append("Questions: the question editor did not send them; reload the page")
    if errors:
        return None, errors
    try:
        return ExamWrite.model_validate(document), []
    except ValidationError as error:
        return None, plain_messages(error)


def plain_messages(error: ValidationError) -> list[str]:
    """One line per problem, named as the form names it ("Question 2", "Rule Speech: ...")."""
    titles = {item.name: item.title for item in policy_inputs()}
    rule_titles = {name: field.title for name, field in RuleSettings.model_fields.items()}
    lines = []
    for item in error.errors():
        loc = [str(part) for part in item["loc"]]
        message = str(item["msg"]).removeprefix("Value error, ")
        if loc[:1] == ["questions"] and len(loc) > 1 and loc[1].isdigit():
            where = f"Question {int(loc[1]) + 1}"
        elif loc[:2] == ["policy", "rules"] and len(loc) > 2:
            known = loc[2] in ViolationKind.__members__.values()
            label = KIND_LABELS[ViolationKind(loc[2])] if known else loc[2]
            where = f"Rule {label}" + (f", {rule_titles.get(loc[3])}" if len(loc) > 3 else "")
        elif loc[:1] == ["policy"] and len(loc) > 1:
            where = titles.get(f"policy.{loc[1]}", loc[1]) or loc[1]
        else:
            where = ".".join(loc).replace("_", " ").capitalize() or "Exam"
        lines.append(f"{where}: {message}")
    return lines
