"""A write decided ahead of the lock lands only if deciding it under the lock at the moment of its
append would let it through: at the very moment a window closes, when the clock is set back
between the decision and the append, and when the head's time is ahead of the clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.app.demo import ADMIN, CALENDAR_ORDER, PRINCIPAL, build_demo_school
from ledger.base.clock import VN_TZ
from ledger.log.projection import read
from ledger.school.calendar.commands import set_calendar, set_lock
from ledger.school.calendar.model import LockScope, Window, default_calendar
from ledger.school.years.commands import end_assignment
from ledger.school.years.tables import assignments
from tests.school.test_decided_ahead import ORDER, YEAR, at, cell, value_of, write
from tests.support import helpers


async def test_a_write_decided_at_the_moment_a_window_closes_and_appended_after_is_refused(
    app_engine: AsyncEngine, school: str
) -> None:
    demo = await build_demo_school(app_engine, school, students_per_class=2, terms=())
    at(demo, 2025, 10, 1)
    usual = default_calendar(YEAR, CALENDAR_ORDER)
    closes = datetime(2026, 1, 22, 17, 0, tzinfo=VN_TZ)  # term I's entry closes at 17:00
    await set_calendar(
        demo.ledger, school, PRINCIPAL, replace(usual, entry={**usual.entry, 1: Window(usual.entry[1].opens, closes)})
    )

    async def a_second_later() -> None:
        at(demo, 2026, 1, 22, 17, 0, 1)

    # Decided at 17:00:00 exactly (still open: the window closes after that moment), appended at
    # 17:00:01, when deciding under the lock says the window is closed.
    at(demo, 2026, 1, 22, 17, 0, 0)
    error = await helpers.refused(
        demo.ledger, school, "window.closed", lambda: write(demo, cell(demo, "8"), a_second_later)
    )
    assert error.rule == "Điều 33.3c"
    assert await value_of(demo) is None


async def test_a_write_decided_once_the_window_opened_but_appended_on_a_clock_set_back_is_refused(
    app_engine: AsyncEngine, school: str
) -> None:
    demo = await build_demo_school(app_engine, school, students_per_class=2, terms=())
    # Term I's entry opens at the start of 5 September 2025.

    async def clock_set_back() -> None:
        at(demo, 2025, 9, 4, 23, 59, 59)

    at(demo, 2025, 9, 5, 0, 0, 1)
    error = await helpers.refused(
        demo.ledger, school, "window.not_open", lambda: write(demo, cell(demo, "8"), clock_set_back)
    )
    assert error.rule == "Điều 33.3c"
    assert await value_of(demo) is None


async def test_an_assignment_that_ended_yesterday_is_not_held_after_midnight_whatever_the_heads_time(
    app_engine: AsyncEngine, school: str
) -> None:
    """The day an assignment is checked on is the day in Việt Nam, also when the moment a decision
    takes is the head's (a clock behind it): 00:20 on 15 October is 17:20 on 14 October in UTC."""
    demo = await build_demo_school(app_engine, school, students_per_class=2, terms=())
    at(demo, 2025, 10, 1)
    teacher = demo.teacher("TOAN")
    async with demo.ledger.engine.connect() as conn:
        rows = await read(conn, assignments, school, staff_id=str(teacher.user), class_id="6A1", subject="TOAN")
    for row in rows:
        await end_assignment(demo.ledger, school, PRINCIPAL, row["assignment_id"], date(2025, 10, 14), ORDER)
    # Something is recorded at 00:20 on 15 October; then the clock reads 00:10 (set back, or another
    # writer's clock ahead of this one's).
    at(demo, 2025, 10, 15, 0, 20)
    await set_lock(
        demo.ledger, school, ADMIN, LockScope(YEAR, "7A1"), closed=False, order=ORDER, ordered_by=PRINCIPAL.user
    )
    at(demo, 2025, 10, 15, 0, 10)

    async def clock_catches_up() -> None:
        at(demo, 2025, 10, 15, 0, 30)

    await helpers.refused(
        demo.ledger, school, "assignment.not_held", lambda: write(demo, cell(demo, "8"), clock_catches_up)
    )
    assert await value_of(demo) is None
