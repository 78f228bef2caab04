"""The calendar of the year and the entry locks, with the admin's lock form (Điều 25, 33.3c, 36.2)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from api.http.scope import actor_for, ledger_of, principal_of, runtime_of
from api.pages.staff import need_year
from api.pages.toolkit import (
    SCHOOL_PAGE,
    form_of,
    may,
    page,
    principal_or_none,
    refusal_message,
    render,
    text_of,
)
from api.v1.params import SchoolId
from ledger.app.db import AUDITOR_ROLE
from ledger.app.runtime import Runtime
from ledger.base.errors import DomainError, ValidationError
from ledger.log.projection import read
from ledger.school.calendar.commands import set_lock
from ledger.school.calendar.model import Calendar, LockScope
from ledger.school.calendar.tables import calendars, locks, reopenings
from ledger.school.years.tables import classes


def _window_state(now: Any, opens: Any, closes: Any) -> str:
    return "not_yet" if now < opens else "closed_now" if now > closes else "open_now"


async def _calendar(
    request: Request[Any, Any, Any], state: State, school: str, status: int = 200, **extra: Any
) -> Template:
    runtime = runtime_of(state)
    year = need_year(request)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        rows = await read(conn, calendars, school, year=year)
        lock_rows = await read(conn, locks, school, year=year)
        reopened = await read(conn, reopenings, school, year=year, order_by=["opens_at"])
    calendar = Calendar.from_payload(rows[0]["calendar"]) if rows else None
    now = runtime.clock.now()
    windows = (
        [(term, w, _window_state(now, w.opens, w.closes)) for term, w in sorted(calendar.entry.items())]
        if calendar
        else []
    )
    shown_locks = [
        {**row, "scope": LockScope(year, row["class_id"], row["subject"], row["term"]).describe()} for row in lock_rows
    ]
    return render(
        request,
        "calendar.html",
        "calendar",
        status,
        school=school,
        calendar=calendar,
        windows=windows,
        locks=shown_locks,
        reopenings=reopened,
        can_lock=may(principal_or_none(request), "lock.set"),
        now=now,
        class_ids=sorted(await _class_ids(runtime, school, year)),
        **extra,
    )


async def _class_ids(runtime: Runtime, school: str, year: str) -> list[str]:
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        return [r["class_id"] for r in await read(conn, classes, school, year=year)]


@get(SCHOOL_PAGE + "/lich", operation_id="page_calendar", opt=page("calendar.read"), include_in_schema=False)
async def calendar_page(request: Request[Any, Any, Any], state: State, school: SchoolId) -> Template:
    done = text_of(request)["lock_done"] if request.query_params.get("xong") else None
    return await _calendar(request, state, school, notice=done)


@post(
    SCHOOL_PAGE + "/lich/khoa", operation_id="page_lock", opt=page("lock.set"), status_code=303, include_in_schema=False
)
async def lock_page(request: Request[Any, Any, Any], state: State, school: SchoolId) -> Response[Any]:
    form = await form_of(request)
    year = need_year(request)
    try:
        term = form.get("term") or "0"
        if not term.isdigit():
            raise ValidationError("lock.term", "học kì là 1 hoặc 2", "the term is 1 or 2", field="term")
        scope = LockScope(year, form.get("class_id") or "*", (form.get("subject") or "*").upper(), int(term))
        await set_lock(
            ledger_of(state),
            school,
            actor_for(principal_of(request), "ADMIN"),
            scope,
            closed=form.get("state") != "open",
            order=form.get("order", ""),
            ordered_by=form.get("ordered_by", ""),
        )
    except DomainError as error:
        return await _calendar(request, state, school, error.status, **refusal_message(request, error))
    return Redirect(f"/truong/{school}/lich?year={year}&xong=1", status_code=303)
