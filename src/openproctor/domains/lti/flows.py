"""LTI platform registrations, audited and committed: the API and the admin pages both
change them through these; and the tool's answer to a deep linking request."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from openproctor.domains.audit.service import Auditor
from openproctor.domains.exams.models import Exam
from openproctor.domains.lti import deep_linking, keys, links, service
from openproctor.domains.lti.deep_linking import PendingDeepLink
from openproctor.domains.lti.models import LtiPlatform, PlatformWrite
from openproctor.domains.users.models import User
from openproctor.outbound import OutboundPolicy


def _audit(audit: Auditor, action: str, platform: LtiPlatform) -> None:
    audit(
        action,
        "lti_platform",
        platform.id,
        issuer=platform.issuer,
        client_id=platform.client_id,
        deployment_ids=platform.deployment_ids,
        default_exam_id=str(platform.default_exam_id) if platform.default_exam_id else None,
    )


def register(
    *, db: Session, audit: Auditor, platform_in: PlatformWrite, outbound_policy: OutboundPolicy
) -> LtiPlatform:
    """Raises PlatformError (rolled back) for a taken issuer and client id or an unknown
    default exam, OutboundRefused for a key set URL that is not a public address."""
    try:
        platform = service.create(db=db, platform_in=platform_in, outbound_policy=outbound_policy)
    except service.PlatformError:
        db.rollback()
        raise
    _audit(audit, "lti.platform.create", platform)
    db.commit()
    return platform


def update(
    *,
    db: Session,
    audit: Auditor,
    platform: LtiPlatform,
    platform_in: PlatformWrite,
    outbound_policy: OutboundPolicy,
) -> LtiPlatform:
    """Raises as `register` does."""
    try:
        service.update(
            db=db, platform=platform, platform_in=platform_in, outbound_policy=outbound_policy
        )
    except service.PlatformError:
        db.rollback()
        raise
    _audit(audit, "lti.platform.update", platform)
    db.commit()
    return platform


def delete(*, db: Session, audit: Auditor, platform: LtiPlatform) -> None:
    """Removes the registration; accounts and candidates made by its launches stay."""
    _audit(audit, "lti.platform.delete", platform)
    service.delete_platform(db=db, platform=platform)
    db.commit()


def answer_deep_link(
    *,
    db: Session,
    audit: Auditor,
    platform: LtiPlatform,
    pending: PendingDeepLink,
    instructor: User,
    exam: Exam | None,
    launch_url: str,
    now: datetime,
) -> str:
    """The signed LtiDeepLinkingResponse for the instructor's choice: a link to the exam,
    which is now in use by the platform and has them as an instructor (its learners are
    assigned to them), or (exam None: they cancelled) no link."""
    if exam is None:
        items = []
        message = "No exam was added."
    else:
        links.claim(db=db, platform=platform, exam=exam)
        service.add_instructor(db=db, platform=platform, exam=exam, user=instructor)
        items = [
            deep_linking.resource_link_item(
                title=exam.title, exam_id=exam.id, launch_url=launch_url
            )
        ]
        message = f"Added the proctored exam “{exam.title}”."
    audit(
        "lti.deep_link",
        "lti_platform",
        platform.id,
        deployment_id=pending.deployment_id,
        exam_id=str(exam.id) if exam else None,
    )
    token = deep_linking.response_jwt(
        platform=platform,
        pending=pending,
        items=items,
        message=message,
        signing_key=keys.tool_key(db=db),
        now=now,
    )
    db.commit()
    return token
