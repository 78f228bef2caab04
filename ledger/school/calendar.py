"""The school calendar, entry locks, and the rule every change of assessment data passes on the append
path (the regulation's Điều 25, 33.3c, 36.2; DOMAIN §4).

- The principal sets each year's calendar: terms, an entry window per term, the close of the year's
  data (31 May) and the final date for students with summer work (30 August). Times are +07:00.
- The admin closes and opens entry for the whole school, a class, a subject or a term, on the
  principal's written order, which the event names.
- A change is refused outside its term's entry window, under a closed lock, after the close (except
  for a student with summer re-assessment or summer training, until the final date), and after the
  final date for everyone. A correction approved by leadership passes windows and locks, never the
  close or the final date. Every refusal names the rule, the moment and the way forward.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, SmallInteger, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base.clock import VN_TZ, Clock, format_time, parse_time
from ledger.base.errors import DomainError, Refused, ValidationError
from ledger.format.envelope import Actor, Event, NewEvent
from ledger.log import store
from ledger.log.append import Ledger, SchoolSession
from ledger.log.projection import Projection, ProjectionWriter, read
from ledger.log.schema import projection_table
from ledger.school.rules import identity
from ledger.school.rules.roles import Role

CALENDAR_SET = "calendar.set"
ENTRY_LOCKED = "entry.locked"
ENTRY_OPENED = "entry.opened"
DEADLINE_REACHED = "deadline.reached"
ANY = "*"

calendars = projection_table("calendars", keys=[Column("year", Text)], values=[Column("calendar", JSONB)])
locks = projection_table(
    "locks",
    keys=[Column("year", Text), Column("class_id", Text), Column("subject", Text), Column("term", SmallInteger)],
    values=[Column("state", Text), Column("order_ref", JSONB), Column("changed_by", Text)],
)
deadlines = projection_table(
    "deadlines", keys=[Column("year", Text), Column("deadline", Text)], values=[Column("reached_at", Text)]
)


class Change(StrEnum):
    """What kind of change is being made, for the rule."""

    ENTRY = "entry"  # typed or imported entry of a term's data: window, lock, close, final
    SUMMER = "summer"  # summer re-assessment and conduct re-assessment: close (pending students), final
    CORRECTION = "correction"  # filing or applying a correction: close (pending students), final
    TRANSFER = "transfer"  # results inherited from the sending school (Điều 26): close, final


@dataclass(frozen=True)
class Window:
    opens: datetime
    closes: datetime


@dataclass(frozen=True)
class Calendar:
    year: str
    terms: Mapping[int, tuple[date, date]]
    entry: Mapping[int, Window]
    close: datetime  # the year's data is closed (chốt) after this moment (Điều 25.1)
    final: datetime  # nothing changes after this moment (Điều 25.2, 25.4)
    order: str

    def payload(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "terms": {
                str(t): {"starts": s.isoformat(), "ends": e.isoformat()} for t, (s, e) in sorted(self.terms.items())
            },
            "entry": {
                str(t): {"opens": format_time(w.opens), "closes": format_time(w.closes)}
                for t, w in sorted(self.entry.items())
            },
            "close": format_time(self.close),
            "final": format_time(self.final),
            "order": self.order,
        }

    @classmethod
    def from_payload(cls, doc: Mapping[str, Any]) -> Calendar:
        return cls(
            doc["year"],
            {int(t): (date.fromisoformat(v["starts"]), date.fromisoformat(v["ends"])) for t, v in doc["terms"].items()},
            {int(t): Window(parse_time(v["opens"]), parse_time(v["closes"])) for t, v in doc["entry"].items()},
            parse_time(doc["close"]),
            parse_time(doc["final"]),
            doc["order"],
        )


def end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, VN_TZ)


def start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, VN_TZ)


def default_calendar(year: str, order: str) -> Calendar:
    """The usual calendar: terms of the school year, entry open through each term and a week after,
    the close at the end of 31 May and the final date at the end of 30 August (Điều 25)."""
    first, last = (int(y) for y in identity.school_year(year).split("-"))
    terms = {1: (date(first, 9, 5), date(last, 1, 15)), 2: (date(last, 1, 19), date(last, 5, 25))}
    entry = {
        1: Window(start_of(date(first, 9, 5)), end_of(date(last, 1, 22))),
        2: Window(start_of(date(last, 1, 19)), end_of(date(last, 5, 31))),
    }
    return Calendar(year, terms, entry, end_of(date(last, 5, 31)), end_of(date(last, 8, 30)), order)


def parse_calendar(year: str, raw: Mapping[str, Any], order: str) -> Calendar:
    """A calendar from its JSON form (see Calendar.payload), validated."""
    try:
        calendar = Calendar.from_payload({**raw, "year": year, "order": order})
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise ValidationError(
            "calendar.invalid",
            f"lịch năm học không hợp lệ: {exc}",
            f"the calendar is not valid: {exc}",
            field="calendar",
        ) from None
    check_calendar(calendar)
    return calendar


def calendar_from(year: str, order: str, changes: Mapping[str, Any] | None = None) -> Calendar:
    """The usual calendar with the parts that differ (terms, entry, close, final), validated."""
    if changes is not None and not isinstance(changes, Mapping):
        raise ValidationError(
            "calendar.invalid", "lịch năm học là một đối tượng JSON", "a calendar is a JSON object", field="calendar"
        )
    return parse_calendar(year, {**default_calendar(year, order).payload(), **(changes or {})}, order)


def check_calendar(calendar: Calendar) -> None:
    def bad(field: str, vi: str, en: str) -> ValidationError:
        return ValidationError("calendar.invalid", vi, en, field=field)

    if set(calendar.terms) != {1, 2} or set(calendar.entry) != {1, 2}:
        raise bad("terms", "cần đúng học kì 1 và 2", "needs exactly terms 1 and 2")
    for term, (starts, ends) in calendar.terms.items():
        if not starts < ends:
            raise bad(f"terms.{term}", "học kì phải bắt đầu trước khi kết thúc", "a term starts before it ends")
        window = calendar.entry[term]
        if not window.opens < window.closes:
            raise bad(f"entry.{term}", "thời hạn nhập phải mở trước khi đóng", "an entry window opens before it closes")
    if calendar.terms[1][1] >= calendar.terms[2][0]:
        raise bad("terms.2", "học kì 2 bắt đầu sau khi học kì 1 kết thúc", "term 2 starts after term 1 ends")
    if not calendar.entry[2].closes <= calendar.close < calendar.final:
        raise bad(
            "close",
            "hạn chốt dữ liệu phải sau khi đóng nhập học kì 2 và trước ngày cuối cùng",
            "the close comes after term 2's entry closes and before the final date",
        )
    if not calendar.order.strip():
        raise bad("order", "cần số quyết định của hiệu trưởng", "the principal's order is required")


# --- commands ----------------------------------------------------------------------------------


async def _require_role(session: SchoolSession, actor: Actor, roles: tuple[Role, ...], field: str) -> None:
    from ledger.school.years import holds

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
        from ledger.school.years import year_row

        await year_row(session, calendar.year)
        await _require_role(session, actor, (Role.PRINCIPAL,), "actor")
        current = await read(session.conn, calendars, session.school, year=calendar.year)
        if current and current[0]["calendar"] == calendar.payload():
            return []
        return [NewEvent(CALENDAR_SET, calendar.payload(), actor)]

    return await ledger.decide(school, decide)


@dataclass(frozen=True)
class LockScope:
    year: str
    class_id: str = ANY
    subject: str = ANY
    term: int = 0  # 0: every term

    def key(self) -> dict[str, Any]:
        return {"year": self.year, "class_id": self.class_id, "subject": self.subject, "term": self.term}

    def describe(self) -> str:
        parts = [f"năm học {self.year}"]
        if self.class_id != ANY:
            parts.append(f"lớp {self.class_id}")
        if self.subject != ANY:
            parts.append(f"môn {self.subject}")
        if self.term:
            parts.append(f"học kì {self.term}")
        return ", ".join(parts)


async def set_lock(
    ledger: Ledger, school: str, actor: Actor, scope: LockScope, *, closed: bool, order: str, ordered_by: str
) -> list[Event]:
    """The admin closes or opens entry for a scope, on the principal's order (Điều 36.2)."""
    year = identity.school_year(scope.year)
    order_text = identity.text(order, "order")
    principal = identity.staff_id(ordered_by, "ordered_by")

    async def decide(session: SchoolSession) -> list[NewEvent]:
        from ledger.school.years import holds

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


# --- the rule ----------------------------------------------------------------------------------


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
    session: SchoolSession, year: str, class_id: str | None, subject: str | None, term: int | None
) -> dict[str, Any] | None:
    for row in await read(session.conn, locks, session.school, year=year):
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


def _when(moment: datetime) -> str:
    return moment.astimezone(VN_TZ).strftime("%H:%M ngày %d/%m/%Y")


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
) -> None:
    """Refuse a change of assessment data that the calendar or a lock forbids now."""
    calendar = await calendar_of(session, year)
    now = session.now()
    if now > calendar.final:
        raise Refused(
            "deadline.final",
            f"Đã qua ngày {_when(calendar.final)}: dữ liệu năm học {year} là bản cuối cùng, "
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
                f"Dữ liệu năm học {year} đã chốt lúc {_when(calendar.close)}; chỉ học sinh kiểm tra lại "
                f"hoặc rèn luyện trong hè được cập nhật đến {_when(calendar.final)}.",
                f"The {year} data was closed at {format_time(calendar.close)}; only students with summer "
                f"re-assessment or summer training may be updated until {format_time(calendar.final)}.",
                field=field,
                rule="Điều 25.1, 25.2",
                deadline=format_time(calendar.close),
            )
    if change in (Change.CORRECTION, Change.TRANSFER):
        return  # approved by leadership, or signed by the sending school: passes windows and locks
    if change is Change.ENTRY:
        window = calendar.entry.get(term or 0)
        if window is None:
            raise ValidationError("term.invalid", "học kì là 1 hoặc 2", "the term is 1 or 2", field="term")
        if now < window.opens:
            raise Refused(
                "window.not_open",
                f"Chưa đến thời hạn nhập dữ liệu học kì {term}: mở lúc {_when(window.opens)}.",
                f"Entry for term {term} opens at {format_time(window.opens)}.",
                field=field,
                rule="Điều 33.3c",
                opens=format_time(window.opens),
            )
        if now > window.closes:
            raise Refused(
                "window.closed",
                f"Đã hết thời hạn nhập dữ liệu học kì {term} lúc {_when(window.closes)}. Muốn sửa hay bổ sung, "
                "hãy gửi đề nghị điều chỉnh để lãnh đạo phê duyệt (Điều 17.3).",
                f"Entry for term {term} closed at {format_time(window.closes)}. To change or add data, "
                "file a correction request for leadership approval (Điều 17.3).",
                field=field,
                rule="Điều 33.3c",
                closed=format_time(window.closes),
            )
    lock = await closed_lock(session, year, class_id, subject, term)
    if lock is not None:
        scope = LockScope(year, lock["class_id"], lock["subject"], lock["term"]).describe()
        raise Refused(
            "lock.closed",
            f"Việc nhập dữ liệu ({scope}) đang bị khóa theo {lock['order_ref']['text']}. "
            "Hãy đề nghị hiệu trưởng mở khóa, hoặc gửi đề nghị điều chỉnh.",
            f"Entry ({scope}) is locked by order {lock['order_ref']['text']}. "
            "Ask the principal to open it, or file a correction request.",
            field=field,
            rule="Điều 36.2",
        )


async def summer_pending(session: SchoolSession, year: str, student: str) -> bool:
    """Was the student's year, as it stood at the close, one that calls for summer re-assessment or
    summer training (Điều 25.2)? Such a student stays open until the final date, also while their
    summer results come in one by one."""
    from ledger.school.rules.tt22 import Promotion, promotion
    from ledger.school.transcripts import load_student_year

    view = await load_student_year(session.conn, session.school, year, student)
    outcome, year_data = view.outcome, view.student_year
    learning, conduct = outcome.learning["year"], outcome.conduct["year"]
    if learning is None or conduct is None or year_data.absences is None:
        return False
    before_summer = promotion(year_data.grade, year_data.absences, conduct, learning.level)
    return before_summer in (Promotion.RE_ASSESSMENT, Promotion.SUMMER_TRAINING)


# --- projections -------------------------------------------------------------------------------


async def _on_calendar(w: ProjectionWriter, e: Event) -> None:
    await w.put(calendars, {"year": e.payload["year"]}, {"calendar": dict(e.payload)})


async def _on_lock(w: ProjectionWriter, e: Event) -> None:
    p = e.payload
    key = {"year": p["year"], "class_id": p["class"], "subject": p["subject"], "term": p["term"]}
    state = "closed" if e.type == ENTRY_LOCKED else "open"
    await w.put(locks, key, {"state": state, "order_ref": p["order"], "changed_by": str(e.actor.user)})


async def _on_deadline(w: ProjectionWriter, e: Event) -> None:
    await w.put(
        deadlines, {"year": e.payload["year"], "deadline": e.payload["deadline"]}, {"reached_at": e.payload["at"]}
    )


PROJECTION = Projection(
    "deadlines",
    (calendars, locks, deadlines),
    {CALENDAR_SET: _on_calendar, ENTRY_LOCKED: _on_lock, ENTRY_OPENED: _on_lock, DEADLINE_REACHED: _on_deadline},
)
