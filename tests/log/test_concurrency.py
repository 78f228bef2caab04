"""Invariant 2: per school, seq is gapless and each hash covers its predecessor's, whatever the number
of concurrent writers; schools never wait on each other."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.app.runtime import Runtime
from ledger.log.append import Ledger, SchoolSession
from ledger.log.verify import verify
from ledger.school.readmodels import school_ledger
from tests.support.helpers import noted

WRITERS, EVENTS_EACH = 32, 200


@pytest.mark.slow
@pytest.mark.parametrize("processes", ["one ledger per writer", "one shared ledger"])
async def test_32_concurrent_writers_never_fork_or_gap_the_chain(
    app_engine: AsyncEngine, runtime: Runtime, school: str, superuser: psycopg.Connection, processes: str
) -> None:
    # One ledger per writer: 32 transactions contend for the school's lock in PostgreSQL, as 32
    # service processes would. One shared ledger: the writers' commands are combined (group commit).
    shared = school_ledger(app_engine)
    ledgers = [shared if processes == "one shared ledger" else school_ledger(app_engine) for _ in range(WRITERS)]

    async def writer(index: int) -> list[int]:
        seqs = []
        for i in range(0, EVENTS_EACH, 4):  # small transactions, so writers interleave a lot
            events = await ledgers[index].append(school, noted(4, start=index * 1000 + i))
            seqs += [e.seq for e in events]
        return seqs

    results = await asyncio.gather(*(writer(i) for i in range(WRITERS)))
    total = WRITERS * EVENTS_EACH
    assert sorted(seq for seqs in results for seq in seqs) == list(range(1, total + 1))

    stats = superuser.execute(
        "SELECT count(*), min(seq), max(seq), count(DISTINCT prev_hash), count(DISTINCT hash)"
        " FROM hocba.events WHERE school_id = %s",
        (school,),
    ).fetchone()
    assert stats == (total, 1, total, total, total)  # no two events share a predecessor: no fork

    await runtime.checkpoint(school, clock=shared.clock)
    report = await verify(runtime.engine("hocba_auditor"), runtime.trusted_roots(), [school])
    assert report.ok, report.to_json()
    assert report.schools[0].events == total


async def test_a_school_holding_its_lock_does_not_block_another_school(ledger: Ledger) -> None:
    busy, free = "t-busy-" + str(time.time_ns())[-8:], "t-free-" + str(time.time_ns())[-8:]
    release = asyncio.Event()

    async def hold(session: SchoolSession) -> None:
        await session.append(noted(1))
        await release.wait()

    holder = asyncio.create_task(school_ledger(ledger.engine).execute(busy, hold))
    await asyncio.sleep(0.2)
    try:
        started = time.perf_counter()
        await asyncio.wait_for(ledger.append(free, noted(3)), timeout=5)
        assert time.perf_counter() - started < 2
        # The busy school's own writers do wait: the lock is real. A caller that gives up does not
        # withdraw its command, which lands once the lock is free.
        waiting = noted(1)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ledger.append(busy, waiting), timeout=0.5)
    finally:
        release.set()
        await holder
    assert [e.seq for e in await ledger.append(busy, waiting)] == [2]  # the retry finds it recorded
