"""Admin pages under /admin, one module per area; each is thin over the domains' flows and
services."""

from fastapi import APIRouter

from openproctor.web.admin import candidates, exams, invitations, lti, staff, tokens, webhooks

router = APIRouter(prefix="/admin", include_in_schema=False)
for area in (exams, candidates, invitations, staff, tokens, webhooks, lti):
    router.include_router(area.router)
