"""The principal sets the calendar (Điều 33.3c); the admin closes and opens entry on the principal's
order (Điều 36.2)."""

from __future__ import annotations

from ledger.base.errors import Refused
from ledger.format.envelope import Actor, Event, NewEvent
from ledger.log.append import Ledger, SchoolSession
from ledger.log.projection import read
from ledger.school.calendar.model import Calendar, LockScope, check_calendar
from ledger.school.calendar.tables import CALENDAR_SET, ENTRY_LOCKED, ENTRY_OPENED, calendars
from ledger.school.rules import identity
from ledger.school.rules.roles import Role
from ledger.school.years.queries import holds, year_row


async def _require_role(session: SchoolSession, actor: Actor, roles: tuple[Role, ...], field: str) -> None:
    today = session.now().date()
    for role in roles:
        if await holds(session, str(actor.user), role, today):
            return
    names = " hoặc ".join(role.value for role in roles)
    raise Refused(
        "role.not_held",
        f"{actor.user} không giữ vai trò {names} vào ngày {today.isoformat()}",
        f"{actor.user} does not hold {'/'.join(r.value for r in roles)} on {today.isoformat()}",
        field=field,
        rule="Điều 33, 36",
    )


async def set_calendar(ledger: Ledger, school: str, actor: Actor, calendar: Calendar) -> list[Event]:
    """The principal sets (or changes) a year's calendar (Điều 33.3c)."""
    check_calendar(calendar)

    async def decide(session: SchoolSession) -> list[NewEvent]:
        await year_row(session, calendar.year)
        await _require_role(session, actor, (Role.PRINCIPAL,), "actor")
        current = await read(session.conn, calendars, session.school, year=calendar.year)
        if current and current[0]["calendar"] == calendar.payload():
            return []
        return [NewEvent(CALENDAR_SET, calendar.payload(), actor)]

    return await ledger.decide(school, decide)


async def set_lock(
    ledger: Ledger, school: str, actor: Actor, scope: LockScope, *, closed: bool, order: str, ordered_by: str
) -> list[Event]:
    """The admin closes or opens entry for a scope, on the principal's order (Điều 36.2)."""
    year = identity.school_year(scope.year)
    order_text = identity.text(order, "order")
    principal = identity.staff_id(ordered_by, "ordered_by")

    async def decide(session: SchoolSession) -> list[NewEvent]:
        await _require_role(session, actor, (Role.ADMIN,), "actor")
        if not await holds(session, principal, Role.PRINCIPAL, session.now().date()):
            raise Refused(
                "lock.order",
                f"{principal} không phải hiệu trưởng vào lúc này; khóa/mở chỉ theo quyết định của hiệu trưởng",
                f"{principal} is not the principal now; entry is closed or opened only on the principal's order",
                field="ordered_by",
                rule="Điều 36.2",
            )
        payload = {**scope.key(), "year": year, "class": scope.class_id, "order": {"text": order_text, "by": principal}}
        del payload["class_id"]
        return [NewEvent(ENTRY_LOCKED if closed else ENTRY_OPENED, payload, actor)]

    return await ledger.decide(school, decide)
