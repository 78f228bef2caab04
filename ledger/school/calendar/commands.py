"""The principal sets the calendar (Điều 33.3c); the admin closes and opens entry on the principal's
order (Điều 36.2)."""

from __future__ import annotations

from datetime import datetime, timedelta

from ledger.base import vietnamese
from ledger.base.clock import format_time
from ledger.base.errors import Refused, ValidationError
from ledger.format.envelope import Actor, Event, NewEvent
from ledger.log.append import Ledger, SchoolSession
from ledger.log.projection import read
from ledger.school.calendar.checks import calendar_of
from ledger.school.calendar.model import Calendar, Decision, LockScope, check_calendar, vietnamese_time
from ledger.school.calendar.moves import check_move
from ledger.school.calendar.tables import (
    ANY,
    CALENDAR_REOPENED,
    CALENDAR_SET,
    ENTRY_LOCKED,
    ENTRY_OPENED,
    calendars,
    reopenings,
)
from ledger.school.rules import identity
from ledger.school.rules.roles import Role
from ledger.school.years.queries import holds, known_class, known_year, subject_code, year_row

_ROLE_VI = {Role.PRINCIPAL: "hiệu trưởng", Role.ADMIN: "quản trị viên"}  # who sets calendars and locks


async def _require_role(session: SchoolSession, actor: Actor, roles: tuple[Role, ...], field: str) -> None:
    today = session.now().date()
    for role in roles:
        if await holds(session, str(actor.user), role, today):
            return
    names = " hoặc ".join(_ROLE_VI.get(role, role.value) for role in roles)
    raise Refused(
        "role.not_held",
        f"{actor.user} không giữ vai trò {names} vào ngày {vietnamese.day(today)}",
        f"{actor.user} does not hold {'/'.join(r.value for r in roles)} on {today.isoformat()}",
        field=field,
        rule="Điều 33, 36",
    )


async def set_calendar(ledger: Ledger, school: str, actor: Actor, calendar: Calendar) -> list[Event]:
    """The principal sets (or changes) a year's calendar (Điều 33.3c); a change never moves a passed
    moment, nor a coming one into the past (Điều 25, 36.2)."""
    check_calendar(calendar)

    async def decide(session: SchoolSession) -> list[NewEvent]:
        await year_row(session, calendar.year)
        await _require_role(session, actor, (Role.PRINCIPAL,), "actor")
        current = await read(session.conn, calendars, session.school, year=calendar.year)
        if current and current[0]["calendar"] == calendar.payload():
            return []
        if current:
            check_move(Calendar.from_payload(current[0]["calendar"]), calendar, session.now())
        return [NewEvent(CALENDAR_SET, calendar.payload(), actor)]

    return await ledger.decide(school, decide)


async def _real_scope(session: SchoolSession, scope: LockScope, year: str) -> LockScope:
    """The scope as the sheets name it: a year the school opened, a class of that year, a subject of
    its catalogue (by code or by name: "Toán" is TOAN), a term 1 or 2. A lock on something that does
    not exist would lock nothing while the list says "locked"."""
    await known_year(session.conn, session.school, year)
    class_id, subject = scope.class_id, scope.subject
    if class_id != ANY:
        class_id = identity.class_id(class_id, "class")
        await known_class(session.conn, session.school, year, class_id)
    if subject != ANY:
        subject = await subject_code(session.conn, session.school, year, subject)
    if scope.term not in (0, 1, 2):
        raise ValidationError("lock.term", "học kì là 1 hoặc 2", "the term is 1 or 2", field="term")
    return LockScope(year, class_id, subject, scope.term)


async def set_lock(
    ledger: Ledger, school: str, actor: Actor, scope: LockScope, *, closed: bool, order: str, ordered_by: str
) -> list[Event]:
    """The admin closes or opens entry for a scope, on the principal's order (Điều 36.2)."""
    year = identity.school_year(scope.year)
    order_text = identity.text(order, "order")
    principal = identity.staff_id(ordered_by, "ordered_by")

    async def decide(session: SchoolSession) -> list[NewEvent]:
        await _require_role(session, actor, (Role.ADMIN,), "actor")
        locked = await _real_scope(session, scope, year)
        if not await holds(session, principal, Role.PRINCIPAL, session.now().date()):
            raise Refused(
                "lock.order",
                f"{principal} không phải hiệu trưởng vào lúc này; khóa/mở chỉ theo quyết định của hiệu trưởng",
                f"{principal} is not the principal now; entry is closed or opened only on the principal's order",
                field="ordered_by",
                rule="Điều 36.2",
            )
        payload = {
            **locked.key(),
            "year": year,
            "class": locked.class_id,
            "order": {"text": order_text, "by": principal},
        }
        del payload["class_id"]
        return [NewEvent(ENTRY_LOCKED if closed else ENTRY_OPENED, payload, actor)]

    return await ledger.decide(school, decide)


REOPENING_LIMIT = timedelta(days=31)


async def reopen_year(
    ledger: Ledger, school: str, actor: Actor, year: str, *, until: datetime, decision: Decision
) -> list[Event]:
    """After the close has passed, the principal records the Department of Education's decision that
    lets approved corrections through until `until` (at most 31 days): its own event, never a moved
    date (Điều 25.4). Entry windows and locks are not reopened: a change still goes through a
    correction request and leadership's approval (Điều 17.3)."""
    year = identity.school_year(year)

    async def decide(session: SchoolSession) -> list[NewEvent]:
        await year_row(session, year)
        await _require_role(session, actor, (Role.PRINCIPAL,), "actor")
        calendar = await calendar_of(session, year)
        now = session.now()
        if now <= calendar.close:
            raise Refused(
                "reopening.not_needed",
                f"Dữ liệu năm học {year} chưa chốt (hạn chốt {vietnamese_time(calendar.close)}): chưa cần mở lại; "
                "hãy dùng đề nghị điều chỉnh.",
                f"The {year} data is not closed yet (closes {format_time(calendar.close)}): nothing to reopen; "
                "file a correction request.",
                field="year",
                rule="Điều 25.1, 25.4",
            )
        if not now < until <= now + REOPENING_LIMIT:
            raise ValidationError(
                "reopening.until",
                f"thời hạn mở lại phải sau lúc này và không quá 31 ngày (đến {vietnamese_time(now + REOPENING_LIMIT)})",
                f"a reopening ends after now and within 31 days (by {format_time(now + REOPENING_LIMIT)})",
                field="until",
            )
        if decision.issued_on > now.date():
            raise ValidationError(
                "document.issued_on",
                "ngày ban hành quyết định không thể ở tương lai",
                "a decision cannot be issued in the future",
                field="document.issued_on",
            )
        if await read(session.conn, reopenings, session.school, year=year, document_number=decision.number):
            raise Refused(
                "reopening.duplicate",
                f"Quyết định {decision.number} đã được dùng để mở lại năm học {year}.",
                f"Decision {decision.number} has already reopened {year}.",
                field="document.number",
                rule="Điều 25.4",
            )
        payload = {
            "year": year,
            "opens_at": format_time(now),
            "until": format_time(until),
            "scope": "corrections",
            "document": decision.payload(),
        }
        return [NewEvent(CALENDAR_REOPENED, payload, actor)]

    return await ledger.decide(school, decide)
