"""Projections: folded in the append transaction, readable as of any seq or time, and reproduced
exactly by replay (invariant 3)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import ARRAY, Column, Date, Integer, Text, Uuid, event, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
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

# Keys and values of other types: a uuid and a date as the key, JSON and an array of text as values.
marks = projection_table(
    "test_marks",
    keys=[Column("mark_id", Uuid), Column("day", Date)],
    values=[Column("note", JSONB), Column("tags", ARRAY(Text))],
)


async def _on_mark(writer: ProjectionWriter, event: Event) -> None:
    p = event.payload
    key = {"mark_id": uuid.UUID(p["mark"]), "day": date.fromisoformat(p["day"])}
    if p.get("remove"):
        await writer.remove(marks, **key)
    else:
        await writer.put(marks, key, {"note": p.get("note"), "tags": p.get("tags")})


MARKS = Projection("test_marks", (marks,), {"test.mark": _on_mark})


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
        conn.execute(
            "CREATE TABLE IF NOT EXISTS hocba_read.test_marks (school_id text NOT NULL, mark_id uuid NOT NULL,"
            " day date NOT NULL, note jsonb, tags text[], seq_from bigint NOT NULL, seq_to bigint,"
            " CONSTRAINT test_marks_pkey PRIMARY KEY (school_id, mark_id, day, seq_from))"
        )
        conn.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS test_marks_current ON hocba_read.test_marks"
            " (school_id, mark_id, day) WHERE seq_to IS NULL"
        )
        conn.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON hocba_read.test_marks TO hocba_app")


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
            {
                "name": "Trường THCS Khánh Phú",
                "ministry_code": None,
                "province": "Ninh Bình",
                "address": None,
                "district": None,
            }
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


def mark(mark_id: uuid.UUID, day: str, note: Any = None, tags: list[str] | None = None) -> NewEvent:
    return NewEvent("test.mark", {"mark": str(mark_id), "day": day, "note": note, "tags": tags}, ADMIN)


def unmark(mark_id: uuid.UUID, day: str) -> NewEvent:
    return NewEvent("test.mark", {"mark": str(mark_id), "day": day, "remove": True}, ADMIN)


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every statement PostgreSQL runs for the engines of this process while the block runs (an
    executemany runs its statement once per parameter set)."""
    sent: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        sent.extend([statement] * (len(parameters) if executemany else 1))

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(Engine, "before_cursor_execute", count)


async def _versions(engine: AsyncEngine, table: str, school: str) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(f"SELECT * FROM hocba_read.{table} WHERE school_id = :school ORDER BY 2, 3, seq_from"),
            {"school": school},
        )
        return [tuple(row)[1:] for row in rows]  # without school_id


async def test_a_batch_writes_exactly_the_versions_of_its_events_applied_one_by_one(
    app_engine: AsyncEngine, tally_table: None, clock: ManualClock, school: str
) -> None:
    ledger = Ledger(app_engine, (TALLIES, MARKS), clock=clock)
    first, second = uuid.uuid4(), uuid.uuid4()
    before = [tally("a", 1, 1), tally("a", 2, 2), tally("k", 3, 3), mark(first, "2025-09-05", {"n": 1}, ["x"])]
    batch = [
        *(tally("k", i, i) for i in range(40)),  # many keys, k/3 already current
        tally("a", 1, 5),  # a key current before the batch, written twice in it
        tally("b", 1, 1, twice=True),  # two writes by one event
        tally("a", 1, 7),
        NewEvent("test.untally", {"kind": "a", "item": 2}, ADMIN),  # removed
        NewEvent("test.untally", {"kind": "k", "item": 5}, ADMIN),  # removed, then written again
        tally("k", 5, 50),
        NewEvent("test.untally", {"kind": "z", "item": 9}, ADMIN),  # removing a key that has no row
        mark(first, "2025-09-05", "a text", ["y", "z"]),
        mark(second, "2025-09-06"),  # no note (JSON null) and no tags (NULL)
        unmark(first, "2025-09-05"),
        mark(first, "2025-09-05", [1, {"deep": None}], []),  # re-added, with an empty array
        mark(second, "2025-09-07", None, ["a", "b,c", 'd"e']),
    ]
    one_by_one = school + "-1"
    for name in (school, one_by_one):
        for new in before:
            await ledger.append(name, [new])
    with statements() as sent:
        await ledger.append(school, batch)
    for new in batch:
        await ledger.append(one_by_one, [new.__class__(new.type, new.payload, new.actor)])

    for table in ("test_tallies", "test_marks"):
        versions = await _versions(app_engine, table, school)
        assert versions == await _versions(app_engine, table, one_by_one)
        # Two writes per table for the whole batch: close the current versions, insert the new ones.
        writes = [s for s in sent if s.lstrip().startswith(("UPDATE", "INSERT")) and f"hocba_read.{table} " in s]
        assert len(writes) == 2, writes
    tallied = await _versions(app_engine, "test_tallies", school)
    # (kind, item, total, seq_from, seq_to); seqs 1-4 before the batch, 5-44 the keys k/0-39.
    assert [v for v in tallied if v[0] == "a"] == [
        ("a", 1, 1, 1, 45),
        ("a", 1, 6, 45, 47),
        ("a", 1, 13, 47, None),
        ("a", 2, 2, 2, 48),
    ]
    assert [v for v in tallied if v[:2] in (("k", 3), ("k", 5))] == [
        ("k", 3, 3, 3, 8),
        ("k", 3, 6, 8, None),
        ("k", 5, 5, 10, 49),
        ("k", 5, 50, 50, None),
    ]
    assert not [v for v in tallied if v[0] == "z"]
    async with app_engine.connect() as conn:
        expected = [
            {"mark_id": first, "day": date(2025, 9, 5), "note": [1, {"deep": None}], "tags": []},
            {"mark_id": second, "day": date(2025, 9, 6), "note": None, "tags": None},
            {"mark_id": second, "day": date(2025, 9, 7), "note": None, "tags": ["a", "b,c", 'd"e']},
        ]
        assert await read(conn, marks, school) == sorted(expected, key=lambda row: (row["mark_id"], row["day"]))
        assert (
            await conn.scalar(
                text("SELECT count(*) FROM hocba_read.test_marks WHERE school_id = :s AND note = 'null'::jsonb"),
                {"s": school},
            )
            == 2
        )  # a missing note is JSON null, as a row written alone stores it
