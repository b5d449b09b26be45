"""LTI platforms, pending logins, and what a validated launch does: an Instructor becomes a
proctor (a staff account linked to their `sub`), a Learner a candidate of the mapped exam."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from openproctor.domains.candidates import service as candidates
from openproctor.domains.candidates.models import Candidate, CandidateCreate
from openproctor.domains.exams.models import Exam
from openproctor.domains.lti import links, service_links
from openproctor.domains.lti.launch import Launch, LaunchError, LtiRole
from openproctor.domains.lti.models import (
    LtiAccount,
    LtiExamInstructor,
    LtiLogin,
    LtiPlatform,
    PlatformWrite,
    ToolConfiguration,
)
from openproctor.domains.users.models import Role, User
from openproctor.domains.users.service import get_by_email, normalize_email
from openproctor.outbound import OutboundPolicy
from openproctor.pagination import Page, PageRequest, scalars_page
from openproctor.security import token_digest
from openproctor.settings import Settings

# How long a login initiation waits for its launch.
LOGIN_LIFETIME = timedelta(minutes=10)
EXTERNAL_ID_PREFIX = "lti:"
SYNTHETIC_EMAIL_DOMAIN = "users.lti.example"
MAX_EXTERNAL_ID = 200


def tool_configuration(settings: Settings) -> ToolConfiguration:
    """The URLs an admin enters on the platform when registering this tool."""
    base = settings.public_url.rstrip("/")
    return ToolConfiguration(
        login_url=f"{base}/lti/login",
        launch_url=f"{base}/lti/launch",
        jwks_url=f"{base}/lti/jwks",
        custom_parameters="exam_id=<exam id> (only without deep linking; else the platform's "
        "default exam)",
    )


class PlatformError(Exception):
    """A platform registration that cannot be saved; the message says why."""


# --- platforms ------------------------------------------------------------------------------


def list_all(*, db: Session) -> Sequence[LtiPlatform]:
    return db.scalars(select(LtiPlatform).order_by(LtiPlatform.name, LtiPlatform.issuer)).all()


def page_all(*, db: Session, page: PageRequest) -> Page[LtiPlatform]:
    """In the order they were registered."""
    order = (LtiPlatform.created_at, LtiPlatform.id)
    return scalars_page(db, select(LtiPlatform), order, page)


def get(*, db: Session, platform_id: uuid.UUID) -> LtiPlatform | None:
    return db.get(LtiPlatform, platform_id)


def create(
    *, db: Session, platform_in: PlatformWrite, outbound_policy: OutboundPolicy
) -> LtiPlatform:
    platform = LtiPlatform()
    _apply(db=db, platform=platform, platform_in=platform_in, outbound_policy=outbound_policy)
    db.add(platform)
    db.flush()
    return platform


def update(
    *,
    db: Session,
    platform: LtiPlatform,
    platform_in: PlatformWrite,
    outbound_policy: OutboundPolicy,
) -> LtiPlatform:
    _apply(db=db, platform=platform, platform_in=platform_in, outbound_policy=outbound_policy)
    db.flush()
    return platform


def delete_platform(*, db: Session, platform: LtiPlatform) -> None:
    """Removes the registration, its pending logins and account links (not the accounts,
    candidates or their data)."""
    db.delete(platform)
    db.flush()


def _apply(
    *,
    db: Session,
    platform: LtiPlatform,
    platform_in: PlatformWrite,
    outbound_policy: OutboundPolicy,
) -> None:
    """Raises PlatformError, or OutboundRefused for a key set URL the server may not fetch."""
    if platform_in.key_set_url is not None:
        outbound_policy.vet(str(platform_in.key_set_url), field="key_set_url")
    taken = db.scalar(
        select(LtiPlatform.id).where(
            LtiPlatform.issuer == platform_in.issuer,
            LtiPlatform.client_id == platform_in.client_id,
        )
    )
    if taken is not None and taken != platform.id:
        raise PlatformError(
            f"a platform with issuer {platform_in.issuer!r} and client id "
            f"{platform_in.client_id!r} is already registered"
        )
    if platform_in.default_exam_id is not None and not db.get(Exam, platform_in.default_exam_id):
        raise PlatformError(f"default_exam_id {platform_in.default_exam_id} is not an exam")
    platform.name = platform_in.name
    platform.issuer = platform_in.issuer
    platform.client_id = platform_in.client_id
    platform.auth_login_url = str(platform_in.auth_login_url)
    platform.auth_token_url = (
        str(platform_in.auth_token_url) if platform_in.auth_token_url else None
    )
    platform.key_set_url = str(platform_in.key_set_url) if platform_in.key_set_url else None
    platform.public_key = platform_in.public_key
    platform.deployment_ids = list(platform_in.deployment_ids)
    platform.default_exam_id = platform_in.default_exam_id


# --- login initiation and its state -----------------------------------------------------------


def platform_for_login(*, db: Session, issuer: str, client_id: str | None) -> LtiPlatform:
    """The registration a login initiation is for: by issuer and client id, or by issuer
    alone when the platform sent no client id and only one registration has that issuer."""
    query = select(LtiPlatform).where(LtiPlatform.issuer == issuer)
    if client_id:
        query = query.where(LtiPlatform.client_id == client_id)
    found = db.scalars(query).all()
    if not found:
        named = f" and client id {client_id!r}" if client_id else ""
        raise LaunchError(
            f"no LTI platform is registered with issuer {issuer!r}{named}; an admin registers "
            "it on /admin/lti",
            status_code=403,
        )
    if len(found) > 1:
        raise LaunchError(
            f"several registrations have issuer {issuer!r}: the platform must send client_id"
        )
    return found[0]


def start_login(*, db: Session, platform: LtiPlatform, now: datetime) -> tuple[str, str]:
    """A new state and nonce for a login initiation (only the state's digest is stored).

    Pending logins that expired are removed on the way.
    """
    db.execute(delete(LtiLogin).where(LtiLogin.expires_at <= now))
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    db.add(
        LtiLogin(
            state_hash=token_digest(state),
            nonce=nonce,
            platform_id=platform.id,
            expires_at=now + LOGIN_LIFETIME,
        )
    )
    db.flush()
    return state, nonce


def take_login(*, db: Session, state: str) -> LtiLogin:
    """The pending login of this state, deleted so that it cannot be used twice (the caller
    commits the deletion before checking anything else)."""
    login = db.scalar(select(LtiLogin).where(LtiLogin.state_hash == token_digest(state)))
    if login is None:
        raise LaunchError(
            "this launch's state is unknown: it was already used, or the launch did not start "
            "here; open the activity again from the course"
        )
    db.delete(login)
    db.flush()
    return login


def check_fresh(*, login: LtiLogin, now: datetime) -> None:
    if login.expires_at <= now:
        raise LaunchError("this launch took too long and expired; open the activity again")


# --- what a launch does ---------------------------------------------------------------------


@dataclass(frozen=True)
class Admission:
    """Where a launch leads: a proctor to an exam's wall, or a candidate to their exam."""

    exam: Exam
    user: User | None = None
    candidate: Candidate | None = None
    user_created: bool = False


def admit(*, db: Session, platform: LtiPlatform, launch: Launch) -> Admission:
    """Finds or makes the proctor or candidate a validated launch stands for (caller commits).

    Raises LaunchError for a role this tool has no place for, or an exam it cannot find or
    may not open (links.ExamRefused).
    """
    if launch.role is None:
        raise LaunchError(
            "your role in this course gives you no access to OpenProctor: only instructors "
            "(who proctor) and learners (who take the exam) can open it",
            status_code=403,
        )
    exam = links.exam_for(db=db, platform=platform, launch=launch)
    if launch.role is LtiRole.INSTRUCTOR:
        user, created = instructor(db=db, platform=platform, exam=exam, launch=launch)
        service_links.remember(db=db, platform=platform, launch=launch, exam=exam, candidate=None)
        return Admission(exam=exam, user=user, user_created=created)
    candidate = learner(db=db, platform=platform, exam=exam, launch=launch)
    service_links.remember(db=db, platform=platform, launch=launch, exam=exam, candidate=candidate)
    return Admission(exam=exam, candidate=candidate)


def external_id(platform: LtiPlatform, subject: str) -> str:
    """`lti:{issuer}:{sub}`, or `lti:sha256:{digest}` when that is longer than the column."""
    plain = f"{EXTERNAL_ID_PREFIX}{platform.issuer}:{subject}"
    if len(plain) <= MAX_EXTERNAL_ID:
        return plain
    return f"{EXTERNAL_ID_PREFIX}sha256:{_digest(platform, subject)}"


def synthetic_email(platform: LtiPlatform, subject: str) -> str:
    """A stable address for a user whose platform sends no email (or one already taken)."""
    return f"lti-{_digest(platform, subject)[:24]}@{SYNTHETIC_EMAIL_DOMAIN}"


def _digest(platform: LtiPlatform, subject: str) -> str:
    return hashlib.sha256(f"{platform.issuer}\n{subject}".encode()).hexdigest()


def learner(*, db: Session, platform: LtiPlatform, exam: Exam, launch: Launch) -> Candidate:
    """The exam's candidate for this LTI user, made on the first launch.

    A roster candidate with the same email and no external id is taken over (it is the same
    person, imported before the course used LTI). A new or unassigned candidate goes to the
    least-loaded instructor who launched this exam from the same platform, if any.
    """
    wanted = external_id(platform, launch.subject)
    candidate = db.scalar(
        select(Candidate).where(Candidate.exam_id == exam.id, Candidate.external_id == wanted)
    )
    email = normalize_email(launch.email) if launch.email else None
    if candidate is None and email:
        same_email = db.scalar(
            select(Candidate).where(Candidate.exam_id == exam.id, Candidate.email == email)
        )
        if same_email is not None and same_email.external_id is None:
            same_email.external_id = wanted
            candidate = same_email
        elif same_email is not None:
            email = None
    if candidate is None:
        candidate = candidates.create(
            db=db,
            exam=exam,
            candidate_in=CandidateCreate(
                name=launch.name or f"Learner {launch.subject[:12]}",
                email=email or synthetic_email(platform, launch.subject),
                external_id=wanted,
            ),
        )
    if candidate.proctor_id is None:
        candidate.proctor_id = least_loaded_instructor(db=db, platform=platform, exam=exam)
    db.flush()
    return candidate


def least_loaded_instructor(*, db: Session, platform: LtiPlatform, exam: Exam) -> uuid.UUID | None:
    instructors = db.scalars(
        select(User.id)
        .join(LtiExamInstructor, LtiExamInstructor.user_id == User.id)
        .where(
            LtiExamInstructor.platform_id == platform.id,
            LtiExamInstructor.exam_id == exam.id,
            User.role == Role.PROCTOR,
            User.is_active,
        )
    ).all()
    if not instructors:
        return None
    counts = (
        select(Candidate.proctor_id, func.count())
        .where(Candidate.exam_id == exam.id, Candidate.proctor_id.in_(instructors))
        .group_by(Candidate.proctor_id)
    )
    load: dict[uuid.UUID | None, int] = {}
    for proctor_id, count in db.execute(counts):
        load[proctor_id] = count
    return min(instructors, key=lambda user_id: (load.get(user_id, 0), str(user_id)))


def instructor_account(*, db: Session, platform: LtiPlatform, launch: Launch) -> tuple[User, bool]:
    """The proctor account of this LTI user, made on their first launch; raises LaunchError
    for an account that is deactivated or not a proctor. Returns the user and whether it was
    made now."""
    account = db.scalar(
        select(LtiAccount).where(
            LtiAccount.platform_id == platform.id, LtiAccount.subject == launch.subject
        )
    )
    user = db.get(User, account.user_id) if account is not None else None
    created = False
    if user is None:
        user, created = _proctor_for(db=db, platform=platform, launch=launch)
        db.add(LtiAccount(platform_id=platform.id, subject=launch.subject, user_id=user.id))
    if not user.is_active:
        raise LaunchError(
            "your OpenProctor account is deactivated; ask an admin to restore it",
            status_code=403,
        )
    if user.role is not Role.PROCTOR:
        raise LaunchError(
            f"your OpenProctor account has the {user.role.value} role; LTI instructors "
            "sign in as proctors",
            status_code=403,
        )
    if launch.name and launch.name != user.name:
        user.name = launch.name
    return user, created


def add_instructor(*, db: Session, platform: LtiPlatform, exam: Exam, user: User) -> None:
    """Records the user as an instructor of the exam from this platform (its learners who
    launch it later are assigned to its instructors)."""
    if db.get(LtiExamInstructor, (platform.id, exam.id, user.id)) is None:
        db.add(LtiExamInstructor(platform_id=platform.id, exam_id=exam.id, user_id=user.id))
        db.flush()


def instructor(
    *, db: Session, platform: LtiPlatform, exam: Exam, launch: Launch
) -> tuple[User, bool]:
    """The proctor account of this LTI user (instructor_account), now an instructor of the
    exam: it is given the exam's LTI candidates nobody proctors yet. Returns the user and
    whether it was made now."""
    user, created = instructor_account(db=db, platform=platform, launch=launch)
    add_instructor(db=db, platform=platform, exam=exam, user=user)
    unassigned = db.scalars(
        select(Candidate).where(
            Candidate.exam_id == exam.id,
            Candidate.proctor_id.is_(None),
            Candidate.external_id.startswith(EXTERNAL_ID_PREFIX, autoescape=True),
        )
    ).all()
    for candidate in unassigned:
        candidate.proctor_id = user.id
    db.flush()
    return user, created


def _proctor_for(*, db: Session, platform: LtiPlatform, launch: Launch) -> tuple[User, bool]:
    """A proctor with no password (it signs in only through launches), and whether it was
    made now. An email the platform sends is used unless another account has it: accounts
    are never joined by a claimed email. The synthetic address stands for this issuer and
    sub alone, so an account that has it is this user's (linked before the platform was
    registered again)."""
    synthetic = synthetic_email(platform, launch.subject)
    email = normalize_email(launch.email) if launch.email else None
    if email is None or get_by_email(db=db, email=email) is not None:
        existing = get_by_email(db=db, email=synthetic)
        if existing is not None:
            return existing, False
        email = synthetic
    user = User(
        email=email,
        name=launch.name or f"Instructor {launch.subject[:12]}",
        role=Role.PROCTOR,
        password_hash="",
        is_active=True,
    )
    db.add(user)
    db.flush()
    return user, True


def has_candidates(*, db: Session, exam: Exam, user: User) -> bool:
    """Whether a proctor has a candidate in the exam (and so may open its wall)."""
    query = select(Candidate.id).where(
        Candidate.exam_id == exam.id, Candidate.proctor_id == user.id
    )
    return db.scalar(query.limit(1)) is not None
