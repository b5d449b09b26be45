"""Creating, checking and revoking API tokens."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from openproctor.db import utcnow
from openproctor.domains.tokens.models import ApiToken, TokenCreate
from openproctor.domains.users.models import Role, User
from openproctor.pagination import Page, PageRequest, scalars_page
from openproctor.security import token_digest

TOKEN_PREFIX = "opk_"  # noqa: S105 - a prefix that marks a token, not a secret
HINT_LENGTH = 10
# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create(*, db: Session, token_in: TokenCreate, creator: User | None) -> tuple[ApiToken, str]:
    """Stores a new token's digest; returns the row and the token (to be shown once)."""
    token = new_token()
    row = ApiToken(
        name=token_in.name,
        token_hash=token_digest(token),
        hint=token[:HINT_LENGTH],
        scopes=[scope.value for scope in token_in.scopes],
        created_by_id=creator.id if creator else None,
    )
    db.add(row)
    db.flush()
    return row, token


def get(*, db: Session, token_id: uuid.UUID) -> ApiToken | None:
    return db.get(ApiToken, token_id)


def list_all(*, db: Session) -> Sequence[ApiToken]:
    return db.scalars(select(ApiToken).order_by(ApiToken.created_at.desc())).all()


def page_all(*, db: Session, page: PageRequest) -> Page[ApiToken]:
    """Newest first."""
    order = (ApiToken.created_at, ApiToken.id)
    return scalars_page(db, select(ApiToken), order, page, descending=True)


def authenticate(*, db: Session, token: str) -> ApiToken | None:
    """The active token with this value, or None for an unknown or revoked one."""
    row = db.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    if row is None or not row.active:
        return None
    return row


def mark_used(*, token: ApiToken, now: datetime) -> bool:
    """Notes the use; returns whether the row changed (and so wants a commit)."""
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        return True
    return False


def revoke(*, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()


def acting_user(token: ApiToken) -> User:
    """The staff member a token acts as: an admin, not stored, limited by the token's scopes.

    It has no id, so audit entries name the token (`api-token:NAME`) instead of a person.
    """
    return User(
        id=None,
        email=f"api-token:{token.name}",
        name=f"API token {token.name}",
        role=Role.ADMIN,
        password_hash="",
        is_active=True,
    )
