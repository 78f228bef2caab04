"""Errors as RFC 9457 problem+json, in Vietnamese beside English, and the handlers that make them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import msgspec
import psycopg
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from api.http.client_certs import REFUSALS
from api.http.scope import ACCESS
from audit.trail import AccessEntry
from ledger.base.errors import DomainError
from ledger.base.logs import get_logger

log = get_logger(__name__)
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
        400: "The request cannot be read as one request: a query parameter given more than once",
        401: "Not signed in, or the credential is not valid",
        403: "The role, assignment or time does not allow it",
        404: "Not found",
        409: "Refused by a rule of the regulation, or in conflict with the current state",
        422: "Invalid input: the field and the rule are named",
        429: "Too many refused logins: retry later",
        503: "The database or the access trail is not available: retry",
    }.items()
}

UPLOAD_ERRORS = {
    **ERRORS,
    413: ResponseSpec(
        data_container=Problem,
        description="The upload is beyond a limit: bytes, signatures, pages, rows, cells or time",
        media_type=PROBLEM,
    ),
    503: ResponseSpec(
        data_container=Problem,
        description="The database, the access trail or the upload workers are not available: retry",
        media_type=PROBLEM,
    ),
}
"""The errors of a route that reads an uploaded file in the worker processes (ledger.app.workers)."""

_VI = {
    400: "Yêu cầu không hợp lệ.",
    401: "Chưa đăng nhập hoặc thông tin đăng nhập không hợp lệ.",
    403: "Vai trò, phân công hoặc thời điểm hiện tại không cho phép thao tác này.",
    404: "Không tìm thấy.",
    405: "Phương thức không được hỗ trợ.",
    413: "Tệp gửi lên vượt quá giới hạn.",
    429: "Đăng nhập sai quá nhiều lần; vui lòng thử lại sau.",
    500: "Lỗi hệ thống; yêu cầu chưa được thực hiện.",
    503: "Dịch vụ tạm thời không sẵn sàng; vui lòng thử lại.",
}


def vietnamese(status: int) -> str:
    """The Vietnamese sentence for an HTTP status without a message of its own."""
    return _VI[status]


def problem(
    status: int,
    en: str,
    vi: str | None = None,
    *,
    retry_after: int = 60,
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> Response[Problem]:
    doc = Problem(title=_title(status), status=status, detail=en, detail_vi=vi or _VI.get(status, en), **fields)
    sent = dict(headers or {})
    if status in (429, 503):
        sent["Retry-After"] = str(retry_after)
    return Response(doc, status_code=status, media_type=PROBLEM, headers=sent or None)


def _title(status: int) -> str:
    return {
        400: "Bad request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not found",
        405: "Method not allowed",
        409: "Conflict",
        413: "Content too large",
        422: "Invalid input",
        429: "Too many requests",
        500: "Internal error",
        503: "Service unavailable",
    }.get(status, "Error")


def _request_id(request: Request[Any, Any, Any]) -> str | None:
    entry = request.scope.get(ACCESS)
    return entry.request_id if isinstance(entry, AccessEntry) else None


def on_domain_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    assert isinstance(exc, DomainError)
    entry = request.scope.get(ACCESS)
    if isinstance(entry, AccessEntry):
        entry.reason = exc.code
    return problem(
        exc.status,
        exc.en,
        exc.vi,
        retry_after=getattr(exc, "retry_after", 60),
        code=exc.code,
        field=exc.field,
        rule=exc.rule,
        request_id=_request_id(request),
    )


def on_http_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    assert isinstance(exc, HTTPException)
    status = 422 if isinstance(exc, ValidationException) else exc.status_code
    detail = str(exc.detail)
    if isinstance(exc, ValidationException) and exc.extra:
        detail = f"{detail}: {json.dumps(exc.extra, ensure_ascii=False, default=str)}"
    methods = {k.lower(): v for k, v in (exc.headers or {}).items()}.get("allow")
    allow = {"Allow": methods} if status == 405 and methods else None
    code = "upload.too_large" if status == 413 else None  # a body beyond the route's limit, refused unread
    entry = request.scope.get(ACCESS)
    if code and isinstance(entry, AccessEntry):
        entry.reason = code
    vi = _VI.get(status) if status != 422 else f"Dữ liệu không hợp lệ: {detail}"
    if status == 401 and isinstance(entry, AccessEntry) and entry.reason in REFUSALS:
        code, vi = entry.reason, REFUSALS[entry.reason][0]  # which check refused the client certificate
    return problem(
        status,
        detail,
        vi,
        headers=allow,
        code=code,
        request_id=_request_id(request),
    )


def on_database_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    """Data the database cannot hold is the caller's to fix (422); a database that cannot be reached is
    a moment to wait (503, retryable: appends are idempotent by event id)."""
    status = database_status(exc)
    if status == 422:  # the database's own words stay in the log: they name tables and columns
        log.info("a value the database cannot hold", error=str(getattr(exc, "orig", exc)))
        out_of_range = isinstance(getattr(exc, "orig", exc), psycopg.errors.NumericValueOutOfRange)
        return problem(
            422,
            "a number is out of range (at most 9223372036854775807)"
            if out_of_range
            else "a value cannot be stored: too long, out of range or not valid text",
            "Có số vượt quá giới hạn cho phép."
            if out_of_range
            else "Có giá trị không lưu được (quá dài, vượt giới hạn hoặc không phải văn bản hợp lệ); "
            "hãy kiểm tra dữ liệu gửi lên.",
            request_id=_request_id(request),
        )
    if status == 503:
        return problem(
            503, "the database is not reachable or too slow; retry", retry_after=5, request_id=_request_id(request)
        )
    return on_unexpected(request, exc)


# A database that answers too slowly is a moment to wait, like one that cannot be reached: a statement
# or a lock wait cut short by the engine's timeouts (ledger.app.db.Timeouts).
_STUCK = (psycopg.errors.QueryCanceled, psycopg.errors.LockNotAvailable)


def database_status(exc: Exception) -> int | None:
    """422 for data the database cannot hold, 503 for a database that cannot be reached or is stuck
    (a connection, a statement, a lock or a free connection of the pool waited for too long), None for
    anything else."""
    if isinstance(exc, PoolTimeout):
        log.warning("database unavailable: no free connection in time")
        return 503
    if not isinstance(exc, DBAPIError | psycopg.Error):
        return None
    cause = getattr(exc, "orig", exc)
    if isinstance(cause, psycopg.DataError):
        return 422
    if isinstance(cause, _STUCK):
        log.warning("database unavailable: a statement or a lock wait was cut short", error=type(cause).__name__)
        return 503
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
    PoolTimeout: on_database_error,
    Exception: on_unexpected,
}
