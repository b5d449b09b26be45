"""Staff account changes with effects beyond the users domain: audited, committed, then every
web node's open sockets of that user check their sign-in and close if it ended."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from openproctor.bus.local import staff_topic
from openproctor.domains.audit.service import Auditor
from openproctor.domains.users import service
from openproctor.domains.users.models import PasswordChange, User, UserCreate, UserUpdate

if TYPE_CHECKING:
    from openproctor.live.hub import LiveHub


def sign_ins_changed(hub: LiveHub, user_id: uuid.UUID) -> None:
    """After a committed sign-out or account change: every web node's open sockets of this
    user check their sign-in at once and close if it ended. Safe from request threads."""
    hub.bus.publish(staff_topic(user_id), {"type": "sign_in_changed"})


def update(*, db: Session, audit: Auditor, hub: LiveHub, user: User, change: UserUpdate) -> User:
    """Applies an admin's change; a new role, a new password or deactivation signs the user
    out everywhere, open sockets included."""
    changed: dict[str, object] = {}
    if change.role is not None and change.role != user.role:
        user.role = changed["role"] = change.role
    if change.password is not None:
        service.set_password(user=user, password=change.password)
        changed["password_changed"] = True
    if change.is_active is not None and change.is_active != user.is_active:
        user.is_active = changed["is_active"] = change.is_active
    signed_out = bool(changed.keys() & {"role", "password_changed"}) or change.is_active is False
    if signed_out:
        service.end_sessions(db=db, user=user)
    audit("user.update", "user", user.id, **changed)
    db.commit()
    if signed_out:
        sign_ins_changed(hub, user.id)
    return user


def deactivate(*, db: Session, audit: Auditor, hub: LiveHub, user: User) -> None:
    """Deactivates the account (the admin page's button) and signs it out everywhere."""
    service.deactivate(db=db, user=user)
    audit("user.deactivate", "user", user.id, email=user.email)
    db.commit()
    sign_ins_changed(hub, user.id)


def create(*, db: Session, audit: Auditor, user_in: UserCreate) -> User:
    """Raises EmailTaken (nothing written) for an address another account has."""
    user = service.create(db=db, user_in=user_in)
    audit("user.create", "user", user.id, email=user.email, role=user.role.value)
    db.commit()
    return user


def change_own_password(
    *,
    db: Session,
    audit: Auditor,
    hub: LiveHub,
    user: User,
    change: PasswordChange,
    client_ip: str,
    lifetime: timedelta,
) -> str:
    """The user's own change (WrongPassword or SamePassword: nothing written). Every other
    sign-in of theirs ends; returns the token of a fresh one for the browser that asked."""
    service.change_own_password(
        user=user, current_password=change.current_password, new_password=change.new_password
    )
    service.end_sessions(db=db, user=user)
    token = service.open_session(db=db, user=user, client_ip=client_ip, lifetime=lifetime)
    audit("user.password_change", "user", user.id)
    db.commit()
    sign_ins_changed(hub, user.id)
    return token


def reset_password(*, db: Session, audit: Auditor, hub: LiveHub, user: User) -> str:
    """An admin's reset: returns the temporary password (never stored or audited in clear)."""
    temporary = service.reset_password(db=db, user=user)
    audit("user.password_reset", "user", user.id, email=user.email)
    db.commit()
    sign_ins_changed(hub, user.id)
    return temporary
