"""Projections: folded in the append transaction, readable as of any seq or time, and reproduced
exactly by replay (invariant 3)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import psycopg
import pytest
from sqlalchemy import Column, Integer, Text
from sqlalchemy.ext.asyncio import AsyncEngine

from audit.trail import ACCESS_PROJECTIONS
from ledger.base.clock import VN_TZ, ManualClock
from ledger.format.envelope import Event, NewEvent
from ledger.log import store
from ledger.log.append import Ledger
from ledger.log.projection import Projection, ProjectionWriter, history, read
from ledger.log.replay import replay
from ledger.log.schema import projection_table
from ledger.school.readmodels import PROJECTIONS
from ledger.school.schools.commands import registration
from ledger.school.schools.tables import schools
from tests.support.helpers import ADMIN, hocba

# A projection exercising what the framework offers: composite keys, removal, two writes in one event.
tallies = projection_table(
    "test_tallies", keys=[Column("kind", Text), Column("item", Integer)], values=[Column("total", Integer)]
)


async def _on_tally(writer: ProjectionWriter, event: Event) -> None:
    p = event.payload
    current = await writer.get(tallies, kind=p["kind"], item=p["item"])
    total = (current["total"] if current else 0) + p["add"]
    await writer.put(tallies, {"kind": p["kind"], "item": p["item"]}, {"total": total})
    if p.get("twice"):
        await writer.put(tallies, {"kind": p["kind"], "item": p["item"]}, {"total": total * 10})


async def _on_untally(writer: ProjectionWriter, event: Event) -> None:
    await writer.remove(tallies, kind=event.payload["kind"], item=event.payload["item"])


TALLIES = Projection("test_tallies", (tallies,), {"test.tally": _on_tally, "test.untally": _on_untally})
ALL = (*PROJECTIONS, TALLIES)


@pytest.fixture(scope="module")
def tally_table(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS hocba_read.test_tallies (school_id text NOT NULL, kind text,"
            " item integer, total integer, seq_from bigint NOT NULL, seq_to bigint,"
            " CONSTRAINT test_tallies_pkey PRIMARY KEY (school_id, kind, item, seq_from))"
        )
        conn.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS test_tallies_current ON hocba_read.test_tallies"
            " (school_id, kind, item) WHERE seq_to IS NULL"
        )
        conn.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON hocba_read.test_tallies TO hocba_app")
        conn.execute("GRANT SELECT ON hocba_read.test_tallies TO hocba_auditor")


def tally(kind: str, item: int, add: int, twice: bool = False) -> NewEvent:
    return NewEvent("test.tally", {"kind": kind, "item": item, "add": add, "twice": twice}, ADMIN)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2025, 9, 5, 7, 0, tzinfo=VN_TZ))


@pytest.fixture
def full_ledger(app_engine: AsyncEngine, tally_table: None, clock: ManualClock) -> Ledger:
    return Ledger(app_engine, ALL, clock=clock)


async def test_projection_is_current_after_append_and_readable_as_of_any_seq(
    full_ledger: Ledger, school: str, clock: ManualClock
) -> None:
    await full_ledger.append(school, [registration("Trường THCS Khánh Phú", ADMIN, province="Ninh Bình")])
    await full_ledger.append(school, [tally("a", 1, 5), tally("a", 2, 1)])  # seq 2, 3
    clock.advance(timedelta(days=1))
    await full_ledger.append(school, [tally("a", 1, 2)])  # seq 4
    await full_ledger.append(school, [tally("b", 1, 1, twice=True)])  # seq 5: 1 then 10 within one event
    clock.advance(timedelta(days=1))
    await full_ledger.append(school, [NewEvent("test.untally", {"kind": "a", "item": 2}, ADMIN)])  # seq 6

    async with full_ledger.engine.connect() as conn:
        assert await read(conn, tallies, school) == [
            {"kind": "a", "item": 1, "total": 7},
            {"kind": "b", "item": 1, "total": 10},
        ]
        assert await read(conn, tallies, school, as_of=3) == [
            {"kind": "a", "item": 1, "total": 5},
            {"kind": "a", "item": 2, "total": 1},
        ]
        assert await read(conn, tallies, school, as_of=1) == []
        versions = await history(conn, tallies, school, kind="a", item=1)
        assert [(v["total"], v["seq_from"], v["seq_to"]) for v in versions] == [(5, 2, 4), (7, 4, None)]
        # As of noon on the second day: both events of that day (seq 4, 5), not the third day's seq 6.
        day_two = await store.seq_at_time(conn, school, datetime(2025, 9, 6, 12, 0, tzinfo=VN_TZ))
        assert day_two == 5
        assert await read(conn, schools, school) == [
            {"name": "Trường THCS Khánh Phú", "ministry_code": None, "province": "Ninh Bình", "address": None}
        ]


async def test_replay_reproduces_the_live_projections_exactly(
    full_ledger: Ledger, auditor_engine: AsyncEngine, school: str
) -> None:
    other = school + "-b"
    for name in (school, other):
        await full_ledger.append(name, [registration(f"Trường {name}", ADMIN)])
        await full_ledger.append(name, [tally("x", i % 3, i) for i in range(20)])
        await full_ledger.append(name, [registration(f"Trường {name} (đổi tên)", ADMIN)])
    for name in (school, None):
        report = await replay(auditor_engine, ALL, name)
        assert report.ok, report.to_json()
        assert {t.table for t in report.tables} == {t.name for p in ALL for t in p.tables}
    assert report.events >= 44


async def test_replay_detects_a_projection_edited_behind_the_ledger(
    full_ledger: Ledger, auditor_engine: AsyncEngine, school: str, superuser: psycopg.Connection
) -> None:
    await full_ledger.append(school, [tally("x", 1, 1), tally("x", 1, 2)])
    superuser.execute(
        "UPDATE hocba_read.test_tallies SET total = 100 WHERE school_id = %s AND seq_to IS NULL", (school,)
    )
    report = await replay(auditor_engine, ALL, school)
    assert not report.ok
    assert [t.table for t in report.tables if not t.equal] == ["test_tallies"]


async def test_hocba_replay_command(full_ledger: Ledger, env: dict[str, str], school: str) -> None:
    await full_ledger.append(school, [registration("Trường THCS Khánh Phú", ADMIN)])
    result = hocba("replay", "--school", school, "--json", env=env)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] is True
    tables = [t.name for p in (*PROJECTIONS, *ACCESS_PROJECTIONS) for t in p.tables]
    assert [t["table"] for t in doc["tables"]] == tables  # the access trail's read models too
