"""Admin pages for API tokens: make one (shown once), list and revoke them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from openproctor.deps import AdminUser, Audit, DbSession
from openproctor.domains.tokens import flows as token_flows
from openproctor.domains.tokens import service as api_tokens
from openproctor.domains.tokens.models import TokenCreate
from openproctor.domains.tokens.scopes import SCOPE_DESCRIPTIONS
from openproctor.web.admin.forms import see_other, validation_messages
from openproctor.web.templating import form_status, render

router = APIRouter(include_in_schema=False)


def _tokens_page(
    request: Request,
    db: DbSession,
    user: AdminUser,
    *,
    created: str | None = None,
    errors: list[str] | None = None,
) -> Response:
    return render(
        request,
        "admin/tokens.html",
        user=user,
        tokens=api_tokens.list_all(db=db),
        scopes=SCOPE_DESCRIPTIONS,
        created=created,
        errors=errors or [],
        status_code=form_status(errors),
    )


@router.get("/tokens")
def token_list(request: Request, db: DbSession, user: AdminUser) -> Response:
    return _tokens_page(request, db, user)


@router.post("/tokens")
async def create_token(
    request: Request,
    db: DbSession,
    user: AdminUser,
    audit: Audit,
    name: Annotated[str, Form(max_length=100)],
) -> Response:
    form = await request.form()
    chosen = [value for value in form.getlist("scopes") if isinstance(value, str)]
    try:
        token_in = TokenCreate.model_validate({"name": name, "scopes": chosen})
    except ValidationError as error:
        return _tokens_page(request, db, user, errors=validation_messages(error))
    _, token = token_flows.create(db=db, audit=audit, token_in=token_in, creator=user)
    return _tokens_page(request, db, user, created=token)


@router.post("/tokens/{token_id}/revoke")
def revoke_token(
    token_id: uuid.UUID, request: Request, db: DbSession, user: AdminUser, audit: Audit
) -> Response:
    row = api_tokens.get(db=db, token_id=token_id)
    if row is None:
        return _tokens_page(request, db, user, errors=["no such API token"])
    token_flows.revoke(db=db, audit=audit, token=row)
    return see_other("/admin/tokens")
