"""The pending deep linking request a picker page carries (domains/lti/deep_linking.py): it
comes back as it was sent, and not when it is changed, signed with another key or too old;
and the exam presets it offers are valid policies that differ where they say."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from openproctor.db import utcnow
from openproctor.domains.exams.policy import Admission, ExamPolicy
from openproctor.domains.exams.presets import PRESETS, PRESETS_BY_NAME
from openproctor.domains.lti.deep_linking import PENDING_LIFETIME, PendingDeepLink, return_origin
from openproctor.domains.lti.launch import LaunchError

SECRET = "a-secret-key-for-tests-only"


def pending(**changes: object) -> PendingDeepLink:
    fields: dict[str, object] = {
        "platform_id": uuid.uuid4(),
        "user_id": uuid.uuid4(),
        "deployment_id": "deployment-1",
        "return_url": "https://lms.example.edu/deep-link-return?course=7",
        "data": {"opaque": ["kept", 1]},
        "expires_at": utcnow().replace(microsecond=0) + PENDING_LIFETIME,
    }
    return PendingDeepLink(**{**fields, **changes})  # type: ignore[arg-type]


def test_a_sealed_request_comes_back_as_it_was() -> None:
    request = pending()
    assert PendingDeepLink.unseal(request.seal(SECRET), secret_key=SECRET, now=utcnow()) == request


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (lambda sealed: sealed[:10] + ("A" if sealed[10] != "A" else "B") + sealed[11:], "not one"),
        (lambda sealed: pending().seal("another-secret"), "not one"),
        (lambda sealed: "no-signature-at-all", "not one"),
    ],
)
def test_a_changed_or_foreign_request_is_refused(token: object, message: str) -> None:
    sealed = pending().seal(SECRET)
    with pytest.raises(LaunchError, match=message) as refused:
        PendingDeepLink.unseal(token(sealed), secret_key=SECRET, now=utcnow())  # type: ignore[operator]
    assert refused.value.status_code == 403


def test_a_request_open_too_long_is_refused() -> None:
    sealed = pending(expires_at=utcnow() - timedelta(seconds=1)).seal(SECRET)
    with pytest.raises(LaunchError, match="open too long"):
        PendingDeepLink.unseal(sealed, secret_key=SECRET, now=utcnow())


def test_presets_are_valid_policies_that_differ_where_they_say() -> None:
    defaults = ExamPolicy()
    assert PRESETS_BY_NAME["standard"].policy() == defaults
    strict = PRESETS_BY_NAME["strict"].policy()
    assert (strict.id_check, strict.room_scan, strict.record_screen) == (True, True, True)
    assert strict.admission is Admission.PROCTOR
    assert PRESETS_BY_NAME["light"].policy().require_fullscreen is False
    assert len({preset.name for preset in PRESETS}) == len(PRESETS)


def test_only_a_plain_return_origin_goes_into_the_page_policy() -> None:
    assert return_origin("https://lms.example.edu:8443/dl?x=1") == "https://lms.example.edu:8443"
    for address in (
        "https://lms.example.edu;script-src%20*/x",
        "https://lms.example.edu' 'unsafe-inline/x",
        "https://user@lms.example.edu/x",
        "javascript:alert(1)",
    ):
        with pytest.raises(LaunchError, match="cannot be used"):
            return_origin(address)
