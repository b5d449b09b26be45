"""Every server-rendered page, behind the CSRF check."""

from fastapi import APIRouter, Depends

from openproctor.deps import csrf_protect
from openproctor.web import (
    account_pages,
    admin,
    auth_pages,
    course_pages,
    lti_deep_link_pages,
    staff_pages,
    take_pages,
)

router = APIRouter(dependencies=[Depends(csrf_protect)])
for page_router in (
    auth_pages.router,
    account_pages.router,
    admin.router,
    staff_pages.router,
    course_pages.router,
    take_pages.router,
    lti_deep_link_pages.router,
):
    router.include_router(page_router)
