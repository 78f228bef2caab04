"""The calendar, locks and deadlines, enforced on the append path (the regulation's Điều 25, 33.3c,
36.2; DOMAIN §4). Scripted school years move the clock across every boundary; at each refusal the
ledger is unchanged and the error names the rule, the moment and the way forward."""

from __future__ import annotations

import getpass
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from audit.trail import access_index
from ledger.app.demo import ADMIN, CALENDAR_ORDER, PRINCIPAL, VICE_PRINCIPAL, DemoSchool, build_demo_school
from ledger.base.clock import VN_TZ
from ledger.base.errors import DomainError, ValidationError
from ledger.log.projection import read
from ledger.school.assessments.commands import SheetEntry, record_sheet, record_summer_conduct
from ledger.school.assessments.tables import assessments
from ledger.school.calendar.commands import set_calendar, set_lock
from ledger.school.calendar.model import Calendar, LockScope, default_calendar, parse_calendar
from ledger.school.corrections.commands import decide_request, expire_pending, file_request
from ledger.school.corrections.model import assessment_target
from ledger.school.transcripts.views import class_summary
from ledger.school.years.commands import define_subjects, open_classes, open_year
from ledger.school.years.model import default_catalogue
from tests.support import helpers
from tests.support.helpers import hocba, signed_in

YEAR = "2025-2026"
ORDER = "Quyết định số 21/QĐ-THCS của Hiệu trưởng"


def at(demo: DemoSchool, *moment: int) -> None:
    demo.clock.set(datetime(*moment, tzinfo=VN_TZ))  # type: ignore[misc]


async def refused(demo: DemoSchool, code: str, attempt: Callable[[], Awaitable[Any]]) -> DomainError:
    """Refused with `code`, naming its rule, appending nothing."""
    error = await helpers.refused(demo.ledger, demo.school, code, attempt)
    assert error.rule
    return error


def enter(demo: DemoSchool, term: int, student: str, value: str, *, class_id: str = "6A1", slot: int = 1) -> Any:
    """A teacher enters one regular TOAN assessment."""

    def attempt() -> Awaitable[Any]:
        return record_sheet(
            demo.ledger,
            demo.school,
            demo.teacher("TOAN"),
            year=YEAR,
            term=term,
            class_id=class_id,
            subject="TOAN",
            entries=[SheetEntry(student, "regular", value, slot)],
        )

    return attempt


async def value_of(demo: DemoSchool, student: str, term: int, slot: int = 1) -> str | None:
    async with demo.ledger.engine.connect() as conn:
        rows = await read(
            conn, assessments, demo.school, year=YEAR, student_id=student, subject="TOAN", term=term, slot=slot
        )
    return rows[0]["value"] if rows else None


async def test_through_the_terms_windows_and_locks_dieu_33_3c_36_2(app_engine: AsyncEngine, school: str) -> None:
    demo = await build_demo_school(app_engine, school, students_per_class=2, terms=())
    student, other = demo.rosters["6A1"][0], demo.rosters["7A1"][0]

    # Term I's entry window opens at the start of 5 September.
    at(demo, 2025, 9, 4, 23, 59, 59, 999999)
    error = await refused(demo, "window.not_open", enter(demo, 1, student, "7"))
    assert "00:00 ngày 05/09/2025" in error.vi and error.rule == "Điều 33.3c"
    at(demo, 2025, 9, 5)
    assert len(await enter(demo, 1, student, "7")()) == 1

    # Locks: the admin closes class 6A1 on the principal's order; other classes stay open.
    at(demo, 2025, 10, 1)
    not_admin = await refused(
        demo,
        "role.not_held",
        lambda: set_lock(
            demo.ledger,
            school,
            VICE_PRINCIPAL,
            LockScope(YEAR, "6A1"),
            closed=True,
            order=ORDER,
            ordered_by=PRINCIPAL.user,
        ),
    )
    assert "không giữ vai trò quản trị viên vào ngày 01/10/2025" in not_admin.vi  # words and dd/mm/yyyy
    await refused(
        demo,
        "lock.order",
        lambda: set_lock(
            demo.ledger, school, ADMIN, LockScope(YEAR, "6A1"), closed=True, order=ORDER, ordered_by=VICE_PRINCIPAL.user
        ),
    )
    [locked] = await set_lock(
        demo.ledger, school, ADMIN, LockScope(YEAR, "6A1"), closed=True, order=ORDER, ordered_by=PRINCIPAL.user
    )
    assert locked.type == "entry.locked" and locked.payload["order"] == {"text": ORDER, "by": PRINCIPAL.user}
    error = await refused(demo, "lock.closed", enter(demo, 1, student, "8", slot=2))
    assert ORDER in error.vi and error.rule == "Điều 36.2"
    assert len(await enter(demo, 1, other, "8", class_id="7A1")()) == 1
    # A lock on one subject and term, school-wide.
    await set_lock(
        demo.ledger,
        school,
        ADMIN,
        LockScope(YEAR, subject="TOAN", term=1),
        closed=True,
        order=ORDER,
        ordered_by=PRINCIPAL.user,
    )
    await refused(demo, "lock.closed", enter(demo, 1, other, "8", class_id="7A1", slot=2))
    for scope in (LockScope(YEAR, "6A1"), LockScope(YEAR, subject="TOAN", term=1)):
        await set_lock(demo.ledger, school, ADMIN, scope, closed=False, order=ORDER, ordered_by=PRINCIPAL.user)
    assert len(await enter(demo, 1, student, "8", slot=2)()) == 1

    # Term II opens on 19 January; term I closes at the end of 22 January.
    at(demo, 2026, 1, 18, 23, 59, 59)
    await refused(demo, "window.not_open", enter(demo, 2, student, "6"))
    at(demo, 2026, 1, 22, 23, 59, 59, 999999)
    assert len(await enter(demo, 1, student, "9", slot=3)()) == 1
    assert len(await enter(demo, 2, student, "6")()) == 1
    at(demo, 2026, 1, 23)
    error = await refused(demo, "window.closed", enter(demo, 1, student, "9", slot=4))
    assert "đề nghị điều chỉnh" in error.vi and "file a correction request" in error.en

    # The way forward after the window: a correction request, approved by leadership (Điều 17.3).
    target = assessment_target(YEAR, 1, "6A1", "TOAN", student, "regular", 1)
    request = await file_request(
        demo.ledger, school, demo.teacher("TOAN"), target, old_value="7", new_value="7,5", reason="Nhập nhầm"
    )
    await decide_request(demo.ledger, school, VICE_PRINCIPAL, request.payload["request"], approve=True, reason="Đúng")
    assert await value_of(demo, student, 1) == "7.5"

    # The close at the end of 31 May: a student without summer work is closed for everything.
    at(demo, 2026, 5, 31, 23, 59, 59)
    assert len(await enter(demo, 2, student, "6", slot=2)()) == 1
    at(demo, 2026, 6, 1)
    error = await refused(demo, "deadline.close", enter(demo, 2, student, "6", slot=3))
    assert "31/05/2026" in error.vi and "30/08/2026" in error.vi and error.rule == "Điều 25.1, 25.2"
    late = assessment_target(YEAR, 2, "6A1", "TOAN", student, "regular", 1)
    await refused(
        demo,
        "deadline.close",
        lambda: file_request(
            demo.ledger, school, demo.teacher("TOAN"), late, old_value="6", new_value="7", reason="Nhập nhầm"
        ),
    )
    at(demo, 2026, 8, 31)
    error = await refused(demo, "deadline.final", enter(demo, 2, student, "6", slot=3))
    assert error.rule == "Điều 25.4"


async def test_after_the_close_only_students_with_summer_work_stay_open_until_the_final_date_dieu_25(
    app_engine: AsyncEngine, school: str
) -> None:
    demo = await build_demo_school(app_engine, school, students_per_class=4, summer=False)
    async with app_engine.connect() as conn:
        lists = (await class_summary(conn, school, YEAR, "7A1")).to_json()["lists"]
    [summer] = [s["student"] for s in lists["summer_training"]]  # 7A1[3], conduct Chưa đạt in term II
    done = lists["promoted"][0]["student"]
    teacher = demo.teacher("TOAN")

    # Two requests filed before the close, for a student with summer work and one without.
    at(demo, 2026, 5, 20)
    pending = {}
    for student in (summer, done):
        target = assessment_target(YEAR, 2, "7A1", "TOAN", student, "regular", 1)
        current = await value_of(demo, student, 2)
        event = await file_request(
            demo.ledger, school, teacher, target, old_value=current, new_value="10", reason="Chấm phúc khảo"
        )
        pending[student] = event.payload["request"]

    at(demo, 2026, 6, 1, 0, 0, 0, 1)
    await refused(demo, "deadline.close", enter(demo, 2, done, "5", class_id="7A1", slot=2))
    await refused(
        demo,
        "deadline.close",
        lambda: decide_request(demo.ledger, school, VICE_PRINCIPAL, pending[done], approve=True, reason="Đồng ý"),
    )
    # Entry windows stay closed for everyone: the student with summer work is changed by summer
    # results and by corrections.
    await refused(demo, "window.closed", enter(demo, 2, summer, "5", class_id="7A1", slot=2))
    [expired] = await expire_pending(demo.ledger, school)
    assert expired.type == "correction.expired"
    assert expired.payload == {"request": pending[done], "deadline": "2026-05-31T23:59:59.999999+07:00"}
    assert await expire_pending(demo.ledger, school) == []

    at(demo, 2026, 8, 30, 23, 59, 59)
    [recorded] = await record_summer_conduct(
        demo.ledger, school, PRINCIPAL, year=YEAR, class_id="7A1", entries=[(summer, "Đạt")]
    )
    assert recorded.type == "summer_conduct.recorded"

    # After the final date nothing changes, not even an approved correction (Điều 25.4).
    at(demo, 2026, 8, 31)
    error = await refused(
        demo,
        "deadline.final",
        lambda: decide_request(demo.ledger, school, VICE_PRINCIPAL, pending[summer], approve=True, reason="Đồng ý"),
    )
    assert "kể cả khi có đề nghị điều chỉnh" in error.vi
    [expired] = await expire_pending(demo.ledger, school)
    assert expired.payload == {"request": pending[summer], "deadline": "2026-08-30T23:59:59.999999+07:00"}


async def test_no_entry_before_the_principal_sets_the_calendar_dieu_33_3c(app_engine: AsyncEngine, school: str) -> None:
    demo = await build_demo_school(app_engine, school, students_per_class=1, terms=())
    at(demo, 2026, 8, 1)
    await open_year(demo.ledger, school, ADMIN, "2026-2027", "2026-09-05", "2027-05-31")
    await define_subjects(demo.ledger, school, ADMIN, "2026-2027", default_catalogue())
    await open_classes(demo.ledger, school, ADMIN, "2026-2027", [("6A1", 6)])

    async def attempt() -> Any:
        return await record_sheet(
            demo.ledger,
            school,
            demo.teacher("TOAN"),
            year="2026-2027",
            term=1,
            class_id="6A1",
            subject="TOAN",
            entries=[SheetEntry(demo.rosters["6A1"][0], "final", "8")],
        )

    error = await refused(demo, "calendar.missing", attempt)
    assert "Hiệu trưởng chưa ban hành lịch năm học 2026-2027" in error.vi
    not_principal = await refused(
        demo,
        "role.not_held",
        lambda: set_calendar(demo.ledger, school, VICE_PRINCIPAL, default_calendar("2026-2027", ORDER)),
    )
    assert not_principal.field == "actor"
    [event] = await set_calendar(demo.ledger, school, PRINCIPAL, default_calendar("2026-2027", ORDER))
    assert event.payload["close"] == "2027-05-31T23:59:59.999999+07:00"
    assert event.payload["final"] == "2027-08-30T23:59:59.999999+07:00"
    assert await set_calendar(demo.ledger, school, PRINCIPAL, default_calendar("2026-2027", ORDER)) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"close": "2026-05-15T23:59:59+07:00"}, "close"),  # before term II's entry closes
        ({"final": "2026-05-31T23:59:59+07:00"}, "close"),  # the final date is not after the close
        (
            {
                "entry": {
                    "1": {"opens": "2026-01-22T00:00:00+07:00", "closes": "2025-09-05T00:00:00+07:00"},
                    "2": {"opens": "2026-01-19T00:00:00+07:00", "closes": "2026-05-31T23:59:59+07:00"},
                }
            },
            "entry.1",
        ),
        (
            {
                "terms": {
                    "1": {"starts": "2025-09-05", "ends": "2026-01-25"},
                    "2": {"starts": "2026-01-19", "ends": "2026-05-25"},
                }
            },
            "terms.2",
        ),
        ({"close": "31/05/2026"}, "calendar"),
    ],
)
def test_a_calendar_that_contradicts_itself_is_refused(change: dict[str, Any], field: str) -> None:
    raw = {**default_calendar(YEAR, ORDER).payload(), **change}
    with pytest.raises(ValidationError) as caught:
        parse_calendar(YEAR, raw, ORDER)
    assert caught.value.field == field and caught.value.code == "calendar.invalid"


def test_calendar_times_are_in_vietnam_time() -> None:
    calendar = default_calendar(YEAR, ORDER)
    assert calendar.close.utcoffset() == VN_TZ.utcoffset(None)
    assert calendar.close.isoformat() == "2026-05-31T23:59:59.999999+07:00"
    assert Calendar.from_payload(calendar.payload()) == calendar
    utc = parse_calendar(YEAR, {**calendar.payload(), "close": "2026-05-31T17:00:00Z"}, ORDER)
    assert utc.payload()["close"] == "2026-06-01T00:00:00.000000+07:00"


async def test_cli_calendar_locks_and_deadline_job_and_every_attempt_is_in_the_access_trail(
    app_engine: AsyncEngine, school: str, env: dict[str, str], tmp_path: Path
) -> None:
    """The commands run on the system clock (after the fixture year's final date)."""
    await build_demo_school(app_engine, school, students_per_class=1, terms=())
    where = ("--school", school, "--year", YEAR)
    admin, principal = [await signed_in(app_engine, env, school, who.user) for who in (ADMIN, PRINCIPAL)]
    vice = await signed_in(app_engine, env, school, VICE_PRINCIPAL.user)
    lock = hocba(
        "lock",
        "close",
        *where,
        "--actor",
        ADMIN.user,
        "--class",
        "6A1",
        "--order",
        ORDER,
        "--ordered-by",
        PRINCIPAL.user,
        "--json",
        env=admin,
    )
    assert lock.returncode == 0, lock.stderr
    assert json.loads(lock.stdout)["appended"] == 1
    not_principal = hocba("calendar", "set", *where, "--actor", VICE_PRINCIPAL.user, "--order", ORDER, env=vice)
    assert not_principal.returncode == 2 and "does not hold PRINCIPAL" in not_principal.stderr
    contradiction = tmp_path / "calendar.json"
    contradiction.write_text('{"final": "2026-05-01T00:00:00+07:00"}', encoding="utf-8")
    bad = hocba(
        "calendar",
        "set",
        *where,
        "--actor",
        PRINCIPAL.user,
        "--order",
        ORDER,
        "--file",
        str(contradiction),
        env=principal,
    )
    assert bad.returncode == 2 and "the close comes after term 2's entry closes" in bad.stderr
    same = hocba("calendar", "set", *where, "--actor", PRINCIPAL.user, "--order", CALENDAR_ORDER, env=principal)
    assert (same.returncode, same.stdout.strip()) == (0, "appended=0")
    jobs = hocba("jobs", "deadlines", "--school", school, env=env)
    assert jobs.returncode == 0, jobs.stderr
    assert [(e["type"], e["deadline"]) for e in json.loads(jobs.stdout)] == [
        ("deadline.reached", "close"),
        ("deadline.reached", "final"),
    ]
    async with app_engine.connect() as conn:
        entries = await read(conn, access_index, school, order_by=["entry"])
    assert [(e["action"], e["username"], e["outcome"], e["reason"]) for e in entries] == [
        ("cli.lock.close", ADMIN.user, "allowed", None),
        ("cli.calendar.set", VICE_PRINCIPAL.user, "denied", "role.not_held"),
        ("cli.calendar.set", PRINCIPAL.user, "refused", "calendar.invalid"),
        ("cli.calendar.set", PRINCIPAL.user, "allowed", None),
        ("cli.jobs.deadlines", f"os:{getpass.getuser()}", "allowed", None),  # the operator's job, no account
    ]
    assert [e["roles"] for e in entries[:4]] == [["ADMIN"], ["LEADERSHIP"], ["PRINCIPAL"], ["PRINCIPAL"]]


async def test_a_lock_names_a_real_class_and_subject_or_is_refused_dieu_36_2(
    app_engine: AsyncEngine, school: str
) -> None:
    """A lock typed as people type it locks what it names: "Toán" is the subject TOAN; a class or a
    subject the year does not have is refused, naming those there are, instead of a lock that locks
    nothing while the list says "locked"."""
    from tests.support.helpers import head

    demo = await build_demo_school(app_engine, school, students_per_class=1, terms=())
    at(demo, 2025, 10, 1)
    before = await head(demo.ledger, school)
    for scope, code in (
        (LockScope(YEAR, "6A9"), "class.unknown"),
        (LockScope(YEAR, subject="Tin học 2"), "subject.unknown"),
    ):
        with pytest.raises(DomainError) as caught:
            await set_lock(demo.ledger, school, ADMIN, scope, closed=True, order=ORDER, ordered_by=PRINCIPAL.user)
        error = caught.value
        assert error.code == code
        assert "6A1" in error.vi or "Toán" in error.vi  # what there is
    assert await head(demo.ledger, school) == before
    [locked] = await set_lock(
        demo.ledger,
        school,
        ADMIN,
        LockScope(YEAR, "lớp 6a1", "Toán", 1),
        closed=True,
        order=ORDER,
        ordered_by=PRINCIPAL.user,
    )
    assert (locked.payload["class"], locked.payload["subject"], locked.payload["term"]) == ("6A1", "TOAN", 1)
