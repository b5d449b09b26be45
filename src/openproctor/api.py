"""The REST API under /api/v1: every domain's router, all behind the CSRF check."""

from fastapi import APIRouter, Depends

from openproctor.deps import csrf_protect
from openproctor.domains.attention.routes import router as attention
from openproctor.domains.candidates.practice_routes import router as practice
from openproctor.domains.candidates.routes import router as candidates
from openproctor.domains.checkin.routes import lobby_router as lobby
from openproctor.domains.checkin.routes import router as checkin
from openproctor.domains.exams.routes import proctoring_router as exam_switches
from openproctor.domains.exams.routes import router as exams
from openproctor.domains.iddoc.routes import take_router as id_documents
from openproctor.domains.integrations.routes import router as integrations
from openproctor.domains.invitations.routes import router as invitations
from openproctor.domains.lti.course_routes import grades_router as lti_grades
from openproctor.domains.lti.course_routes import roster_router as lti_roster
from openproctor.domains.lti.routes import router as lti
from openproctor.domains.messages.routes import router as messages
from openproctor.domains.messages.routes import take_router as chat
from openproctor.domains.notes.routes import router as notes
from openproctor.domains.recordings.routes import router as recordings
from openproctor.domains.recordings.routes import take_router as uploads
from openproctor.domains.reports.routes import router as reports
from openproctor.domains.sessions.actions import router as session_actions
from openproctor.domains.sessions.routes import router as sessions
from openproctor.domains.sessions.take_routes import router as take
from openproctor.domains.tokens.routes import router as tokens
from openproctor.domains.users.routes import router as staff
from openproctor.domains.violations.routes import router as violations
from openproctor.domains.webhooks.routes import router as webhooks

router = APIRouter(prefix="/api/v1", dependencies=[Depends(csrf_protect)])
for domain_router in (
    staff,
    exams,
    candidates,
    invitations,
    checkin,
    sessions,
    violations,
    take,
    id_documents,
    practice,
    chat,
    uploads,
    recordings,
    session_actions,
    lobby,
    messages,
    notes,
    attention,
    exam_switches,
    reports,
    tokens,
    webhooks,
    integrations,
    lti,
    lti_roster,
    lti_grades,
):
    router.include_router(domain_router)
