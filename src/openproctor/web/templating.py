"""Server-rendered pages: one Jinja environment, and a render helper that adds what every
page needs (the signed-in user, the CSRF token)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from openproctor.domains.exams.zones import format_time
from openproctor.domains.users.models import User
from openproctor.live.messages import VOCABULARY

WEB_DIR = Path(__file__).parent
templates = Jinja2Templates(directory=WEB_DIR / "templates")
templates.env.globals["live_vocabulary"] = VOCABULARY
# Every staff page shows an exam's times through this one function (templates/_time.html).
templates.env.globals["exam_time"] = format_time


def form_status(problems: object) -> int:
    """422 for a form page shown again with its problems, 200 otherwise."""
    return 422 if problems else 200


def render(
    request: Request,
    template: str,
    *,
    user: User | None = None,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    context = {"user": user, "csrf_token": request.state.csrf_token, **values}
    return templates.TemplateResponse(request, template, context, status_code=status_code)
