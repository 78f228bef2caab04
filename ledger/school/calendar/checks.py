"""The rule every change of assessment data passes on the append path: the calendar's windows, the close
and the final date, and the locks (Điều 25, 33.3c, 36.2)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base.clock import Clock, format_time, parse_time
from ledger.base.errors import DomainError, Refused, ValidationError
from ledger.log import store
from ledger.log.append import SchoolSession
from ledger.log.projection import read
from ledger.school.calendar.model import Calendar, Change, LockScope, Window, vietnamese_time
from ledger.school.calendar.tables import ANY, calendars, locks, reopenings
from ledger.school.rules.tt22 import Promotion, promotion
from ledger.school.transcripts.views import load_student_year
from ledger.school.years.tables import subjects


async def calendar_of(session: SchoolSession, year: str) -> Calendar:
    rows = await read(session.conn, calendars, session.school, year=year)
    if not rows:
        raise Refused(
            "calendar.missing",
            f"Hiệu trưởng chưa ban hành lịch năm học {year}: chưa thể nhập hay sửa dữ liệu.",
            f"The principal has not set the {year} calendar: no data can be entered or changed yet.",
            field="year",
            rule="Điều 33.3c",
        )
    return Calendar.from_payload(rows[0]["calendar"])


async def closed_lock(
    conn: AsyncConnection, school: str, year: str, class_id: str | None, subject: str | None, term: int | None
) -> dict[str, Any] | None:
    for row in await read(conn, locks, school, year=year):
        if row["state"] != "closed":
            continue
        if (
            row["class_id"] not in (ANY, class_id)
            or row["subject"] not in (ANY, subject)
            or row["term"] not in (0, term)
        ):
            continue
        return row
    return None


async def refusal_now(
    conn: AsyncConnection, school: str, clock: Clock, change: Change, **scope: Any
) -> DomainError | None:
    """The refusal `check_change` would give a change now, read without the school's append lock: what
    a page shows before anyone types. The append path checks again under the lock."""
    session = SchoolSession(conn, school, await store.read_head(conn, school), clock, ())
    try:
        await check_change(session, change, **scope)
    except DomainError as refused:
        return refused
    return None


async def check_change(
    session: SchoolSession,
    change: Change,
    *,
    year: str,
    term: int | None,
    class_id: str | None = None,
    subject: str | None = None,
    students: list[str] | None = None,
    field: str = "value",
) -> Calendar:
    """Refuse a change of assessment data that the calendar or a lock forbids now, and return the
    calendar. An approved correction passes a passed close or final date only within a reopening the
    Department of Education authorised (Điều 25.4)."""
    calendar = await calendar_of(session, year)
    now = session.now()
    # The answer changes at the close and the final date, and at the term's entry window.
    for moment in (calendar.close, calendar.final):
        session.changes_at(moment)
    window = calendar.entry.get(term or 0) if change is Change.ENTRY else None
    if window is not None:
        session.changes_at(window.opens)
        session.changes_at(window.closes)
    if change is Change.CORRECTION and now > calendar.close and await reopened(session, year, now):
        return calendar
    if now > calendar.final:
        raise Refused(
            "deadline.final",
            f"Đã qua {vietnamese_time(calendar.final)}: dữ liệu năm học {year} là bản cuối cùng, "
            "không được sửa đổi, kể cả khi có đề nghị điều chỉnh.",
            f"After {format_time(calendar.final)} the {year} data is final and cannot change, "
            "not even by an approved correction.",
            field=field,
            rule="Điều 25.4",
            deadline=format_time(calendar.final),
        )
    if now > calendar.close:
        waiting = [s for s in students or [] if not await summer_pending(session, year, s)]
        if waiting or not students:
            raise Refused(
                "deadline.close",
                f"Dữ liệu năm học {year} đã chốt lúc {vietnamese_time(calendar.close)}; chỉ học sinh kiểm tra lại "
                f"hoặc rèn luyện trong hè được cập nhật đến {vietnamese_time(calendar.final)}.",
                f"The {year} data was closed at {format_time(calendar.close)}; only students with summer "
                f"re-assessment or summer training may be updated until {format_time(calendar.final)}.",
                field=field,
                rule="Điều 25.1, 25.2",
                deadline=format_time(calendar.close),
            )
    if change in (Change.CORRECTION, Change.TRANSFER):
        return calendar  # approved by leadership, or signed by the sending school: passes windows and locks
    if change is Change.ENTRY:
        if window is None:
            raise ValidationError("term.invalid", "học kì là 1 hoặc 2", "the term is 1 or 2", field="term")
        if now < window.opens:
            raise Refused(
                "window.not_open",
                f"Chưa đến thời hạn nhập dữ liệu học kì {'I' * (term or 0)}: mở lúc {vietnamese_time(window.opens)}.",
                f"Entry for term {term} opens at {format_time(window.opens)}.",
                field=field,
                rule="Điều 33.3c",
                opens=format_time(window.opens),
            )
        if now > window.closes:
            raise Refused(
                "window.closed",
                f"Đã hết thời hạn nhập dữ liệu học kì {'I' * (term or 0)} lúc {vietnamese_time(window.closes)}. "
                "Muốn sửa hay bổ sung, hãy gửi đề nghị điều chỉnh để lãnh đạo phê duyệt (Điều 17.3).",
                f"Entry for term {term} closed at {format_time(window.closes)}. To change or add data, "
                "file a correction request for leadership approval (Điều 17.3).",
                field=field,
                rule="Điều 33.3c",
                closed=format_time(window.closes),
            )
    lock = await closed_lock(session.conn, session.school, year, class_id, subject, term)
    if lock is not None:
        named = await read(session.conn, subjects, session.school, year=year, code=lock["subject"])
        scope = LockScope(year, lock["class_id"], lock["subject"], lock["term"]).describe(
            named[0]["name"] if named else None
        )
        raise Refused(
            "lock.closed",
            f"Việc nhập dữ liệu ({scope}) đang bị khóa theo {lock['order_ref']['text']}. "
            "Hãy đề nghị hiệu trưởng mở khóa, hoặc gửi đề nghị điều chỉnh.",
            f"Entry ({scope}) is locked by order {lock['order_ref']['text']}. "
            "Ask the principal to open it, or file a correction request.",
            field=field,
            rule="Điều 36.2",
        )
    return calendar


async def reopened(session: SchoolSession, year: str, now: datetime) -> dict[str, Any] | None:
    """The reopening of `year` in force at `now`, if any."""
    for row in await read(session.conn, reopenings, session.school, year=year):
        session.changes_at(parse_time(row["opens_at"]))
        session.changes_at(parse_time(row["until"]))
        if parse_time(row["opens_at"]) <= now <= parse_time(row["until"]):
            return row
    return None


async def summer_pending(session: SchoolSession, year: str, student: str) -> bool:
    """Was the student's year, as it stood at the close, one that calls for summer re-assessment or
    summer training (Điều 25.2)? Such a student stays open until the final date, also while their
    summer results come in one by one."""

    view = await load_student_year(session.conn, session.school, year, student)
    outcome, year_data = view.outcome, view.student_year
    learning, conduct = outcome.learning["year"], outcome.conduct["year"]
    if learning is None or conduct is None or year_data.absences is None:
        return False
    before_summer = promotion(year_data.grade, year_data.absences, conduct, learning.level)
    return before_summer in (Promotion.RE_ASSESSMENT, Promotion.SUMMER_TRAINING)


async def entry_still_open(
    conn: AsyncConnection,
    school: str,
    year: str,
    term: int,
    now: datetime,
    *,
    class_id: str | None = None,
    subject: str | None = None,
) -> Window | None:
    """The term's entry window while data of `class_id` and `subject` may still be entered or is not
    yet due (before the window has closed, the year is closed, or a lock on the principal's order has
    closed it); None once nothing more can be entered."""
    rows = await read(conn, calendars, school, year=year)
    if not rows:
        return None
    calendar = Calendar.from_payload(rows[0]["calendar"])
    window = calendar.entry.get(term)
    if window is None or now > window.closes or now > calendar.close:
        return None
    if await closed_lock(conn, school, year, class_id, subject, term) is not None:
        return None
    return window


def period_open(window: Window, term: int, what: tuple[str, str]) -> Refused:
    numeral = "I" if term == 1 else "II"
    return Refused(
        "signature.period_open",
        f"Chưa ký được {what[0]}: thời hạn nhập dữ liệu học kì {numeral} còn đến {vietnamese_time(window.closes)}. "
        "Kết quả được ký xác nhận khi đã hết thời hạn nhập, hoặc khi hiệu trưởng đã cho khóa nhập liệu.",
        f"{what[1][:1].upper()}{what[1][1:]} cannot be signed yet: term {term} entry is open until "
        f"{format_time(window.closes)}. Results are signed once entry has closed or been locked.",
        field="term",
        rule="Điều 18.3, 18.4, 33.3c",
        closes=format_time(window.closes),
    )
