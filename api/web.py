"""The web layer's glue: the access-trail middleware, the one authorization guard every route passes,
and problem+json errors (RFC 9457) in Vietnamese and English."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any, cast

import msgspec
import psycopg
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import Message, Receive, Scope, Send
from sqlalchemy.exc import DBAPIError

from api.security import AuthenticationFailed, load_principal
from audit.trail import AccessEntry
from ledger.app.db import AUDITOR_ROLE
from ledger.app.runtime import Runtime
from ledger.base.errors import DomainError
from ledger.base.logs import get_logger
from ledger.format.envelope import Actor
from ledger.log.append import Ledger
from ledger.log.projection import read
from ledger.school.rules.policy import Principal, Target, allowed
from ledger.school.years import enrolments

log = get_logger(__name__)
ACCESS = "hocba.access"  # scope key of the request's AccessEntry
PUBLIC = "public"
SESSION_COOKIE = "hocba_session"  # a page's sign-in: the same short-lived token as the API's bearer
PROBLEM = "application/problem+json"


class Problem(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem, with the message in Vietnamese beside the English one."""

    title: str
    status: int
    detail: str
    detail_vi: str
    type: str = "about:blank"
    code: str | None = None
    field: str | None = None
    rule: str | None = None
    request_id: str | None = None


ERRORS = {
    status: ResponseSpec(data_container=Problem, description=text, media_type=PROBLEM)
    for status, text in {
        401: "Not signed in, or the credential is not valid",
        403: "The role, assignment or time does not allow it",
        404: "Not found",
        409: "Refused by a rule of the regulation, or in conflict with the current state",
        422: "Invalid input: the field and the rule are named",
        429: "Too many refused logins: retry later",
        503: "The database or the access trail is not available: retry",
    }.items()
}

_VI = {
    400: "Yêu cầu không hợp lệ.",
    401: "Chưa đăng nhập hoặc thông tin đăng nhập không hợp lệ.",
    403: "Vai trò, phân công hoặc thời điểm hiện tại không cho phép thao tác này.",
    404: "Không tìm thấy.",
    405: "Phương thức không được hỗ trợ.",
    429: "Đăng nhập sai quá nhiều lần; vui lòng thử lại sau.",
    500: "Lỗi hệ thống; yêu cầu chưa được thực hiện.",
    503: "Dịch vụ tạm thời không sẵn sàng; vui lòng thử lại.",
}


def entry_of(connection: ASGIConnection[Any, Any, Any, Any]) -> AccessEntry:
    entry: AccessEntry = connection.scope[ACCESS]  # type: ignore[literal-required]
    return entry


def problem(status: int, en: str, vi: str | None = None, *, retry_after: int = 60, **fields: Any) -> Response[Problem]:
    doc = Problem(title=_title(status), status=status, detail=en, detail_vi=vi or _VI.get(status, en), **fields)
    headers = {"Retry-After": str(retry_after)} if status in (429, 503) else None
    return Response(doc, status_code=status, media_type=PROBLEM, headers=headers)


def _title(status: int) -> str:
    return {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
            409: "Conflict", 422: "Invalid input", 429: "Too many requests", 500: "Internal error",
            503: "Service unavailable"}.get(status, "Error")  # fmt: skip


def _request_id(request: Request[Any, Any, Any]) -> str | None:
    entry = request.scope.get(ACCESS)
    return entry.request_id if isinstance(entry, AccessEntry) else None


def on_domain_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    assert isinstance(exc, DomainError)
    entry = request.scope.get(ACCESS)
    if isinstance(entry, AccessEntry):
        entry.reason = exc.code
    return problem(
        exc.status, exc.en, exc.vi, code=exc.code, field=exc.field, rule=exc.rule, request_id=_request_id(request)
    )


def on_http_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    assert isinstance(exc, HTTPException)
    status = 422 if isinstance(exc, ValidationException) else exc.status_code
    detail = str(exc.detail)
    if isinstance(exc, ValidationException) and exc.extra:
        detail = f"{detail}: {json.dumps(exc.extra, ensure_ascii=False, default=str)}"
    return problem(
        status,
        detail,
        _VI.get(status) if status != 422 else f"Dữ liệu không hợp lệ: {detail}",
        request_id=_request_id(request),
    )


def on_database_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    """Data the database cannot hold is the caller's to fix (422); a database that cannot be reached is
    a moment to wait (503, retryable: appends are idempotent by event id)."""
    status = database_status(exc)
    if status == 422:
        return problem(
            422,
            f"a value cannot be stored: {getattr(exc, 'orig', exc)}",
            "Có giá trị không lưu được; hãy kiểm tra dữ liệu gửi lên.",
            request_id=_request_id(request),
        )
    if status == 503:
        return problem(503, "the database is not reachable; retry", retry_after=5, request_id=_request_id(request))
    return on_unexpected(request, exc)


def database_status(exc: Exception) -> int | None:
    """422 for data the database cannot hold, 503 for a database that cannot be reached, None for
    anything else."""
    if not isinstance(exc, DBAPIError | psycopg.Error):
        return None
    cause = getattr(exc, "orig", exc)
    if isinstance(cause, psycopg.DataError):
        return 422
    if isinstance(cause, psycopg.OperationalError | psycopg.InterfaceError) or getattr(
        exc, "connection_invalidated", False
    ):
        log.warning("database unavailable")
        return 503
    return None


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    log.exception("request failed", path=request.url.path)
    return problem(500, "internal error; nothing was done", request_id=_request_id(request))


EXCEPTION_HANDLERS: dict[type[Exception] | int, Callable[..., Response[Any]]] = {
    DomainError: on_domain_error,
    HTTPException: on_http_error,
    DBAPIError: on_database_error,
    psycopg.Error: on_database_error,
    Exception: on_unexpected,
}


# --- authorization: one guard for every route --------------------------------------------------


async def _target(connection: ASGIConnection[Any, Any, Any, Any], runtime: Runtime, school: str) -> Target:
    params = connection.path_params
    year = year_of(connection)
    student = params.get("student")
    class_id = params.get("class_id")
    term = params.get("term")
    if student is not None and year is not None and class_id is None:
        async with runtime.engine(AUDITOR_ROLE).connect() as conn:
            rows = await read(conn, enrolments, school, year=year, student_id=student)
        class_id = rows[0]["class_id"] if rows else None
    return Target(
        year=year,
        class_id=class_id,
        subject=params.get("subject"),
        term=int(term) if isinstance(term, int | str) and str(term).isdigit() else None,
        student=student,
    )


async def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Deny by default: a route without an action, or a principal without a rule that allows the
    action on this target at this moment, is refused."""
    from litestar.exceptions import PermissionDeniedException

    entry = entry_of(connection)
    action = handler.opt.get("action")
    operation = getattr(handler, "operation_id", None)
    entry.action = operation if isinstance(operation, str) else handler.handler_name
    school = connection.path_params.get("school")
    entry.resource = dict(connection.path_params)
    if "year" in connection.query_params:
        entry.resource["year"] = connection.query_params["year"]
    if action == PUBLIC:
        return
    runtime: Runtime = connection.app.state.runtime
    principal = await authenticate(connection, runtime, page=bool(handler.opt.get("page")))
    # The entry goes to the chain of the account's school, which is where its auditors look; an
    # unauthenticated request goes to the service chain.
    entry.username, entry.roles, entry.school = (
        principal.username,
        sorted(r.value for r in principal.roles),
        principal.school,
    )
    if not isinstance(action, str):
        entry.reason = "route.no_action"
        raise PermissionDeniedException("this route grants no access")
    if school is not None and school != principal.school:
        entry.reason = "school.other"
        raise PermissionDeniedException("the account belongs to another school")
    if handler.opt.get("page") and "year" not in connection.query_params:
        await _default_year(connection, runtime, principal.school)
    target = await _target(connection, runtime, principal.school)
    if target.student:
        entry.touch([target.student])
    if not allowed(action, principal, target):
        entry.reason = f"policy.{action}"
        raise PermissionDeniedException(f"{action} is not allowed for this account, assignment and time")
    connection.scope["hocba.principal"] = principal  # type: ignore[typeddict-unknown-key]


async def _default_year(connection: ASGIConnection[Any, Any, Any, Any], runtime: Runtime, school: str) -> None:
    from ledger.school.years import current_year

    try:
        async with runtime.engine(AUDITOR_ROLE).connect() as conn:
            year = await current_year(conn, school, runtime.clock.now().date())
    except DomainError:
        return  # no year opened yet: pages that need one say so
    connection.scope["hocba.year"] = year  # type: ignore[typeddict-unknown-key]
    entry_of(connection).resource["year"] = year


def year_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The school year a request names (`?year=`); a page that names none means the year it was
    opened in (set by the page layer before the guard runs)."""
    year = connection.query_params.get("year") or connection.scope.get("hocba.year")
    return str(year) if year else None


async def authenticate(
    connection: ASGIConnection[Any, Any, Any, Any], runtime: Runtime, *, page: bool = False
) -> Principal:
    """The principal of a bearer token or API key; for a page, of the session cookie (the same token,
    set by the sign-in page; never accepted by the API, so a cookie cannot drive it)."""
    from litestar.exceptions import NotAuthorizedException

    from api.security import account_by_api_key

    entry = entry_of(connection)
    header = connection.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    if page:
        scheme, credential = "bearer", connection.cookies.get(SESSION_COOKIE, "")
    try:
        if scheme.lower() == "bearer" and credential:
            claims = connection.app.state.tokens.read(credential.strip())
            school, username, kind = claims.school, claims.username, claims.kind
        elif scheme.lower() == "apikey" and credential:
            school, username, kind = await account_by_api_key(runtime.engine(), credential.strip())
        else:
            raise AuthenticationFailed("credential.missing")
        today = runtime.clock.now().date()
        async with runtime.engine().connect() as conn:
            return await load_principal(conn, school, username, kind, today)
    except AuthenticationFailed as failure:
        entry.reason = failure.reason
        raise NotAuthorizedException("sign in with a valid token or API key") from None


def runtime_of(state: Any) -> Runtime:
    """The process's Runtime, from the application state."""
    runtime: Runtime = state.runtime
    return runtime


def ledger_of(state: Any) -> Ledger:
    ledger: Ledger = state.ledger
    return ledger


def actor_for(principal: Principal, role: str) -> Actor:
    """The actor an event records for a signed-in person acting in `role`."""
    return Actor(principal.staff_id or principal.username, role)


def principal_of(request: Request[Any, Any, Any]) -> Principal:
    principal: Principal = request.scope["hocba.principal"]  # type: ignore[typeddict-item]
    return principal


# --- the access trail: one entry per request, written before the response starts ----------------


class Service:
    """The ASGI application served: the Litestar app, wrapped so that every request, including one
    that matches no route, leaves exactly one access entry before its response starts. (Litestar's
    own middleware runs only for requests that reach a route.)"""

    def __init__(self, app: Any) -> None:
        self.app = app

    @property
    def state(self) -> Any:
        return self.app.state

    async def __call__(self, asgi_scope: Scope, receive: Receive, send: Send) -> None:
        scope = cast(dict[str, Any], asgi_scope)
        if scope["type"] != "http":
            await self.app(asgi_scope, receive, send)
            return
        runtime: Runtime = self.state.runtime
        client = scope.get("client")
        entry = AccessEntry(
            request_id=str(uuid.uuid4()),
            method=scope["method"],
            path=scope["path"],
            client=client[0] if client else None,
            started=runtime.clock.now(),
        )
        scope[ACCESS] = entry
        state = {"replaced": False, "started": False}

        async def send_recorded(message: Message) -> None:
            if message["type"] == "http.response.start" and not state["started"]:
                state["started"] = True
                try:
                    await self.state.trail.record(entry, message["status"])
                except Exception:
                    # Fail closed: without its access entry, the request does not succeed.
                    log.exception("access entry not written; answering 503", request_id=entry.request_id)
                    state["replaced"] = True
                    await _send_unavailable(send, entry.request_id)
                    return
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", entry.request_id.encode()))
                message = cast(Message, {**message, "headers": headers})
            if state["replaced"]:
                return
            await send(message)

        await self.app(asgi_scope, receive, send_recorded)


async def _send_unavailable(send: Send, request_id: str) -> None:
    body = msgspec.json.encode(
        Problem(
            title="Service unavailable",
            status=503,
            detail="the access trail could not be written; nothing is returned without it; retry",
            detail_vi=_VI[503],
            request_id=request_id,
        )
    )
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", PROBLEM.encode()),
                (b"retry-after", b"5"),
                (b"x-request-id", request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
