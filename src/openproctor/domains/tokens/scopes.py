"""What an API token may do: scopes, and the scope each API route needs.

A route's scope follows from its OpenAPI tag and method: reading (GET, HEAD) needs
`<resource>:read`, anything else `<resource>:write`. Routes whose tag is not listed here
(staff accounts, the audit log, sign-in, API tokens themselves, LTI platforms, the candidate's
invite-token routes) never accept an API token: a token cannot mint tokens or staff.
"""

from __future__ import annotations

from enum import StrEnum

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Scope(StrEnum):
    EXAMS_READ = "exams:read"
    EXAMS_WRITE = "exams:write"
    CANDIDATES_READ = "candidates:read"
    CANDIDATES_WRITE = "candidates:write"
    SESSIONS_READ = "sessions:read"
    SESSIONS_WRITE = "sessions:write"
    VIOLATIONS_READ = "violations:read"
    VIOLATIONS_WRITE = "violations:write"
    RECORDINGS_READ = "recordings:read"
    REPORTS_READ = "reports:read"
    WEBHOOKS_READ = "webhooks:read"
    WEBHOOKS_WRITE = "webhooks:write"
    DETECT = "detect"


SCOPE_DESCRIPTIONS: dict[Scope, str] = {
    Scope.EXAMS_READ: "list and read exams and their integration settings",
    Scope.EXAMS_WRITE: "create and change exams and their integration settings",
    Scope.CANDIDATES_READ: "list and read candidates (with invite links) and their e-mails",
    Scope.CANDIDATES_WRITE: (
        "add, import, change (accommodations), assign and erase candidates; send invitations"
    ),
    Scope.SESSIONS_READ: "read sessions, evidence and proctor messages",
    Scope.SESSIONS_WRITE: "message, pause, resume, terminate sessions; decisions",
    Scope.VIOLATIONS_READ: "read violations (also the seed API's /multiple_faces_list/)",
    Scope.VIOLATIONS_WRITE: "review violations",
    Scope.RECORDINGS_READ: "list and download recordings",
    Scope.REPORTS_READ: "exam and session reports (CSV, JSON, PDF)",
    Scope.WEBHOOKS_READ: "list webhook subscriptions and deliveries",
    Scope.WEBHOOKS_WRITE: "create, delete webhooks; redeliver",
    Scope.DETECT: "send webcam images to the seed-compatible /detect_faces/ (nothing to read)",
}

# OpenAPI tag -> the resource part of the scope.
RESOURCE_BY_TAG = {
    "exams": "exams",
    "candidates": "candidates",
    # Invitation e-mails and their wording belong with the roster they go to.
    "invitations": "candidates",
    "sessions": "sessions",
    "proctoring": "sessions",
    "violations": "violations",
    "recordings": "recordings",
    "reports": "reports",
    "webhooks": "webhooks",
}
# Tags whose routes need one scope whatever the method.
FIXED_SCOPE_BY_TAG = {"detection": Scope.DETECT}


def required_scope(tags: list[str], method: str) -> Scope | None:
    """The scope a route with these tags needs for this method; None: tokens are refused."""
    for tag in tags:
        if tag in FIXED_SCOPE_BY_TAG:
            return FIXED_SCOPE_BY_TAG[tag]
        resource = RESOURCE_BY_TAG.get(tag)
        if resource is None:
            continue
        action = "read" if method.upper() in READ_METHODS else "write"
        try:
            return Scope(f"{resource}:{action}")
        except ValueError:
            return None
    return None
