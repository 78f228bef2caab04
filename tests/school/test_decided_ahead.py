"""Data entry decides ahead of the school's lock, on a snapshot, and the append path still enforces
every rule: a deadline that passes or a lock that closes between the decision and the append refuses
the write, and of two writes of one cell decided at the same moment only one lands."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.app.demo import ADMIN, PRINCIPAL, DemoSchool, build_demo_school
from ledger.base.clock import VN_TZ
from ledger.base.errors import Refused
from ledger.log.append import Decision, SchoolSession
from ledger.log.projection import read
from ledger.school.assessments.commands import SheetEntry, record_sheet, sheet_decision
from ledger.school.assessments.tables import assessments
from ledger.school.calendar.commands import set_lock
from ledger.school.calendar.model import LockScope
from tests.support import helpers

YEAR = "2025-2026"
ORDER = "Quyết định số 21/QĐ-THCS của Hiệu trưởng"
Meanwhile = Callable[[], Awaitable[Any]]


def cell(demo: DemoSchool, value: str, slot: int = 1) -> list[SheetEntry]:
    return [SheetEntry(demo.rosters["6A1"][0], "regular", value, slot)]


async def write(
    demo: DemoSchool, entries: list[SheetEntry], meanwhile: Meanwhile | None = None, decisions: list[int] | None = None
) -> Any:
    """A teacher's TOAN term I write, decided ahead of the lock; `meanwhile` runs once the decision
    is taken on the snapshot and before its append. Each decision taken is counted in `decisions`."""
    taken = decisions if decisions is not None else []

    async def decide(session: SchoolSession) -> Decision:
        decision = await sheet_decision(session, demo.teacher("TOAN"), YEAR, 1, "6A1", "TOAN", entries)
        taken.append(session.head.seq)
        if len(taken) == 1 and meanwhile is not None:
            await meanwhile()
        return decision

    return await demo.ledger.decide_ahead(demo.school, decide)


async def value_of(demo: DemoSchool, slot: int = 1) -> str | None:
    async with demo.ledger.engine.connect() as conn:
        rows = await read(
            conn,
            assessments,
            demo.school,
            year=YEAR,
            student_id=demo.rosters["6A1"][0],
            subject="TOAN",
            term=1,
            slot=slot,
        )
    return rows[0]["value"] if rows else None


def at(demo: DemoSchool, *moment: int) -> None:
    demo.clock.set(datetime(*moment, tzinfo=VN_TZ))  # type: ignore[misc]


async def test_a_write_decided_before_the_window_closes_but_appended_after_is_refused(
    app_engine: AsyncEngine, school: str
) -> None:
    demo = await build_demo_school(app_engine, school, students_per_class=2, terms=())
    # Term I's entry window closes at the end of 22 January.
    at(demo, 2026, 1, 22, 23, 59, 59)
    assert len(await write(demo, cell(demo, "7"))) == 1  # decided and appended in time

    async def midnight() -> None:
        at(demo, 2026, 1, 23, 0, 0, 1)

    at(demo, 2026, 1, 22, 23, 59, 59)
    error = await helpers.refused(
        demo.ledger, demo.school, "window.closed", lambda: write(demo, cell(demo, "8", 2), midnight)
    )
    assert error.rule == "Điều 33.3c"
    assert await value_of(demo, 2) is None


async def test_a_write_decided_before_a_lock_closes_entry_but_appended_after_is_refused(
    app_engine: AsyncEngine, school: str
) -> None:
    demo = await build_demo_school(app_engine, school, students_per_class=2, terms=())
    at(demo, 2025, 10, 1)

    async def lock() -> None:
        await set_lock(
            demo.ledger, school, ADMIN, LockScope(YEAR, "6A1"), closed=True, order=ORDER, ordered_by=PRINCIPAL.user
        )

    with pytest.raises(Refused) as caught:
        await write(demo, cell(demo, "7"), lock)
    assert caught.value.code == "lock.closed" and caught.value.rule == "Điều 36.2"
    assert await value_of(demo) is None


async def test_a_write_elsewhere_in_the_school_meanwhile_does_not_change_the_decision(
    app_engine: AsyncEngine, school: str
) -> None:
    demo = await build_demo_school(app_engine, school, students_per_class=2, terms=())
    at(demo, 2025, 10, 1)

    async def elsewhere() -> None:
        other = demo.rosters["7A1"][0]
        await record_sheet(
            demo.ledger,
            school,
            demo.teacher("TOAN"),
            year=YEAR,
            term=1,
            class_id="7A1",
            subject="TOAN",
            entries=[SheetEntry(other, "regular", "9", 1)],
        )

    decisions: list[int] = []
    [event] = await write(demo, cell(demo, "7"), elsewhere, decisions)
    assert event.payload["value"] == "7.0" and await value_of(demo) == "7.0"
    assert len(decisions) == 1, "decided once, on the snapshot"
    # The same in the same class and subject: the decision depends on it, and is taken again.
    decisions.clear()

    async def same_sheet() -> None:
        await record_sheet(
            demo.ledger,
            school,
            demo.teacher("TOAN"),
            year=YEAR,
            term=1,
            class_id="6A1",
            subject="TOAN",
            entries=[SheetEntry(demo.rosters["6A1"][1], "regular", "9", 1)],
        )

    await write(demo, cell(demo, "8", 2), same_sheet, decisions)
    assert len(decisions) == 2 and await value_of(demo, 2) == "8.0"


@pytest.mark.parametrize("values", [("7", "8"), ("7", "7")])
async def test_two_writes_of_one_cell_decided_at_once_land_once(
    app_engine: AsyncEngine, school: str, values: tuple[str, str]
) -> None:
    """Both see the cell empty on their snapshots; under the lock the second sees the first's event,
    decides again, and is refused (a different value: 409) or appends nothing (the same value)."""
    demo = await build_demo_school(app_engine, school, students_per_class=2, terms=())
    at(demo, 2025, 10, 1)
    both_decided = asyncio.Barrier(2)

    async def wait_for_the_other() -> None:
        await both_decided.wait()

    before = await helpers.head(demo.ledger, school)
    outcomes = await asyncio.gather(
        *(write(demo, cell(demo, value), wait_for_the_other) for value in values), return_exceptions=True
    )
    appended = [o for o in outcomes if isinstance(o, list) and o]
    assert len(appended) == 1
    [[event]] = appended
    assert await value_of(demo) == event.payload["value"]
    assert await helpers.head(demo.ledger, school) == before + 1
    others = [o for o in outcomes if o is not appended[0]]
    if values[0] != values[1]:
        [error] = others
        assert isinstance(error, Refused) and error.code == "assessment.already_recorded" and error.status == 409
    else:
        assert others == [[]]
