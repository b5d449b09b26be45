"""The runtime registry: what nodes tell each other on the hub topic (watches, claims,
assignments) and what the candidate socket changes. Two registries on one in-process bus are
two nodes; only loading and assignment read the database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from openproctor.bus.local import LocalBus, Subscription, exam_topic, session_topic
from openproctor.domains.exams.policy import ExamPolicy
from openproctor.domains.sessions.models import SessionState
from openproctor.domains.users.models import Role
from openproctor.domains.violations.models import Violation
from openproctor.live.limits import MEDIA_BURST, OPEN_BURST
from openproctor.live.protocol import MediaKind
from openproctor.live.registry import WATCH_TTL_S, Budget, Registry, node_of
from openproctor.live.runtime import SessionRuntime
from openproctor.rules.engine import SessionRules
from openproctor.rules.prompts import SessionPrompts
from tests.conftest import Factory
from tests.live.clients import running_session

NO_DATABASE: Any = None  # these registries never reach it


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def runtime(exam_id: uuid.UUID | None = None) -> SessionRuntime:
    policy = ExamPolicy()
    return SessionRuntime(
        session_id=uuid.uuid4(),
        candidate_id=uuid.uuid4(),
        exam_id=exam_id or uuid.uuid4(),
        proctor_id=None,
        name="Ada",
        email="ada@example.com",
        policy=policy,
        state=SessionState.RUNNING,
        rules=SessionRules(policy),
        prompts=SessionPrompts(policy),
    )


@asynccontextmanager
async def nodes(
    count: int, session_factory: Any = NO_DATABASE, clock: Clock | None = None
) -> AsyncIterator[tuple[list[Registry], list[SessionRuntime]]]:
    """`count` listening registries on one bus; the runtimes other nodes' claims took away."""
    bus = LocalBus()
    bus.bind(asyncio.get_running_loop())
    registries = [
        Registry(session_factory=session_factory, bus=bus, clock=clock or Clock())
        for _ in range(count)
    ]
    claimed: list[SessionRuntime] = []
    listeners = []
    for registry in registries:
        listening = asyncio.Event()
        listener = registry.listen(listening, on_state=lambda *_: None, on_claimed=claimed.append)
        listeners.append(asyncio.create_task(listener))
        await listening.wait()
    try:
        yield registries, claimed
    finally:
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)


async def settle() -> None:
    for _ in range(5):  # the bus delivers on the loop; listeners run next
        await asyncio.sleep(0)


def drain(subscription: Subscription) -> list[dict[str, Any]]:
    items = []
    while not subscription.queue.empty():
        message = subscription.queue.get_nowait()
        assert isinstance(message, dict)
        items.append(message)
    return items


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())  # type: ignore[arg-type]


def test_a_watch_reaches_every_node_and_ends_with_unwatch() -> None:
    async def scenario() -> None:
        async with nodes(2) as ((a, b), _):
            first, second = uuid.uuid4(), uuid.uuid4()
            watcher = a.new_watcher()
            a.watch(watcher, first)
            await settle()
            assert a.watched(first)
            assert b.watched(first)
            a.watch(watcher, second)  # another candidate's detail view
            await settle()
            assert not b.watched(first)
            assert b.watched(second)
            a.watch(watcher, None)
            await settle()
            assert not a.watched(second)
            assert not b.watched(second)

    run(scenario)


def test_two_watchers_of_one_session_each_count() -> None:
    async def scenario() -> None:
        async with nodes(2) as ((a, b), _):
            session_id = uuid.uuid4()
            on_a, on_b = a.new_watcher(), b.new_watcher()
            assert on_a != on_b
            a.watch(on_a, session_id)
            b.watch(on_b, session_id)
            a.watch(on_a, None)
            await settle()
            assert a.watched(session_id)
            assert b.watched(session_id)

    run(scenario)


def test_watches_lapse_unless_renewed() -> None:
    async def scenario() -> None:
        clock = Clock()
        async with nodes(2, clock=clock) as ((a, b), _):
            session_id = uuid.uuid4()
            a.watch(a.new_watcher(), session_id)
            await settle()
            clock.now += WATCH_TTL_S - 1
            a.renew()  # the watching node says so again
            await settle()
            clock.now += WATCH_TTL_S - 1
            assert b.watched(session_id)
            clock.now += 2  # the watching node died: nobody renews
            assert not b.watched(session_id)
            b.renew()  # forgets the lapsed watch; has none of its own to send
            await settle()
            assert not b.watched(session_id)

    run(scenario)


def test_a_staff_socket_lives_while_its_node_says_so_and_lapses_after() -> None:
    """The viewers of a node that died without its pages' leave lapse (live/signalling.py)."""

    async def scenario() -> None:
        clock = Clock()
        async with nodes(2, clock=clock) as ((a, b), _):
            on_a, on_b = a.new_watcher(), b.new_watcher()
            assert node_of(on_a) == a.node_id
            assert not b.node_alive(on_a)  # never heard of
            b.heard_from(on_a)  # its join arrived
            assert b.node_alive(on_a)
            clock.now += WATCH_TTL_S - 1
            a.renew()  # a says it is alive
            await settle()
            clock.now += WATCH_TTL_S - 1
            assert b.node_alive(on_a)
            clock.now += 2  # a died: it says nothing more
            assert not b.node_alive(on_a)
            assert b.node_alive(on_b)  # b's own sockets leave when they close

    run(scenario)


def test_a_node_that_starts_later_learns_of_a_watch_at_its_renewal() -> None:
    async def scenario() -> None:
        bus = LocalBus()
        bus.bind(asyncio.get_running_loop())
        a, late = (Registry(session_factory=NO_DATABASE, bus=bus) for _ in range(2))
        session_id = uuid.uuid4()
        a.watch(a.new_watcher(), session_id)  # before the late node listens
        await settle()
        listening = asyncio.Event()
        listener = asyncio.create_task(
            late.listen(listening, on_state=lambda *_: None, on_claimed=lambda _: None)
        )
        await listening.wait()
        assert not late.watched(session_id)
        a.renew()
        await settle()
        assert late.watched(session_id)
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)

    run(scenario)


def test_a_claim_makes_the_other_node_let_go_and_close_its_socket() -> None:
    async def scenario() -> None:
        async with nodes(2) as ((a, b), claimed):
            held = runtime()
            a.runtimes[held.session_id] = held  # as load() leaves it
            first = a.connect(held)
            await settle()
            async with a.bus.subscribe(session_topic(held.session_id)) as candidate:
                moved = runtime(held.exam_id)
                moved.session_id = held.session_id
                b.runtimes[moved.session_id] = moved
                b.connect(moved)  # the candidate reconnected to node B
                await settle()
                assert claimed == [held]  # node A's copy only
                replaced = [m for m in drain(candidate) if m["type"] == "_replaced"]
                assert replaced == [{"type": "_replaced", "socket": first, "node": a.node_id}]

    run(scenario)


def test_connect_and_disconnect_tell_the_wall() -> None:
    async def scenario() -> None:
        async with nodes(1) as ((a,), _):
            held = runtime()
            async with a.bus.subscribe(exam_topic(held.exam_id)) as wall:
                first = a.connect(held)
                second = a.connect(held)  # a reload: a newer socket
                a.disconnect(held, first, page_closed=True)  # the old one closing: nothing
                assert held.connected
                assert not held.page_closed
                a.disconnect(held, second, page_closed=False)
                assert not held.connected
                assert held.link_since is not None
                assert not held.page_closed
                tiles = [m["candidate"]["connected"] for m in drain(wall)]
                assert tiles == [True, True, False]

    run(scenario)


def test_sequence_numbers_must_move_on_per_kind() -> None:
    registry = Registry(session_factory=NO_DATABASE, bus=LocalBus())
    held = runtime()
    assert registry.accept_seq(held, MediaKind.FRAME, 0)
    assert registry.accept_seq(held, MediaKind.AUDIO, 0)
    assert registry.accept_seq(held, MediaKind.FRAME, 5)
    assert not registry.accept_seq(held, MediaKind.FRAME, 5)
    assert held.counters.rejected == 1


def test_budgets_are_per_session() -> None:
    registry = Registry(session_factory=NO_DATABASE, bus=LocalBus())
    held = runtime()
    opens = [registry.admit(held, Budget.OPEN) for _ in range(int(OPEN_BURST) + 1)]
    assert opens.count(True) == OPEN_BURST
    assert opens[-1] is False
    media = [registry.admit(held, Budget.MEDIA) for _ in range(int(MEDIA_BURST) + 1)]
    assert media[-1] is False
    assert registry.admit(runtime(), Budget.MEDIA)  # another session has its own


def test_loading_reads_once_and_ends_stale_violations(
    session_factory: sessionmaker[Session], factory: Factory
) -> None:
    exam = factory.exam()
    session = running_session(factory, factory.candidate(exam))
    stale = factory.db.merge(
        Violation(
            session_id=session.id,
            kind="no_face",
            severity="low",
            started_at=session.started_at,
            score=5,
        )
    )
    factory.db.commit()
    prepared: list[SessionRuntime] = []

    async def scenario() -> None:
        registry = Registry(session_factory=session_factory, bus=LocalBus())
        loaded = await asyncio.gather(
            *(registry.load(session.id, prepared.append) for _ in range(3))
        )
        assert loaded[0] is loaded[1] is loaded[2] is prepared[0]
        assert registry.get(session.id) is loaded[0]
        assert len(prepared) == 1

    run(scenario)
    factory.db.refresh(stale)
    assert stale.ended_at is not None


def test_an_assignment_moves_the_tile_and_the_live_session_follows(
    session_factory: sessionmaker[Session], factory: Factory
) -> None:
    before, after = factory.user(Role.PROCTOR), factory.user(Role.PROCTOR, "p2@example.com")
    exam = factory.exam()
    candidate = factory.candidate(exam, before)
    session = running_session(factory, candidate)

    async def scenario() -> None:
        async with nodes(2, session_factory) as ((a, b), _):
            held = await b.load(session.id, lambda _: None)
            async with a.bus.subscribe(exam_topic(exam.id)) as wall:
                await asyncio.to_thread(a.candidate_assigned, candidate.id, before.id, after.id)
                await settle()
                told = drain(wall)
            assert held.proctor_id == after.id  # node B sends to the new proctor from now on
            assert [(m["type"], m["proctor_id"]) for m in told] == [
                ("unassigned", str(before.id)),
                ("assigned", str(after.id)),
                ("candidate", str(after.id)),
            ]
            assert told[1]["candidate"]["connected"] is False
            assert told[2]["candidate"]["session_id"] == str(session.id)

    run(scenario)
