"""Pages for people, in Vietnamese with an English toggle (`?lang=en`, remembered in a cookie), served
by the same application: the same guard and policy as the API (each page names the action it needs),
and one access-trail entry for every page view. Assets are served from this package; nothing comes
from a CDN, and the pages work without their one small script (it only checks values as they are
typed).

Signing in sets a cookie holding the same short-lived token the API hands out as a bearer token; only
page routes accept it (opt `page`), and every form they receive carries a token derived from it
(CSRF). This module holds the machinery (rendering, the session, errors as pages), the sign-in and
home pages, and the public verification portal (the regulation's Điều 2.14, 31). The leadership and
teacher pages are in api/staff_pages.py, the auditors' pages and the charts in api/audit_pages.py.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.datastructures import Cookie, State, UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException, ValidationException
from litestar.params import Body
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router

from api.page_text import ROLES, TEXT
from api.portal import MAX_UPLOAD, LookupIn, lookup, throttled, verification
from api.routes import SchoolId
from api.security import LOGIN_WINDOW, AuthenticationFailed, check_password
from api.web import PUBLIC, SESSION_COOKIE, database_status, entry_of, runtime_of, year_of
from ledger.app.db import AUDITOR_ROLE
from ledger.app.runtime import Runtime
from ledger.base.clock import VN_TZ, parse_time
from ledger.base.errors import DomainError
from ledger.base.logs import get_logger
from ledger.log import store
from ledger.log.projection import read
from ledger.school.rules.policy import Principal, Target, allowed
from ledger.school.years import classes, staff

log = get_logger(__name__)
PACKAGE = Path(__file__).resolve().parent
TEMPLATES = PACKAGE / "templates"
LANG_COOKIE = "hocba_lang"
SAFE_PATH = re.compile(r"/[A-Za-z0-9/._~%?&=+-]*")
SCORE_TEXT = re.compile(r"^\d{1,2}\.\d$")
CHECKS = ("intact", "chain_trusted", "valid_at_signing", "revoked", "timestamp_valid")
SCHOOL_PAGE = "/truong/{school:str}"


def page(action: str) -> dict[str, Any]:
    """The route options of a page for signed-in people: the policy action it needs."""
    return {"action": action, "page": True}


def lang_of(request: Request[Any, Any, Any]) -> str:
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return asked if asked in TEXT else "vi"


def text_of(request: Request[Any, Any, Any]) -> dict[str, str]:
    return TEXT[lang_of(request)]


def principal_or_none(request: Request[Any, Any, Any]) -> Principal | None:
    found = request.scope.get("hocba.principal")
    return found if isinstance(found, Principal) else None


def may(principal: Principal | None, action: str, **target: Any) -> bool:
    """Whether the policy lets this principal do `action` on the target: pages offer only what the
    guard would let through."""
    return principal is not None and allowed(action, principal, Target(**target))


def here(request: Request[Any, Any, Any], **changes: str | None) -> str:
    """This page's address with some query parameters changed (None removes one)."""
    query = {k: v for k, v in request.query_params.items() if k not in changes}
    query.update({k: v for k, v in changes.items() if v is not None})
    return request.url.path + (f"?{urlencode(query)}" if query else "")


def csrf_of(request: Request[Any, Any, Any], session: str | None = None) -> str:
    """The form token of a session (by default, the one this request carries)."""
    if session is None:
        session = request.cookies.get(SESSION_COOKIE, "")
    secret: bytes = request.app.state.tokens.secret
    return hmac.new(secret, b"csrf:" + session.encode(), hashlib.sha256).hexdigest()[:40]


class StaleForm(PermissionDeniedException):
    """A form without the token of the session that shows it: another site, or an old page."""


async def fields_of(request: Request[Any, Any, Any]) -> dict[str, str]:
    """A form's text fields, trimmed."""
    form = await request.form()
    return {key: value.strip() for key, value in form.items() if isinstance(value, str)}


async def form_of(request: Request[Any, Any, Any]) -> dict[str, str]:
    """A signed-in page's form fields, after checking its CSRF token."""
    fields = await fields_of(request)
    if not request.cookies.get(SESSION_COOKIE) or not hmac.compare_digest(fields.get("csrf", ""), csrf_of(request)):
        entry_of(request).reason = "page.csrf"
        raise StaleForm("the form's token does not match the session")
    return fields


def _session_cookie(request: Request[Any, Any, Any], token: str, max_age: int) -> Cookie:
    """Secure over HTTPS, and always in production (where TLS ends at the proxy in front)."""
    secure = request.url.scheme == "https" or runtime_of(request.app.state).settings.production
    return Cookie(
        key=SESSION_COOKIE, value=token, path="/", httponly=True, samesite="lax", max_age=max_age, secure=secure
    )


def render(
    request: Request[Any, Any, Any],
    template: str,
    title: str,
    status: int = 200,
    *,
    heading: str | None = None,
    **context: Any,
) -> Template:
    """A page: the language's words, the signed-in person, the CSRF token of their forms."""
    lang = lang_of(request)
    text = TEXT[lang]
    principal = principal_or_none(request)
    renewed = _renewed_session(request) if principal is not None else None
    response = Template(
        template_name=template,
        context={
            "t": text, "lang": lang, "other": "en" if lang == "vi" else "vi", "switch_url": here(request,
            lang="en" if lang == "vi" else "vi"), "path": request.url.path, "title": heading or text[title],
            "roles": ROLES[lang], "user": principal, "csrf": csrf_of(request, renewed) if principal else "",
            "year": year_of(request), **context,
        },
        status_code=status,
    )  # fmt: skip
    if "lang" in request.query_params and lang == request.query_params.get("lang"):
        response.cookies.append(Cookie(key=LANG_COOKIE, value=lang, httponly=True, samesite="lax", max_age=365 * 86400))
    if renewed is not None:
        response.cookies.append(_session_cookie(request, renewed, int(request.app.state.tokens.ttl.total_seconds())))
    return response


def _renewed_session(request: Request[Any, Any, Any]) -> str | None:
    """Keep a working session alive: past half its life, the token is replaced by a fresh one (and
    the page's forms carry the token of the new session)."""
    tokens = request.app.state.tokens
    try:
        claims = tokens.read(request.cookies.get(SESSION_COOKIE, ""))
    except AuthenticationFailed:
        return None
    if claims.expires - tokens.clock.now() >= tokens.ttl / 2:
        return None
    token: str = tokens.issue(claims.username, claims.school, claims.kind)[0]
    return token


def when(value: Any) -> str:
    """A moment as people at the school read it: 20/12/2025 09:00, in Vietnam's time."""
    if isinstance(value, str):
        try:
            value = parse_time(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        return value.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")
    return "" if value is None else str(value)


def day(value: Any) -> str:
    if isinstance(value, datetime):
        value = value.astimezone(VN_TZ).date()
    return value.strftime("%d/%m/%Y") if isinstance(value, date) else str(value)


def score(value: Any, lang: str) -> str:
    """A stored score ("8.5") as a Vietnamese reader writes it ("8,5"); Đ, CĐ and levels unchanged."""
    text = "" if value is None else str(value)
    return text.replace(".", ",") if lang == "vi" and SCORE_TEXT.match(text) else text


def template_filters(engine: JinjaTemplateEngine) -> None:
    engine.engine.filters.update(when=when, day=day, score=score)


# --- errors, as pages ------------------------------------------------------------------------------


def _error_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    text = text_of(request)
    if isinstance(exc, NotAuthorizedException):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Redirect(f"/dang-nhap?next={quote(target, safe='')}", status_code=303)
    rule = None
    if isinstance(exc, DomainError):
        entry_of(request).reason = exc.code
        status, message, rule = exc.status, exc.vi if lang_of(request) == "vi" else exc.en, exc.rule
    elif isinstance(exc, StaleForm):
        status, message = 403, text["stale_form"]
    elif isinstance(exc, PermissionDeniedException):
        status, message = 403, text["forbidden"]
    elif isinstance(exc, ValidationException):
        status, message = 400, text["bad_request"]
    elif isinstance(exc, HTTPException):
        status = exc.status_code
        message = text["not_found"] if status == 404 else text["bad_request"] if status < 500 else text["unavailable"]
    else:
        status = database_status(exc) or 500
        if status == 500:
            log.exception("page failed", path=request.url.path)
        message = {503: text["unavailable"], 422: text["bad_request"]}.get(status, text["internal"])
    return render(request, "error.html", "error", status, message=message, rule=rule)


PAGE_ERRORS: dict[type[Exception] | int, Any] = {
    NotAuthorizedException: _error_page,
    PermissionDeniedException: _error_page,
    HTTPException: _error_page,
    DomainError: _error_page,
    Exception: _error_page,
}


# --- sign-in, sign-out, home -----------------------------------------------------------------------


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
    from api.routes import refused_logins

    fields = await fields_of(request)
    password = (await request.form()).get("password", "")  # as typed: a password is not trimmed
    school, username = fields.get("school", ""), fields.get("username", "")
    again = {"school": school, "username": username, "next": _safe_next(fields.get("next"))}
    text = text_of(request)
    if not (school and username and isinstance(password, str) and password):
        entry_of(request).reason = "login.incomplete"
        return render(request, "login.html", "login", 400, error=text["login_failed"], **again)
    if await refused_logins(request, state, school, username):
        minutes = str(LOGIN_WINDOW.seconds // 60)
        return render(request, "login.html", "login", 429, error=text["login_blocked"] % minutes, **again)
    try:
        kind = await check_password(runtime_of(state).engine(), school, username, password)
    except AuthenticationFailed as failure:
        entry_of(request).reason = failure.reason
        return render(request, "login.html", "login", 401, error=text["login_failed"], **again)
    token, _ = state.tokens.issue(username, school, kind)
    done = Redirect(again["next"] or f"/truong/{school}", status_code=303)
    done.cookies.append(_session_cookie(request, token, int(state.tokens.ttl.total_seconds())))
    return done


@post("/dang-xuat", operation_id="page_logout", opt=page("account.me"), status_code=303, include_in_schema=False)
async def logout(request: Request[Any, Any, Any]) -> Response[Any]:
    await form_of(request)
    done = Redirect("/dang-nhap", status_code=303)
    done.cookies.append(_session_cookie(request, "", 0))
    return done


async def class_list(runtime: Runtime, school: str, year: str | None) -> list[str]:
    if year is None:
        return []
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        rows = await read(conn, classes, school, year=year)
    return sorted(r["class_id"] for r in rows)


async def staff_names(runtime: Runtime, school: str) -> dict[str, str]:
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        return {r["staff_id"]: r["full_name"] for r in await read(conn, staff, school)}


@get(SCHOOL_PAGE, operation_id="page_home", opt=page("account.me"), include_in_schema=False)
async def home(request: Request[Any, Any, Any], state: State, school: SchoolId) -> Template:
    """What the signed-in person may do now, each link offered only when the policy allows it."""
    principal = principal_or_none(request)
    assert principal is not None
    runtime = runtime_of(state)
    year = year_of(request)
    names = await staff_names(runtime, school)
    class_ids = await class_list(runtime, school, year)
    sheets = sorted(
        {(g.class_id, g.subject, g.term) for g in principal.grants if g.subject and g.year == year},
        key=lambda s: (str(s[0]), str(s[1]), s[2] or 0),
    )
    board = [c for c in class_ids if may(principal, "class.read", year=year, class_id=c)]
    return render(
        request, "home.html", "home", name=names.get(principal.staff_id or "", principal.username),
        school=school, sheets=sheets, board_classes=board,
        inbox=may(principal, "correction.read"), calendar=may(principal, "calendar.read"),
        audit=may(principal, "audit.read"), role_names=sorted({g.role.value for g in principal.grants}),
    )  # fmt: skip


# --- the public verification portal ----------------------------------------------------------------


def _portal(request: Request[Any, Any, Any], template: str, title: str, status: int = 200, **context: Any) -> Template:
    text = text_of(request)
    labels = {**text, "intact": text["intact_check"], "revoked": text["revoked_check"]}
    return render(request, template, title, status, labels=labels, **context)


@get("/cong-xac-minh", operation_id="page_portal", opt={"action": PUBLIC}, include_in_schema=False)
async def portal_page(request: Request[Any, Any, Any]) -> Template:
    return _portal(request, "portal.html", "portal")


@post(
    "/cong-xac-minh", operation_id="page_portal_verify", opt={"action": PUBLIC}, status_code=200,
    include_in_schema=False, request_max_body_size=MAX_UPLOAD + 64 * 1024,
)  # fmt: skip
async def portal_verify_page(
    request: Request[Any, Any, Any],
    state: State,
    data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Template | Response[Any]:
    blocked = await throttled(request, state)
    if blocked is not None:
        return _portal(request, "portal_result.html", "report", 429, error=text_of(request)["too_many"])
    upload = data.get("file")
    body = await upload.read() if isinstance(upload, UploadFile) else b""
    if not body or len(body) > MAX_UPLOAD:
        entry_of(request).reason = "portal.no_file"
        return _portal(request, "portal_result.html", "report", 422, error=text_of(request)["bad_file"])
    outcome = await verification(state.runtime, body)
    if outcome["student"] is not None:
        entry_of(request).touch([outcome["student"]])
    return _portal(request, "portal_result.html", "report", checks=CHECKS, report=outcome["report"],
                   issued=outcome["issued"], revoked=outcome["revoked"])  # fmt: skip


@post("/cong-xac-minh/tra-cuu", operation_id="page_portal_lookup", opt={"action": PUBLIC}, status_code=200,
      include_in_schema=False)  # fmt: skip
async def portal_lookup_page(
    request: Request[Any, Any, Any],
    state: State,
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template:
    blocked = await throttled(request, state)
    if blocked is not None:
        return _portal(request, "portal_result.html", "lookup_result", 429, error=text_of(request)["too_many"])
    try:
        details = msgspec.convert({k: (v or "").strip() for k, v in data.items()}, LookupIn)
    except msgspec.ValidationError:
        entry_of(request).reason = "portal.bad_lookup"
        return _portal(request, "portal_result.html", "lookup_result", 422, error=text_of(request)["bad_lookup"])
    found = await lookup(state.runtime, details)
    if found is None:
        entry_of(request).reason = "portal.no_match"
        return _portal(request, "portal_result.html", "lookup_result", 404, error=text_of(request)["no_match"])
    entry_of(request).touch([details.student_id])
    return _portal(request, "portal_result.html", "lookup_result", found=found)


STATIC = create_static_files_router(
    path="/static", directories=[PACKAGE / "static"], opt={"action": PUBLIC}, include_in_schema=False
)


def page_router() -> Router:
    """Every page, with errors answered as pages (a sign-in page for a missing session)."""
    from api.audit_pages import AUDIT_PAGES
    from api.staff_pages import STAFF_PAGES

    handlers = [login_page, login_submit, logout, home, portal_page, portal_verify_page, portal_lookup_page]
    return Router(
        path="/", route_handlers=[*handlers, *STAFF_PAGES, *AUDIT_PAGES, STATIC], exception_handlers=PAGE_ERRORS
    )
