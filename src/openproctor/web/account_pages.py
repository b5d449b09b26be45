"""A staff member's own account: the password form (also where a temporary password from an
admin's reset is replaced before anything else opens)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response
from pydantic import ValidationError

from openproctor.deps import Context, DbSession, Hub, SignedInUser
from openproctor.domains.users.models import PasswordChange
from openproctor.domains.users.routes import change_own_password, set_session_cookie
from openproctor.web.admin.forms import see_other, validation_messages
from openproctor.web.templating import form_status, render

router = APIRouter(include_in_schema=False)

ACCOUNT_PAGE = "/account/password"
PasswordField = Annotated[str, Form(max_length=200)]


@router.get(ACCOUNT_PAGE)
def password_form(request: Request, user: SignedInUser, changed: bool = False) -> Response:
    return render(request, "account/password.html", user=user, errors=[], changed=changed)


@router.post(ACCOUNT_PAGE)
def change_password(
    request: Request,
    db: DbSession,
    hub: Hub,
    context: Context,
    user: SignedInUser,
    current_password: PasswordField,
    new_password: PasswordField,
    confirm_password: PasswordField,
) -> Response:
    errors: list[str] = []
    if new_password != confirm_password:
        errors.append("the new password and its repetition differ")
    else:
        try:
            change = PasswordChange(current_password=current_password, new_password=new_password)
            token = change_own_password(
                db=db,
                hub=hub,
                settings=context.settings,
                request=request,
                user=user,
                change=change,
            )
        except ValidationError as error:
            errors = validation_messages(error)
        except HTTPException as error:
            errors = [str(error.detail)]
    if errors:
        return render(
            request,
            "account/password.html",
            user=user,
            errors=errors,
            changed=False,
            status_code=form_status(errors),
        )
    response = see_other(f"{ACCOUNT_PAGE}?changed=true")
    set_session_cookie(response, token, context.settings)
    return response
