"""The calendar of the year and the entry locks, with the admin's lock form (Điều 25, 33.3c, 36.2)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from api.http.scope import actor_for, ledger_of, principal_of, runtime_of
from api.pages.staff import need_year, subject_names_of
from api.pages.toolkit import (
    SCHOOL_PAGE,
    form_of,
    may,
    page,
    principal_or_none,
    refusal_message,
    render,
    staff_names,
    text_of,
)
from api.v1.params import SchoolId
from ledger.app.db import AUDITOR_ROLE
from ledger.app.runtime import Runtime
from ledger.base.clock import VN_TZ, format_time
from ledger.base.errors import DomainError, ValidationError
from ledger.log.projection import read
from ledger.school.calendar.commands import set_calendar, set_lock
from ledger.school.calendar.model import Calendar, LockScope, calendar_from, default_calendar
from ledger.school.calendar.tables import calendars, locks, reopenings
from ledger.school.rules import identity
from ledger.school.years.model import hocba_order
from ledger.school.years.tables import assignments, classes


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
    subject_names = await subject_names_of(runtime, school, year)
    shown_locks = [
        {
            **row,
            "scope": LockScope(year, row["class_id"], row["subject"], row["term"]).describe(
                subject_names.get(row["subject"])
            ),
        }
        for row in lock_rows
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
        can_set=may(principal_or_none(request), "calendar.set"),
        draft=calendar or default_calendar(year, ""),
        now=now,
        class_ids=sorted(await _class_ids(runtime, school, year)),
        subjects=await _subjects(runtime, school, year),
        principals=await _principals(runtime, school, now.astimezone(VN_TZ).date()),
        **extra,
    )


def _day_start(text: str, field: str) -> datetime:
    return datetime.combine(identity.parse_date(text, field), time.min, VN_TZ)


def _day_end(text: str, field: str) -> datetime:
    return datetime.combine(identity.parse_date(text, field), time.max, VN_TZ)


def calendar_of_form(year: str, form: dict[str, str]) -> Calendar:
    """The calendar the principal's form gives: each term's first and last day, each entry window
    from the start of its first day to the end of its last, the close and the final date at the end
    of their days, and the decision that sets them."""
    changes: dict[str, Any] = {
        "terms": {t: {"starts": form.get(f"t{t}-starts", ""), "ends": form.get(f"t{t}-ends", "")} for t in "12"},
        "entry": {
            t: {
                "opens": format_time(_day_start(form.get(f"e{t}-opens", ""), f"entry.{t}.opens")),
                "closes": format_time(_day_end(form.get(f"e{t}-closes", ""), f"entry.{t}.closes")),
            }
            for t in "12"
        },
        "close": format_time(_day_end(form.get("close", ""), "close")),
        "final": format_time(_day_end(form.get("final", ""), "final")),
    }
    for t in "12":
        for part in ("starts", "ends"):
            changes["terms"][t][part] = identity.parse_date(changes["terms"][t][part], f"terms.{t}.{part}").isoformat()
    return calendar_from(year, form.get("order", ""), changes)


@post(
    SCHOOL_PAGE + "/lich/ban-hanh",
    operation_id="page_calendar_set",
    opt=page("calendar.set"),
    status_code=303,
    include_in_schema=False,
)
async def calendar_set_page(request: Request[Any, Any, Any], state: State, school: SchoolId) -> Response[Any]:
    """The principal sets the year's calendar on the page, as through the API: a date that has passed
    is never moved (Điều 25), and a refusal says which and why."""
    form = await form_of(request)
    year = need_year(request)
    try:
        calendar = calendar_of_form(year, form)
        await set_calendar(ledger_of(state), school, actor_for(principal_of(request), "PRINCIPAL"), calendar)
    except DomainError as error:
        return await _calendar(request, state, school, error.status, typed=form, **refusal_message(request, error))
    return Redirect(f"/truong/{school}/lich?year={year}&ban-hanh=1", status_code=303)


async def _class_ids(runtime: Runtime, school: str, year: str) -> list[str]:
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        return [r["class_id"] for r in await read(conn, classes, school, year=year)]


@get(SCHOOL_PAGE + "/lich", operation_id="page_calendar", opt=page("calendar.read"), include_in_schema=False)
async def calendar_page(request: Request[Any, Any, Any], state: State, school: SchoolId) -> Template:
    query = request.query_params
    done = (
        text_of(request)["lock_done"]
        if query.get("xong")
        else text_of(request)["calendar_done"]
        if query.get("ban-hanh")
        else None
    )
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


async def _subjects(runtime: Runtime, school: str, year: str) -> list[tuple[str, str]]:
    """The year's subjects, code and name, in the học bạ's order: a lock names one of them."""
    names = await subject_names_of(runtime, school, year)
    return sorted(names.items(), key=lambda item: hocba_order(*item))


async def _principals(runtime: Runtime, school: str, today: date) -> list[tuple[str, str]]:
    """Who holds the principal's office today, by staff id and name: a lock is on their order (Điều 36.2)."""
    names = await staff_names(runtime, school)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        rows = await read(conn, assignments, school, role="PRINCIPAL")
    holders = {
        r["staff_id"]
        for r in rows
        if not r["pending"] and r["valid_from"] <= today and (r["valid_to"] is None or r["valid_to"] >= today)
    }
    return sorted(((staff_id, names.get(staff_id, staff_id)) for staff_id in holders), key=lambda p: p[1])
