"""Imports every table so that Base.metadata is complete (for Alembic and tests)."""

from openproctor.db import Base
from openproctor.domains.attention.models import AttentionSample
from openproctor.domains.audit.models import AuditEntry
from openproctor.domains.candidates.models import Candidate, ReplacedInvite
from openproctor.domains.exams.models import Exam
from openproctor.domains.integrations.models import ExamIntegration
from openproctor.domains.invitations.models import CandidateEmail, MailTemplate
from openproctor.domains.leases.models import Lease
from openproctor.domains.lti.advantage_models import LtiGradePost, LtiLearner, LtiServiceLink
from openproctor.domains.lti.models import (
    LtiAccount,
    LtiExamInstructor,
    LtiLogin,
    LtiPlatform,
    LtiToolKey,
)
from openproctor.domains.lti.proctoring_models import LtiControlRequest, LtiProctoredAttempt
from openproctor.domains.messages.models import Message
from openproctor.domains.notes.models import SessionNote
from openproctor.domains.objects.models import Recording, RecordingPart, StoredObject
from openproctor.domains.sessions.models import ExamSession
from openproctor.domains.tokens.models import ApiToken
from openproctor.domains.users.models import LoginAttempt, StaffSession, User
from openproctor.domains.violations.models import Violation
from openproctor.domains.webhooks.models import Webhook, WebhookDelivery

__all__ = [
    "ApiToken",
    "AttentionSample",
    "AuditEntry",
    "Base",
    "Candidate",
    "CandidateEmail",
    "Exam",
    "ExamIntegration",
    "ExamSession",
    "Lease",
    "LoginAttempt",
    "LtiAccount",
    "LtiControlRequest",
    "LtiExamInstructor",
    "LtiGradePost",
    "LtiLearner",
    "LtiLogin",
    "LtiPlatform",
    "LtiProctoredAttempt",
    "LtiServiceLink",
    "LtiToolKey",
    "MailTemplate",
    "Message",
    "Recording",
    "RecordingPart",
    "ReplacedInvite",
    "SessionNote",
    "StaffSession",
    "StoredObject",
    "User",
    "Violation",
    "Webhook",
    "WebhookDelivery",
]
