"""Appending: envelope, atomic batches, idempotency by event id, monotonic time."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from itertools import pairwise

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.app.db import APP_ROLE, create_engine
from ledger.base.clock import VN_TZ, ManualClock
from ledger.format.canonical import CanonicalError
from ledger.format.envelope import GENESIS_HASH, EnvelopeError, Event, NewEvent, event_hash
from ledger.log import store
from ledger.log.append import IdempotencyConflict, Ledger, SchoolSession
from ledger.school.readmodels import school_ledger
from tests.support.helpers import ADMIN, noted


async def test_batch_is_chained_and_decodes_back(ledger: Ledger, school: str) -> None:
    events = await ledger.append(school, noted(3))
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS_HASH
    for before, after in pairwise(events):
        assert after.prev_hash == before.hash
        assert after.hash == event_hash(before.hash, after.body)
    async with ledger.engine.connect() as conn:
        stored = await store.select_events(conn, school)
    assert stored == events
    assert stored[1].payload == {"n": 1}
    assert stored[1].recorded_at.utcoffset() == timedelta(hours=7)


async def test_retry_with_the_same_event_ids_appends_nothing(ledger: Ledger, school: str) -> None:
    batch = noted(3)
    first = await ledger.append(school, batch)
    again = await ledger.append(school, batch)
    assert again == first
    async with ledger.engine.connect() as conn:
        assert (await store.read_head(conn, school)).seq == 3


async def test_reused_event_id_with_other_content_is_refused(ledger: Ledger, school: str) -> None:
    [event] = await ledger.append(school, noted(1))
    clash = NewEvent("test.noted", {"n": 42}, ADMIN, event_id=event.event_id)
    with pytest.raises(IdempotencyConflict, match="other content"):
        await ledger.append(school, [clash])
    with pytest.raises(IdempotencyConflict, match="1 of 2"):
        await ledger.append(school, [NewEvent("test.noted", {"n": 0}, ADMIN, event_id=event.event_id), *noted(1)])
    twice = noted(1)[0]
    with pytest.raises(IdempotencyConflict, match="same event id twice"):
        await ledger.append(school, [twice, twice])


@pytest.mark.parametrize(
    ("event", "error", "message"),
    [
        (NewEvent("Bad Type", {}, ADMIN), EnvelopeError, "area.action"),
        (NewEvent("test.noted", {"score": 8.5}, ADMIN), CanonicalError, "decimals as strings"),
        (NewEvent("test.noted", {}, ADMIN.__class__("", "ADMIN")), EnvelopeError, "acting user"),
    ],
)
async def test_bad_events_are_refused_and_nothing_is_appended(
    ledger: Ledger, school: str, event: NewEvent, error: type[Exception], message: str
) -> None:
    await ledger.append(school, noted(1))
    with pytest.raises(error, match=message):
        await ledger.append(school, [*noted(2), event])  # the good events of the batch are not kept either
    async with ledger.engine.connect() as conn:
        assert (await store.read_head(conn, school)).seq == 1


async def test_bad_school_id_is_refused(ledger: Ledger) -> None:
    with pytest.raises(EnvelopeError, match="lowercase letters"):
        await ledger.append("Khanh Phu!", noted(1))


async def test_recorded_time_never_goes_backwards(app_engine: AsyncEngine, school: str) -> None:
    clock = ManualClock(datetime(2026, 9, 5, 7, 30, tzinfo=VN_TZ))
    ledger = school_ledger(app_engine, clock=clock)
    [first] = await ledger.append(school, noted(1))
    clock.set(datetime(2026, 9, 1, 7, 30, tzinfo=VN_TZ))  # the server clock jumps back
    [second] = await ledger.append(school, noted(1))
    assert first.recorded_at == second.recorded_at == datetime(2026, 9, 5, 7, 30, tzinfo=VN_TZ)


async def test_unknown_school_has_an_empty_head(ledger: Ledger) -> None:
    async with ledger.engine.connect() as conn:
        head = await store.read_head(conn, f"t-{uuid.uuid4().hex[:8]}")
    assert (head.seq, head.hash) == (0, GENESIS_HASH)


async def test_combined_commands_commit_together_but_fail_alone(ledger: Ledger, school: str) -> None:
    """Commands queued while a transaction runs share the next one; a refused command rolls back
    to its savepoint and the others are kept."""
    gate = asyncio.Event()

    async def first(session: SchoolSession) -> list[Event]:
        events = await session.append(noted(1))
        await gate.wait()
        return events

    async def refused(session: SchoolSession) -> None:
        await session.append(noted(2))
        raise PermissionError("refused by a rule")

    running = asyncio.create_task(ledger.execute(school, first))
    await asyncio.sleep(0.05)
    queued = [
        asyncio.create_task(ledger.append(school, noted(1, start=10))),
        asyncio.create_task(ledger.execute(school, refused)),
        asyncio.create_task(ledger.append(school, noted(1, start=20))),
    ]
    await asyncio.sleep(0.05)
    gate.set()
    assert [e.seq for e in await running] == [1]
    second, failure, third = await asyncio.gather(*queued, return_exceptions=True)
    assert isinstance(failure, PermissionError)
    assert [e.seq for e in second] == [2]  # type: ignore[union-attr]
    assert [e.seq for e in third] == [3]  # type: ignore[union-attr]
    async with ledger.engine.connect() as conn:
        stored = await store.select_events(conn, school)
    assert [(e.seq, e.payload["n"]) for e in stored] == [(1, 0), (2, 10), (3, 20)]


@pytest.mark.parametrize("pooled", [1, 3])
async def test_an_append_on_connections_that_died_in_the_pool_is_run_once_more_on_a_fresh_one(
    database_url: str, superuser: psycopg.Connection, school: str, pooled: int
) -> None:
    """The pool does not ping a connection at checkout: the server restarted (here: every backend of
    the pool ended) is found by the first statement, and the append runs again on a new connection."""
    engine = create_engine(database_url, APP_ROLE, pool_size=pooled, max_overflow=0)
    try:
        ledger = school_ledger(engine)
        await asyncio.gather(*(ledger.append(f"{school}-{n}", noted(1)) for n in range(pooled)))
        backends = set()
        for _ in range(pooled):
            async with engine.connect() as conn:
                backends.add((await conn.exec_driver_sql("SELECT pg_backend_pid()")).scalar_one())
        for pid in backends:
            superuser.execute("SELECT pg_terminate_backend(%s)", (pid,))
        [event] = await ledger.append(school, noted(1))
        assert event.seq == 1
    finally:
        await engine.dispose()
