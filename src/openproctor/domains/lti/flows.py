"""LTI platform registrations and roster syncs, audited and committed: the API and the
pages both change them through these; and the tool's answer to a deep linking request."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from openproctor import outbound
from openproctor.db import utcnow
from openproctor.domains.audit.service import Auditor
from openproctor.domains.candidates import flows as candidate_flows
from openproctor.domains.candidates.flows import erase_candidate
from openproctor.domains.exams.models import Exam
from openproctor.domains.lti import (
    deep_linking,
    grades,
    keys,
    links,
    roster,
    service,
    service_links,
)
from openproctor.domains.lti.access import PlatformServiceError
from openproctor.domains.lti.advantage_models import RosterSyncRead
from openproctor.domains.lti.deep_linking import PendingDeepLink
from openproctor.domains.lti.models import LtiPlatform, PlatformWrite
from openproctor.domains.users.models import User
from openproctor.outbound import OutboundPolicy
from openproctor.storage import ObjectStore


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


# How long one request to a platform's service may take.
SERVICE_TIMEOUT_S = 10.0


def sync_roster(
    *,
    db: Session,
    audit: Auditor,
    exam: Exam,
    store: ObjectStore,
    outbound_policy: OutboundPolicy,
    public_url: str,
    dry_run: bool,
) -> RosterSyncRead:
    """Reads the course roster of the exam's latest launch and compares it with the
    candidates; unless `dry_run`, adds, updates and removes as listed, audited and
    committed (dry run: nothing written). Raises PlatformServiceError saying why the roster
    cannot be read, StorageError when a removed candidate's files cannot be deleted."""
    link = service_links.roster_link(db=db, exam_id=exam.id)
    platform = db.get(LtiPlatform, link.platform_id) if link is not None else None
    if link is None or platform is None:
        raise PlatformServiceError(
            "no course roster is known for this exam: open it once from the course (as an "
            "instructor) on a platform that offers the roster service"
        )
    signing_key = keys.tool_key(db=db)
    db.commit()  # the tool's key, if made now, must be the one the platform fetches
    with outbound.client(SERVICE_TIMEOUT_S) as client:
        members = roster.fetch_learners(
            link=link,
            platform=platform,
            signing_key=signing_key,
            client=client,
            outbound_policy=outbound_policy,
        )
    changes = roster.plan(db=db, exam=exam, link=link, platform=platform, members=members)
    if not dry_run:
        for candidate in roster.apply(
            db=db, exam=exam, link=link, platform=platform, changes=changes
        ):
            candidate_flows.invitation_created(db, candidate, public_url)
        for candidate, change in changes.remove:
            erase_candidate(db=db, store=store, candidate_id=candidate.id, now=utcnow())
            audit(
                "candidate.remove",
                "candidate",
                change.candidate_id or candidate.id,
                exam_id=str(exam.id),
                name=change.name,
                email=change.email,
                reason=change.reason,
            )
        audit(
            "lti.roster_sync",
            "exam",
            exam.id,
            platform_id=str(platform.id),
            context_id=link.context_id,
            added=len(changes.add),
            updated=len(changes.update),
            removed=len(changes.remove),
            kept=len(changes.kept),
        )
        db.commit()
    return RosterSyncRead(
        exam_id=exam.id,
        dry_run=dry_run,
        added=[change for _, change in changes.add],
        updated=[change for _, _, change in changes.update],
        removed=[change for _, change in changes.remove],
        kept=changes.kept,
        unchanged=changes.unchanged,
    )


def retry_grades(*, db: Session, audit: Auditor, exam: Exam) -> int:
    """The exam's failed scores queued again, audited and committed; returns how many."""
    count = grades.retry_failed(db=db, exam_id=exam.id, now=utcnow())
    audit("lti.grades_retry", "exam", exam.id, scores=count)
    db.commit()
    return count
