"""/api/v1/lti/tool and /api/v1/lti/platforms: platform registrations, admins only, audited
(API tokens are refused: the tag has no scope). The endpoints a platform calls during a
launch are pages, in web/lti_pages.py."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, Request, Response, status

from openproctor.deps import AdminUser, Audit, Context, DbSession, refused_url
from openproctor.domains.lti import flows, service
from openproctor.domains.lti.models import (
    LtiPlatform,
    PlatformRead,
    PlatformWrite,
    ToolConfiguration,
)
from openproctor.outbound import OutboundRefused
from openproctor.pagination import PageParams, send_page

router = APIRouter(prefix="/lti", tags=["lti"])


@router.get("/tool", response_model=ToolConfiguration)
def get_tool(context: Context, _: AdminUser) -> ToolConfiguration:
    """The URLs to enter on the platform when registering this tool."""
    return service.tool_configuration(context.settings)


@router.get("/platforms", response_model=list[PlatformRead])
def list_platforms(
    db: DbSession, _: AdminUser, paging: PageParams, request: Request, response: Response
) -> list[PlatformRead]:
    """The learning platforms registered, in the order they were."""
    page = service.page_all(db=db, page=paging)
    reads = [PlatformRead.model_validate(row) for row in page.items]
    return send_page(request, response, page, reads)


def _found(db: DbSession, platform_id: uuid.UUID) -> LtiPlatform:
    platform = service.get(db=db, platform_id=platform_id)
    if platform is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "LTI platform not found")
    return platform


PLATFORM_ERRORS: dict[int | str, dict[str, str]] = {
    409: {"description": "The issuer and client id are taken, or the default exam is unknown."},
    422: {"description": "Invalid, or a key set URL that is not a public address."},
}


@router.post(
    "/platforms",
    response_model=PlatformRead,
    status_code=status.HTTP_201_CREATED,
    responses=PLATFORM_ERRORS,
)
def create_platform(
    platform_in: PlatformWrite, db: DbSession, _: AdminUser, audit: Audit, context: Context
) -> PlatformRead:
    """Registers a platform (issuer, client id, login URL, keys, deployments, default exam).
    A key set URL must resolve to public addresses only (see OPENPROCTOR_OUTBOUND_ALLOW)."""
    try:
        platform = flows.register(
            db=db,
            audit=audit,
            platform_in=platform_in,
            outbound_policy=context.settings.outbound_policy,
        )
    except service.PlatformError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    except OutboundRefused as refusal:
        raise refused_url(refusal) from None
    return PlatformRead.model_validate(platform)


@router.get("/platforms/{platform_id}", response_model=PlatformRead)
def get_platform(platform_id: uuid.UUID, db: DbSession, _: AdminUser) -> PlatformRead:
    return PlatformRead.model_validate(_found(db, platform_id))


@router.put("/platforms/{platform_id}", response_model=PlatformRead, responses=PLATFORM_ERRORS)
def put_platform(
    platform_id: uuid.UUID,
    platform_in: PlatformWrite,
    db: DbSession,
    _: AdminUser,
    audit: Audit,
    context: Context,
) -> PlatformRead:
    platform = _found(db, platform_id)
    try:
        flows.update(
            db=db,
            audit=audit,
            platform=platform,
            platform_in=platform_in,
            outbound_policy=context.settings.outbound_policy,
        )
    except service.PlatformError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    except OutboundRefused as refusal:
        raise refused_url(refusal) from None
    return PlatformRead.model_validate(platform)


@router.delete("/platforms/{platform_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_platform(platform_id: uuid.UUID, db: DbSession, _: AdminUser, audit: Audit) -> None:
    """Removes the registration; accounts and candidates made by its launches stay."""
    flows.delete(db=db, audit=audit, platform=_found(db, platform_id))
