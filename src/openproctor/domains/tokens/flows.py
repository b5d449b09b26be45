"""API token changes, audited and committed: the API and the admin pages both make them
here."""

from __future__ import annotations

from sqlalchemy.orm import Session

from openproctor.domains.audit.service import Auditor
from openproctor.domains.tokens import service
from openproctor.domains.tokens.models import ApiToken, TokenCreate
from openproctor.domains.users.models import User


def create(
    *, db: Session, audit: Auditor, token_in: TokenCreate, creator: User
) -> tuple[ApiToken, str]:
    """The stored token and the token itself, which is shown once and never again."""
    row, token = service.create(db=db, token_in=token_in, creator=creator)
    audit("token.create", "api_token", row.id, name=row.name, scopes=row.scopes)
    db.commit()
    return row, token


def revoke(*, db: Session, audit: Auditor, token: ApiToken) -> ApiToken:
    service.revoke(token=token)
    audit("token.revoke", "api_token", token.id, name=token.name)
    db.commit()
    return token
