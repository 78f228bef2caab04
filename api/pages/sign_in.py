"""Signing in and out, and the home page of a signed-in person."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from api.http.scope import PUBLIC, SESSION_COOKIE, entry_of, runtime_of, year_of
from api.pages.staff import student_names, subject_names_of
from api.pages.toolkit import (
    SAFE_PATH,
    SCHOOL_PAGE,
    class_list,
    fields_of,
    form_of,
    may,
    page,
    principal_or_none,
    render,
    session_cookie,
    staff_names,
    text_of,
)
from api.v1.auth import end_session, refused_logins
from api.v1.params import SchoolId
from ledger.app.db import AUDITOR_ROLE
from ledger.app.logins import LOGIN_WINDOW, login_succeeded
from ledger.base.errors import AuthenticationFailed
from ledger.log import store
from ledger.school.accounts.queries import check_password
from ledger.school.rules.policy import AccountKind
from ledger.school.years.model import hocba_order


def _safe_next(value: str | None) -> str | None:
    """Only a path of this site: never another host (//host, scheme:, or tricks browsers undo)."""
    if value and SAFE_PATH.fullmatch(value) and not value.startswith("//"):
        return value
    return None


@get("/dang-nhap", operation_id="page_login", opt={"action": PUBLIC}, include_in_schema=False)
async def login_page(request: Request[Any, Any, Any], state: State) -> Template:
    school = runtime_of(state).settings.school
    if school is None:
        async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
            known = await store.school_ids(conn)
        school = known[0] if len(known) == 1 else ""
    return render(request, "login.html", "login", school=school, next=_safe_next(request.query_params.get("next")))


@post("/dang-nhap", operation_id="page_login_submit", opt={"action": PUBLIC}, status_code=303, include_in_schema=False)
async def login_submit(request: Request[Any, Any, Any], state: State) -> Response[Any]:

    fields = await fields_of(request)
    password = (await request.form()).get("password", "")  # as typed: a password is not trimmed
    school, username = fields.get("school", ""), fields.get("username", "")
    again = {"school": school, "username": username, "next": _safe_next(fields.get("next"))}
    text = text_of(request)
    if not (school and username and isinstance(password, str) and password):
        entry_of(request).reason = "login.incomplete"
        return render(request, "login.html", "login", 400, error=text["login_failed"], **again)
    reservation = await refused_logins(request, state, school, username)
    if reservation.over is not None:
        minutes = str(LOGIN_WINDOW.seconds // 60)
        blocked = render(request, "login.html", "login", 429, error=text["login_blocked"] % minutes, **again)
        blocked.headers["Retry-After"] = str(reservation.retry_after)
        return blocked
    try:
        kind = await check_password(runtime_of(state).engine(), school, username, password)
    except AuthenticationFailed as failure:
        entry_of(request).reason = failure.reason
        return render(request, "login.html", "login", 401, error=text["login_failed"], **again)
    await login_succeeded(runtime_of(state).engine(), reservation)
    token, _ = state.tokens.issue(username, school, kind)
    done = Redirect(again["next"] or f"/truong/{school}", status_code=303)
    done.cookies.append(session_cookie(request, token, int(state.tokens.ttl.total_seconds())))
    return done


@post("/dang-xuat", operation_id="page_logout", opt=page("account.me"), status_code=303, include_in_schema=False)
async def logout(request: Request[Any, Any, Any], state: State) -> Response[Any]:
    await form_of(request)
    await end_session(state, request.cookies.get(SESSION_COOKIE, ""))  # the cookie's token ends here, not at expiry
    done = Redirect("/dang-nhap", status_code=303)
    done.cookies.append(session_cookie(request, "", 0))
    return done


@get(SCHOOL_PAGE, operation_id="page_home", opt=page("account.me"), include_in_schema=False)
async def home(request: Request[Any, Any, Any], state: State, school: SchoolId) -> Template:
    """What the signed-in person may do now, each link offered only when the policy allows it."""
    principal = principal_or_none(request)
    assert principal is not None
    runtime = runtime_of(state)
    year = year_of(request)
    names = await staff_names(runtime, school)
    class_ids = await class_list(runtime, school, year)
    subject_names = await subject_names_of(runtime, school, year)
    sheets = sorted(
        {(g.class_id, g.subject, g.term) for g in principal.grants if g.subject and g.year == year},
        key=lambda s: (str(s[0]), hocba_order(str(s[1]), subject_names.get(str(s[1]), str(s[1]))), s[2] or 0),
    )
    board = [c for c in class_ids if may(principal, "class.read", year=year, class_id=c)]
    family = principal.kind in (AccountKind.GUARDIAN, AccountKind.STUDENT)
    child = principal.student_id if family else None
    name = names.get(principal.staff_id or "", principal.username)
    child_name = ""
    if child:  # a family's account is greeted, and its link named, by the pupil's name, not the username
        async with runtime.engine(AUDITOR_ROLE).connect() as conn:
            child_name = (await student_names(conn, school, [child])).get(child, "")
        if child_name:
            guardian = principal.kind == AccountKind.GUARDIAN
            name = text_of(request)["guardian_of"] % child_name if guardian else child_name
    return render(
        request,
        "home.html",
        "home",
        name=name,
        school=school,
        sheets=sheets,
        subject_names=subject_names,
        board_classes=board,
        inbox=may(principal, "correction.read"),
        calendar=may(principal, "calendar.read"),
        audit=may(principal, "audit.read"),
        people=may(principal, "assignment.read"),
        progress=may(principal, "progress.read"),
        child=child,
        child_name=child_name,
        own_record=principal.kind == AccountKind.STUDENT,
        role_names=sorted({g.role.value for g in principal.grants}),
    )
