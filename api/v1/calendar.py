"""The school calendar and entry locks (Điều 25, 33.3c, 36.2)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from api.http.problems import ERRORS, problem
from api.http.scope import actor_for, ledger_of, principal_of, runtime_of
from api.v1.params import SCHOOL, SchoolId, UsernameField, YearPath, appended
from ledger.app.db import AUDITOR_ROLE
from ledger.base.clock import parse_time
from ledger.base.errors import ValidationError
from ledger.log.projection import read
from ledger.school.calendar.commands import reopen_year, set_calendar, set_lock
from ledger.school.calendar.model import Decision, LockScope, calendar_from
from ledger.school.calendar.tables import calendars, locks, reopenings


class WindowIn(msgspec.Struct):
    opens: str
    closes: str


class TermIn(msgspec.Struct):
    starts: str
    ends: str


class CalendarIn(msgspec.Struct):
    order: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    terms: dict[str, TermIn] | None = None
    entry: dict[str, WindowIn] | None = None
    close: str | None = None
    final: str | None = None


@post(
    f"{SCHOOL}/calendar/{{year:str}}",
    operation_id="calendar_set",
    opt={"action": "calendar.set"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Set the year's calendar: terms, entry windows, the close and the final date (the principal)",
)
async def calendar_set(
    request: Request[Any, Any, Any], state: State, school: SchoolId, year: YearPath, data: JSONBody[CalendarIn]
) -> dict[str, Any]:
    supplied = {k: v for k, v in msgspec.to_builtins(data).items() if v is not None and k != "order"}
    calendar = calendar_from(year, data.order, supplied)
    events = await set_calendar(ledger_of(state), school, actor_for(principal_of(request), "PRINCIPAL"), calendar)
    return {**appended(events), "calendar": calendar.payload()}


@get(
    f"{SCHOOL}/calendar/{{year:str}}",
    operation_id="calendar_read",
    opt={"action": "calendar.read"},
    responses=ERRORS,
    summary="The year's calendar and its locks",
)
async def calendar_read(state: State, school: SchoolId, year: YearPath) -> Response[Any]:
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        rows = await read(conn, calendars, school, year=year)
        lock_rows = await read(conn, locks, school, year=year)
        reopened = await read(conn, reopenings, school, year=year, order_by=["opens_at"])
    if not rows:
        return problem(404, f"no calendar has been set for {year}", f"Chưa có lịch năm học {year}.")
    return Response({"calendar": rows[0]["calendar"], "locks": lock_rows, "reopenings": reopened})


class DecisionIn(msgspec.Struct):
    number: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    issued_by: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    issued_on: str
    sha256: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-fA-F]{64}$")]


class ReopeningIn(msgspec.Struct):
    until: str
    document: DecisionIn


@post(
    f"{SCHOOL}/calendar/{{year:str}}/reopenings",
    operation_id="calendar_reopen",
    opt={"action": "calendar.reopen"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="After the close, let approved corrections through until a moment, on the Department of Education's "
    "decision (the principal records it; Điều 25.4)",
)
async def calendar_reopen(
    request: Request[Any, Any, Any], state: State, school: SchoolId, year: YearPath, data: JSONBody[ReopeningIn]
) -> dict[str, Any]:
    doc = data.document
    decision = Decision.parse(doc.number, doc.issued_by, doc.issued_on, doc.sha256)
    try:
        until = parse_time(data.until)
    except ValueError:
        raise ValidationError(
            "reopening.until",
            "thời hạn là thời điểm ISO 8601 có múi giờ",
            "until is an ISO 8601 time with its offset",
            field="until",
        ) from None
    actor = actor_for(principal_of(request), "PRINCIPAL")
    events = await reopen_year(ledger_of(state), school, actor, year, until=until, decision=decision)
    return appended(events)


class LockIn(msgspec.Struct):
    year: Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{4}$")]
    state: Literal["closed", "open"]
    order: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    ordered_by: UsernameField
    class_id: str = "*"
    subject: str = "*"
    term: Annotated[int, msgspec.Meta(ge=0, le=2)] = 0


@post(
    f"{SCHOOL}/locks",
    operation_id="lock_set",
    opt={"action": "lock.set"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Close or open entry for the school, a class, a subject or a term, on the principal's order (the admin)",
)
async def lock_set(
    request: Request[Any, Any, Any], state: State, school: SchoolId, data: JSONBody[LockIn]
) -> dict[str, Any]:
    scope = LockScope(data.year, data.class_id, data.subject, data.term)
    events = await set_lock(
        ledger_of(state),
        school,
        actor_for(principal_of(request), "ADMIN"),
        scope,
        closed=data.state == "closed",
        order=data.order,
        ordered_by=data.ordered_by,
    )
    return appended(events)
