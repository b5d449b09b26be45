"""Roster sync (NRPS 2.0): the course's learners as the exam's candidates.

Active members with the Learner role become candidates with the identity launches use
(`lti:{issuer}:{sub}`), so a learner who later launches is the same candidate. Changed names
and e-mails are updated. Candidates this sync added whose member left the course (or is no
longer active, or no longer a learner) are removed, unless they started the exam: then they
are kept with their attempt and reported. Candidates added any other way are never removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from openproctor.domains.candidates import invites
from openproctor.domains.candidates import service as candidates
from openproctor.domains.candidates.models import Candidate, CandidateCreate
from openproctor.domains.exams.models import Exam
from openproctor.domains.lti import service
from openproctor.domains.lti.access import PlatformServiceError, access_token
from openproctor.domains.lti.advantage_models import (
    SCOPE_MEMBERSHIPS,
    LtiLearner,
    LtiServiceLink,
    RosterChange,
)
from openproctor.domains.lti.calls import call, next_page
from openproctor.domains.lti.launch import LtiRole, role_of
from openproctor.domains.lti.models import LtiPlatform, LtiToolKey
from openproctor.domains.sessions.models import ExamSession
from openproctor.domains.users.service import normalize_email
from openproctor.outbound import OutboundPolicy

MEMBERSHIPS_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
# A course bigger than this many pages is cut off with an error rather than read forever.
MAX_PAGES = 200


@dataclass(frozen=True)
class Member:
    """An active learner of the course."""

    subject: str
    name: str | None
    email: str | None


def fetch_learners(
    *,
    link: LtiServiceLink,
    platform: LtiPlatform,
    signing_key: LtiToolKey,
    client: httpx.Client,
    outbound_policy: OutboundPolicy,
) -> list[Member]:
    """The course's active learners, every page read (Link: rel="next")."""
    if not link.memberships_url:
        raise PlatformServiceError("the launches of this exam announced no course roster")
    token = access_token(
        platform,
        [SCOPE_MEMBERSHIPS],
        signing_key=signing_key,
        client=client,
        outbound_policy=outbound_policy,
    )
    members: dict[str, Member] = {}
    url: str | None = link.memberships_url
    for _ in range(MAX_PAGES):
        if url is None:
            return list(members.values())
        answer = call(
            client,
            outbound_policy,
            "GET",
            url,
            token=token,
            accept=MEMBERSHIPS_TYPE,
            what="course roster",
        )
        if not answer.ok:
            raise PlatformServiceError(
                f"the platform's course roster answered HTTP {answer.status_code}"
            )
        document = answer.json("course roster")
        listed = document.get("members") if isinstance(document, dict) else None
        if not isinstance(listed, list):
            raise PlatformServiceError("the platform's course roster has no members list")
        for entry in listed:
            member = _learner(entry)
            if member is not None:
                members[member.subject] = member
        url = next_page(answer.link_header)
    raise PlatformServiceError(f"the course roster has more than {MAX_PAGES} pages")


def _learner(entry: object) -> Member | None:
    """An Active member whose role is Learner (not Instructor), else None."""
    if not isinstance(entry, dict):
        return None
    subject, roles = entry.get("user_id"), entry.get("roles")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        return None
    if entry.get("status", "Active") != "Active" or not isinstance(roles, list):
        return None
    if role_of([role for role in roles if isinstance(role, str)]) is not LtiRole.LEARNER:
        return None
    name, email = entry.get("name"), entry.get("email")
    if not isinstance(name, str) or not name.strip():
        given, family = entry.get("given_name"), entry.get("family_name")
        name = " ".join(p.strip() for p in (given, family) if isinstance(p, str) and p.strip())
    return Member(
        subject=subject,
        name=name.strip()[:200] if isinstance(name, str) and name.strip() else None,
        email=normalize_email(email) if isinstance(email, str) and "@" in email else None,
    )


@dataclass
class Plan:
    """What a sync does; `apply` carries it out."""

    add: list[tuple[Member, RosterChange]] = field(default_factory=list)
    update: list[tuple[Candidate, Member, RosterChange]] = field(default_factory=list)
    remove: list[tuple[Candidate, RosterChange]] = field(default_factory=list)
    kept: list[RosterChange] = field(default_factory=list)
    unchanged: int = 0


def plan(
    *, db: Session, exam: Exam, link: LtiServiceLink, platform: LtiPlatform, members: list[Member]
) -> Plan:
    """Compares the course's learners with the exam's candidates (nothing written)."""
    result = Plan()
    roster = list(db.scalars(select(Candidate).where(Candidate.exam_id == exam.id)))
    by_external = {c.external_id: c for c in roster if c.external_id}
    # Who has each e-mail: a candidate, or None for a member this sync adds.
    emails: dict[str, Candidate | None] = {c.email: c for c in roster}
    wanted: set[str] = set()
    for member in sorted(members, key=lambda m: (m.name or "", m.subject)):
        external = service.external_id(platform, member.subject)
        wanted.add(external)
        email = member.email or service.synthetic_email(platform, member.subject)
        name = member.name or f"Learner {member.subject[:12]}"
        change = RosterChange(action="add", name=name, email=email, external_id=external)
        candidate = by_external.get(external)
        if candidate is None and email not in emails:
            result.add.append((member, change))
            emails[email] = None
            continue
        if candidate is None:
            holder = emails[email]
            if holder is None or holder.external_id is not None:
                change.action = "keep"
                change.reason = f"not added: another candidate has the e-mail {email}"
                result.kept.append(change)
                continue
            candidate = holder  # imported before the course used LTI: the same person
        change.candidate_id = candidate.id
        differences = []
        if candidate.name != name:
            differences.append(f"name was {candidate.name}")
        if candidate.email != email:
            if email in emails and emails[email] is not candidate:
                change.email = candidate.email
                differences.append(f"e-mail {email} is another candidate's: not changed")
            else:
                differences.append(f"e-mail was {candidate.email}")
        if candidate.external_id != external:
            differences.append("linked to the course")
        if differences:
            change.action, change.reason = "update", "; ".join(differences)
            result.update.append((candidate, member, change))
        else:
            result.unchanged += 1
    # Only this course's synced learners (an exam may be linked from several courses).
    same_course = select(LtiServiceLink.id).where(
        LtiServiceLink.platform_id == link.platform_id,
        LtiServiceLink.context_id == link.context_id,
    )
    synced = db.scalars(
        select(Candidate)
        .join(LtiLearner, LtiLearner.candidate_id == Candidate.id)
        .where(
            Candidate.exam_id == exam.id,
            LtiLearner.from_roster,
            LtiLearner.link_id.in_(same_course),
        )
        .order_by(Candidate.name)
    )
    for candidate in synced:
        if candidate.external_id in wanted:
            continue
        change = RosterChange(
            action="remove",
            name=candidate.name,
            email=candidate.email,
            external_id=candidate.external_id or "",
            candidate_id=candidate.id,
            reason="no longer an active learner of the course",
        )
        if _started(db, candidate):
            change.action = "keep"
            change.reason = "left the course but started the exam: kept with the attempt"
            result.kept.append(change)
        else:
            result.remove.append((candidate, change))
    return result


def _started(db: Session, candidate: Candidate) -> bool:
    states = db.scalars(select(ExamSession.state).where(ExamSession.candidate_id == candidate.id))
    return any(state in invites.STARTED for state in states)


def apply(
    *, db: Session, exam: Exam, link: LtiServiceLink, platform: LtiPlatform, changes: Plan
) -> list[Candidate]:
    """Adds and updates as planned (the caller removes, audits and commits); returns the
    candidates added."""
    added = []
    for member, change in changes.add:
        candidate = candidates.create(
            db=db,
            exam=exam,
            candidate_in=CandidateCreate(
                name=change.name, email=change.email, external_id=change.external_id
            ),
        )
        candidate.proctor_id = service.least_loaded_instructor(db=db, platform=platform, exam=exam)
        db.add(
            LtiLearner(
                candidate_id=candidate.id, link_id=link.id, subject=member.subject, from_roster=True
            )
        )
        change.candidate_id = candidate.id
        added.append(candidate)
    for candidate, member, change in changes.update:
        candidate.name, candidate.email = change.name, change.email
        candidate.external_id = change.external_id
        if db.get(LtiLearner, candidate.id) is None:
            db.add(LtiLearner(candidate_id=candidate.id, link_id=link.id, subject=member.subject))
    db.flush()
    return added
