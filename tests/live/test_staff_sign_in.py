"""Staff sockets end with their sign-in, on a real server: signing out, an admin deactivating
the account or changing its role or password close an open proctor socket at once (on another
web node too, through Redis), and an expired sign-in closes at the next check."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import httpx2
import pytest
from sqlalchemy import update

from openproctor.db import utcnow
from openproctor.domains.exams.models import Exam
from openproctor.domains.users.models import Role, StaffSession, User
from openproctor.live.protocol import CloseCode
from openproctor.security import hash_password
from openproctor.settings import Settings
from tests.conftest import PASSWORD, Factory, serving
from tests.live.clients import Proctor, close_of, proctor_socket
from tests.servers import redis_server

# Announced changes must not wait for the periodic check (30 s by default).
AT_ONCE_S = 5.0


def _watched(factory: Factory) -> tuple[User, User, Exam]:
    admin = factory.user(Role.ADMIN)
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam()
    factory.candidate(exam, proctor)
    return admin, proctor, exam


def _closed_by(
    base_url: str, proctor: Proctor, exam: Exam, end: Callable[[], None], within: float
) -> tuple[int, str, float]:
    """Opens the proctor's socket, runs `end`, and returns how the socket closed and when."""

    async def scenario() -> tuple[int, str, float]:
        async with proctor_socket(proctor, exam.id) as watching:
            await watching.wait_for(lambda e: e["type"] == "snapshot")
            started = time.monotonic()
            await asyncio.to_thread(end)
            assert watching.socket is not None
            try:
                code, reason = await asyncio.wait_for(close_of(watching.socket, within), within)
            except TimeoutError:
                raise AssertionError(f"the socket was still open after {within} s") from None
            return code, reason, time.monotonic() - started

    return asyncio.run(scenario())


def test_signing_out_closes_the_proctor_socket_with_the_reason(
    live_server: str, factory: Factory
) -> None:
    _, proctor_user, exam = _watched(factory)
    proctor = Proctor(live_server, proctor_user)

    def sign_out() -> None:
        assert proctor.post("/api/v1/auth/logout").status_code == 204

    code, reason, _ = _closed_by(live_server, proctor, exam, sign_out, AT_ONCE_S)
    assert (code, reason) == (
        CloseCode.SIGNED_OUT,
        "You were signed out: the sign-in was ended by a sign-out",
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"role": "reviewer"}, "You were signed out: your role was changed to reviewer"),
        ({"password": "a brand new passphrase"}, "You were signed out: your password was changed"),
        ({"is_active": False}, "You were signed out: your account was deactivated"),
    ],
)
def test_an_admin_changing_the_account_closes_its_proctor_socket(
    live_server: str, factory: Factory, change: dict[str, object], reason: str
) -> None:
    admin_user, proctor_user, exam = _watched(factory)
    admin, proctor = Proctor(live_server, admin_user), Proctor(live_server, proctor_user)

    def update_account() -> None:
        response = admin.patch(f"/api/v1/users/{proctor_user.id}", change)
        assert response.status_code == 200, response.text

    assert _closed_by(live_server, proctor, exam, update_account, AT_ONCE_S)[:2] == (
        CloseCode.SIGNED_OUT,
        reason,
    )
    # The sign-in ended for REST too: the cookie no longer opens anything.
    assert proctor.get("/api/v1/auth/me").status_code == 401


def test_deactivation_on_the_admin_page_closes_the_proctor_socket(
    live_server: str, factory: Factory
) -> None:
    admin_user, proctor_user, exam = _watched(factory)
    admin, proctor = Proctor(live_server, admin_user), Proctor(live_server, proctor_user)

    def deactivate() -> None:
        assert admin.post(f"/admin/staff/{proctor_user.id}/deactivate").status_code == 303

    assert _closed_by(live_server, proctor, exam, deactivate, AT_ONCE_S)[:2] == (
        CloseCode.SIGNED_OUT,
        "You were signed out: your account was deactivated",
    )


def test_a_password_reset_closes_the_socket_and_a_temporary_password_opens_no_wall(
    live_server: str, factory: Factory
) -> None:
    admin_user, proctor_user, exam = _watched(factory)
    admin, proctor = Proctor(live_server, admin_user), Proctor(live_server, proctor_user)

    def reset() -> None:
        assert admin.post(f"/api/v1/users/{proctor_user.id}/password-reset").status_code == 200

    assert _closed_by(live_server, proctor, exam, reset, AT_ONCE_S)[:2] == (
        CloseCode.SIGNED_OUT,
        "You were signed out: your password was changed",
    )
    # Signed in again while still owing their own password (the temporary one swapped for the
    # test's, which Proctor signs in with): the wall's socket refuses them like the pages do.
    factory.db.execute(
        update(User).where(User.id == proctor_user.id).values(password_hash=hash_password(PASSWORD))
    )
    factory.db.commit()
    again = Proctor(live_server, proctor_user)

    async def connect() -> tuple[int, str]:
        async with proctor_socket(again, exam.id) as refused:
            assert refused.socket is not None
            return await close_of(refused.socket)

    assert asyncio.run(connect()) == (CloseCode.FORBIDDEN, "choose your own password first")


def test_an_expired_sign_in_closes_within_the_check_interval(
    settings: Settings, factory: Factory
) -> None:
    _, proctor_user, exam = _watched(factory)
    checked = settings.model_copy(update={"staff_session_check_seconds": 0.5})
    with serving(checked) as base_url:
        proctor = Proctor(base_url, proctor_user)

        def expire() -> None:
            # As if the sign-in had been made session_hours ago.
            factory.db.execute(update(StaffSession).values(expires_at=utcnow()))
            factory.db.commit()

        code, reason, took = _closed_by(base_url, proctor, exam, expire, AT_ONCE_S)
    assert (code, reason) == (CloseCode.SIGNED_OUT, "You were signed out: your sign-in expired")
    assert took < 0.5 + 1.0  # the interval, plus a query and the close handshake


@pytest.fixture
def redis_url() -> Iterator[str]:
    with redis_server() as server:
        yield server.url


def test_signing_out_on_one_node_closes_the_socket_held_by_another(
    settings: Settings, redis_url: str, factory: Factory
) -> None:
    _, proctor_user, exam = _watched(factory)
    scaled = settings.model_copy(update={"redis_url": redis_url})
    with serving(scaled) as node_a, serving(scaled) as node_b:
        proctor = Proctor(node_b, proctor_user)

        def sign_out_on_a() -> None:
            with httpx2.Client(base_url=node_a, cookies=proctor.cookies) as http:
                response = http.post("/api/v1/auth/logout", headers={"X-CSRF-Token": proctor.csrf})
                assert response.status_code == 204

        code, reason, _ = _closed_by(node_b, proctor, exam, sign_out_on_a, AT_ONCE_S)
    assert (code, reason) == (
        CloseCode.SIGNED_OUT,
        "You were signed out: the sign-in was ended by a sign-out",
    )
