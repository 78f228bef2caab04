"""The pages' machinery: rendering in Vietnamese or English, the session cookie and its CSRF token,
forms, errors as pages, and the small reads every page needs. Imports no page."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException, ValidationException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template

from api.http.problems import database_status
from api.http.scope import SESSION_COOKIE, entry_of, runtime_of, year_of
from api.pages.text import ROLES, TEXT
from ledger.app.db import AUDITOR_ROLE
from ledger.app.runtime import Runtime
from ledger.base import vietnamese
from ledger.base.clock import VN_TZ, parse_time
from ledger.base.errors import AuthenticationFailed, DomainError
from ledger.base.logs import get_logger
from ledger.log.projection import read
from ledger.school.rules.policy import Principal, Target, allowed
from ledger.school.years.tables import classes, staff

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


def session_cookie(request: Request[Any, Any, Any], token: str, max_age: int) -> Cookie:
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
            "t": text,
            "lang": lang,
            "other": "en" if lang == "vi" else "vi",
            "switch_url": here(request, lang="en" if lang == "vi" else "vi"),
            "path": request.url.path,
            "title": heading or text[title],
            "roles": ROLES[lang],
            "user": principal,
            "csrf": csrf_of(request, renewed) if principal else "",
            "year": year_of(request),
            **context,
        },
        status_code=status,
    )
    if "lang" in request.query_params and lang == request.query_params.get("lang"):
        response.cookies.append(Cookie(key=LANG_COOKIE, value=lang, httponly=True, samesite="lax", max_age=365 * 86400))
    if renewed is not None:
        response.cookies.append(session_cookie(request, renewed, int(request.app.state.tokens.ttl.total_seconds())))
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
        return vietnamese.moment(value)
    return "" if value is None else str(value)


def day(value: Any) -> str:
    """A day as people write it: 28/11/2026 (from a date, a moment, or an ISO date's text)."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return str(value)
    return vietnamese.day(value) if isinstance(value, date) else str(value)


def score(value: Any, lang: str) -> str:
    """A stored score ("8.5") as a Vietnamese reader writes it ("8,5"); Đ, CĐ and levels unchanged."""
    text = "" if value is None else str(value)
    return vietnamese.number(text) if lang == "vi" and SCORE_TEXT.match(text) else text


def roman(term: Any) -> str:
    """A term as schools name it: I or II."""
    return {1: "I", 2: "II", "1": "I", "2": "II"}.get(term, str(term))


def counted(request: Request[Any, Any, Any], name: str) -> str | None:
    """A count carried in the query after a redirect ("?luu=3"), only if it is one: no other text
    from an address reaches a page's message."""
    value = request.query_params.get(name, "")
    return value if value.isdigit() else None


def class_order(class_id: str) -> tuple[Any, ...]:
    """Classes as a school lists them: 6A1, 6A2, …, 6A10, not 6A1, 6A10, 6A2."""
    return tuple(
        int(part) if part.isdigit() else vietnamese.collation_key(part) for part in re.split(r"(\d+)", class_id) if part
    )


def place_date(value: datetime, place: str = "") -> str:
    """Today's place-and-date line of a paper the school hands out: Ninh Bình, ngày 05 tháng 02 năm 2026."""
    return vietnamese.date_line(value.astimezone(VN_TZ).date(), place)


def refusal_message(request: Request[Any, Any, Any], error: DomainError) -> dict[str, Any]:
    """What a page shows of a refusal: the message in the page's language and the rule; the access
    entry keeps its code."""
    entry_of(request).reason = error.code
    return {"error": error.vi if lang_of(request) == "vi" else error.en, "rule": error.rule}


def confirmation(
    what: str,
    button: str,
    action: str,
    back: str,
    *,
    names: Sequence[str] = (),
    left_out: int = 0,
    fields: Mapping[str, str] | None = None,
    remote: bool = False,
    token: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """What a sign button shows before it signs (templates/confirm.html): what will be signed, the
    pupils by name, how many are left out, and the form that signs (`action` with `fields` and
    confirm=1) or goes `back`; with `remote`, a second form signs at the signer's remote-signing
    service, with their credential and the PIN/OTP that authorises the batch; with `token` (the batch's
    addresses, role, subject and pupils), a third hands the batch to the local signing helper of the
    signer's USB token (static/hocba.js)."""
    return {
        "what": what,
        "names": list(names),
        "left_out": left_out,
        "action": action,
        "back": back,
        "fields": dict(fields or {}),
        "button": button,
        "remote": remote,
        "token": dict(token) if token else None,
    }


def template_filters(engine: JinjaTemplateEngine) -> None:
    engine.engine.filters.update(when=when, day=day, score=score, date_line=place_date, roman=roman)


def _error_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    text = text_of(request)
    if isinstance(exc, NotAuthorizedException):
        entry_of(request).denied = True  # a page without a session is refused access, then sent to sign in
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
    shown = render(request, "error.html", "error", status, message=message, rule=rule)
    if status == 503:  # the database is unreachable or stuck: a moment to wait, as the API says
        shown.headers["Retry-After"] = "5"
    return shown


PAGE_ERRORS: dict[type[Exception] | int, Any] = {
    NotAuthorizedException: _error_page,
    PermissionDeniedException: _error_page,
    HTTPException: _error_page,
    DomainError: _error_page,
    Exception: _error_page,
}


async def class_list(runtime: Runtime, school: str, year: str | None) -> list[str]:
    if year is None:
        return []
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        rows = await read(conn, classes, school, year=year)
    return sorted(r["class_id"] for r in rows)


async def staff_names(runtime: Runtime, school: str) -> dict[str, str]:
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        return {r["staff_id"]: r["full_name"] for r in await read(conn, staff, school)}
