"""/api/v1/tokens: API tokens, managed by signed-in admins only (never by a token)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, Request, Response, status

from openproctor.deps import AdminUser, Audit, DbSession
from openproctor.domains.tokens import flows, service
from openproctor.domains.tokens.models import TokenCreate, TokenCreated, TokenRead
from openproctor.domains.tokens.scopes import SCOPE_DESCRIPTIONS
from openproctor.pagination import PageParams, send_page

router = APIRouter(prefix="/tokens", tags=["tokens"])


@router.get("/scopes", response_model=dict[str, str])
def list_scopes(_: AdminUser) -> dict[str, str]:
    """Every scope a token can have, with what it allows."""
    return {scope.value: text for scope, text in SCOPE_DESCRIPTIONS.items()}


@router.get("", response_model=list[TokenRead])
def list_tokens(
    db: DbSession, _: AdminUser, paging: PageParams, request: Request, response: Response
) -> list[TokenRead]:
    """Newest first, revoked ones too."""
    page = service.page_all(db=db, page=paging)
    return send_page(request, response, page, [TokenRead.model_validate(t) for t in page.items])


@router.post("", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
def create_token(
    token_in: TokenCreate, db: DbSession, user: AdminUser, audit: Audit
) -> TokenCreated:
    """Creates a token; the response holds the token itself, the only time it is shown."""
    row, token = flows.create(db=db, audit=audit, token_in=token_in, creator=user)
    return TokenCreated(**TokenRead.model_validate(row).model_dump(), token=token)


@router.delete("/{token_id}", response_model=TokenRead)
def revoke_token(token_id: uuid.UUID, db: DbSession, _: AdminUser, audit: Audit) -> TokenRead:
    row = service.get(db=db, token_id=token_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "API token not found")
    return TokenRead.model_validate(flows.revoke(db=db, audit=audit, token=row))
