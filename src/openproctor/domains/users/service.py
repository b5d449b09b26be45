"""Staff accounts, logins with lock-out, and server-side login sessions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from openproctor.db import utcnow
from openproctor.domains.users.models import LoginAttempt, Role, StaffSession, User, UserCreate
from openproctor.pagination import Page, PageRequest, scalars_page
from openproctor.security import (
    DUMMY_PASSWORD_HASH,
    hash_password,
    new_temporary_password,
    new_token,
    token_digest,
    verify_password,
)

# A client address may try this many times more than one email before it is locked out too.
IP_FAILURE_FACTOR = 4


class EmailTaken(Exception):
    def __init__(self, email: str) -> None:
        super().__init__(f"a staff account with email {email} already exists")


class WrongPassword(Exception):
    def __init__(self) -> None:
        super().__init__("the current password is not correct")


class SamePassword(Exception):
    def __init__(self) -> None:
        super().__init__("choose a new password that differs from the current one")


class LoginLocked(Exception):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            f"too many failed logins; try again in {max(1, retry_after_s // 60)} minute(s)"
        )
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int
    window: timedelta


def normalize_email(email: str) -> str:
    return email.strip().lower()


def get(*, db: Session, user_id: uuid.UUID) -> User | None:
    return db.get(User, user_id)


def get_by_email(*, db: Session, email: str) -> User | None:
    return db.scalar(select(User).where(User.email == normalize_email(email)))


def list_all(*, db: Session) -> Sequence[User]:
    return db.scalars(select(User).order_by(User.role, User.email)).all()


def page_all(*, db: Session, page: PageRequest) -> Page[User]:
    order = (User.created_at, User.id)
    return scalars_page(db, select(User), order, page)


def list_proctors(*, db: Session) -> Sequence[User]:
    query = select(User).where(User.role == Role.PROCTOR, User.is_active).order_by(User.email)
    return db.scalars(query).all()


def create(*, db: Session, user_in: UserCreate) -> User:
    email = normalize_email(user_in.email)
    if get_by_email(db=db, email=email):
        raise EmailTaken(email)
    user = User(
        email=email,
        name=user_in.name.strip(),
        role=user_in.role,
        password_hash=hash_password(user_in.password),
    )
    db.add(user)
    db.flush()
    return user


def set_password(*, user: User, password: str) -> None:
    user.password_hash = hash_password(password)


def change_own_password(*, user: User, current_password: str, new_password: str) -> None:
    """The user's own change: raises WrongPassword or SamePassword (nothing changed). Clears a
    pending must-change from an admin's reset."""
    if not verify_password(user.password_hash, current_password):
        raise WrongPassword
    if new_password == current_password:
        raise SamePassword
    set_password(user=user, password=new_password)
    user.must_change_password = False


def reset_password(*, db: Session, user: User) -> str:
    """Gives the account a new random password, returned once for the admin to hand over,
    that must be replaced at the next sign-in; the user is signed out everywhere."""
    temporary = new_temporary_password()
    set_password(user=user, password=temporary)
    user.must_change_password = True
    end_sessions(db=db, user=user)
    return temporary


def end_sessions(*, db: Session, user: User) -> None:
    """Signs the user out everywhere (the caller commits, then announces it to open sockets
    with flows.sign_ins_changed)."""
    for staff_session in db.scalars(select(StaffSession).where(StaffSession.user_id == user.id)):
        db.delete(staff_session)


def authenticate(
    *,
    db: Session,
    email: str,
    password: str,
    client_ip: str,
    policy: LoginPolicy,
    known_device: bool = False,
) -> User | None:
    """The active user with these credentials, or None. Raises LoginLocked while locked out.

    An email is locked after policy.max_failures failures since its last success, except for
    a browser that signed in to it before (known_device): others' failures cannot keep its
    owner out. A client address is locked after IP_FAILURE_FACTOR times as many failures in
    the window, whatever succeeded in between. Unknown emails lock as known ones do, so the
    answers tell nothing about who has an account. Every attempt is recorded (the caller
    commits), failed or not, so lock-out holds across processes and restarts.
    """
    email = normalize_email(email)
    now = utcnow()
    since = now - policy.window
    if not known_device:
        last_success = db.scalar(
            select(func.max(LoginAttempt.created_at)).where(
                LoginAttempt.email == email, LoginAttempt.succeeded
            )
        )
        _refuse_if_locked(
            db=db,
            failed_by=LoginAttempt.email == email,
            since=max(since, last_success) if last_success else since,
            limit=policy.max_failures,
            policy=policy,
            now=now,
        )
    _refuse_if_locked(
        db=db,
        failed_by=LoginAttempt.client_ip == client_ip,
        since=since,
        limit=policy.max_failures * IP_FAILURE_FACTOR,
        policy=policy,
        now=now,
    )
    user = get_by_email(db=db, email=email)
    if user is None:
        verify_password(DUMMY_PASSWORD_HASH, password)
        ok = False
    else:
        ok = verify_password(user.password_hash, password) and user.is_active
    db.add(LoginAttempt(email=email, client_ip=client_ip, succeeded=ok, created_at=now))
    if not ok or user is None:
        return None
    user.last_login_at = now
    return user


def _refuse_if_locked(
    *,
    db: Session,
    failed_by: ColumnElement[bool],
    since: datetime,
    limit: int,
    policy: LoginPolicy,
    now: datetime,
) -> None:
    """Raises LoginLocked while `limit` failures matching failed_by came after `since`."""
    failures = db.scalars(
        select(LoginAttempt.created_at)
        .where(failed_by, ~LoginAttempt.succeeded, LoginAttempt.created_at > since)
        .order_by(LoginAttempt.created_at)
    ).all()
    if len(failures) >= limit:
        unlock_at = failures[-limit] + policy.window
        raise LoginLocked(int((unlock_at - now).total_seconds()) + 1)


def open_session(*, db: Session, user: User, client_ip: str, lifetime: timedelta) -> str:
    """Creates a login session and returns the cookie token (only its digest is stored)."""
    token = new_token()
    db.add(
        StaffSession(
            token_hash=token_digest(token),
            user_id=user.id,
            expires_at=utcnow() + lifetime,
            client_ip=client_ip,
        )
    )
    return token


def user_for_session(*, db: Session, token: str) -> User | None:
    staff_session = db.scalar(
        select(StaffSession).where(StaffSession.token_hash == token_digest(token))
    )
    if staff_session is None or staff_session.expires_at <= utcnow():
        return None
    user = db.get(User, staff_session.user_id)
    return user if user is not None and user.is_active else None


@dataclass(frozen=True)
class SignIn:
    """What a long-lived connection (a staff socket) was opened with, to check it still holds."""

    user_id: uuid.UUID
    role: Role
    password_hash: str
    token_hash: str
    expires_at: datetime

    @classmethod
    def of(cls, *, db: Session, user: User, token: str) -> SignIn:
        expires_at = db.scalar(
            select(StaffSession.expires_at).where(StaffSession.token_hash == token_digest(token))
        )
        assert expires_at is not None, "a signed-in user has a session"
        return cls(user.id, user.role, user.password_hash, token_digest(token), expires_at)


def sign_in_ended(*, db: Session, sign_in: SignIn, now: datetime) -> str | None:
    """Why this sign-in no longer holds, or None while it does. Two indexed lookups."""
    user = db.get(User, sign_in.user_id)
    if user is None or not user.is_active:
        return "your account was deactivated"
    if user.role != sign_in.role:
        return f"your role was changed to {user.role.value}"
    if user.password_hash != sign_in.password_hash:
        return "your password was changed"
    expires_at = db.scalar(
        select(StaffSession.expires_at).where(StaffSession.token_hash == sign_in.token_hash)
    )
    if expires_at is None:
        return "the sign-in was ended by a sign-out"
    if expires_at <= now:
        return "your sign-in expired"
    return None


def close_session(*, db: Session, token: str) -> None:
    staff_session = db.scalar(
        select(StaffSession).where(StaffSession.token_hash == token_digest(token))
    )
    if staff_session is not None:
        db.delete(staff_session)


def deactivate(*, db: Session, user: User) -> None:
    user.is_active = False
    end_sessions(db=db, user=user)
