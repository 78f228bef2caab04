"""Authorization: one guard for every route and page, deny by default (role × assignment × time, decided
by ledger.school.rules.policy)."""

from __future__ import annotations

import re
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from api.http.client_certs import REFUSALS, ClientCertificates, presented_certificate
from api.http.scope import PUBLIC, SESSION_COOKIE, entry_of, year_of
from ledger.app.db import AUDITOR_ROLE
from ledger.app.runtime import Runtime
from ledger.base.errors import AuthenticationFailed, BadRequest, DomainError
from ledger.log.projection import read
from ledger.school.accounts.principals import Principals
from ledger.school.accounts.queries import account_by_api_key
from ledger.school.rules import identity
from ledger.school.rules.policy import AccountKind, Principal, Target, allowed
from ledger.school.years.queries import current_year, subject_code
from ledger.school.years.tables import enrolments

SUBJECT_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,31}")
CLASS_ID = re.compile(r"[6-9][A-Za-z0-9]{1,7}")


def _term_and_class_by_name(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """A term the path names as people write it ("HK I", "Học kì 2", "II") is its number, and a class
    typed in lower case ("6a1") its id, from here on (ledger.school.rules.names); a number is left for
    the route to check, a name that is no term is refused."""
    params = connection.path_params
    term = params.get("term")
    if isinstance(term, str):
        params["term"] = int(term) if term.isdigit() else identity.term(term)
    class_id = params.get("class_id")
    if isinstance(class_id, str) and CLASS_ID.fullmatch(class_id):
        params["class_id"] = class_id.upper()


async def _subject_by_name(connection: ASGIConnection[Any, Any, Any, Any], runtime: Runtime, school: str) -> None:
    """A subject the path names by its name ("Toán", "ngữ văn") is its catalogue code from here on, for
    the policy and the handler alike (the one resolver, ledger.school.rules.names); a code is left as
    it is, an unknown name is refused naming the subjects of the year."""
    subject, year = connection.path_params.get("subject"), year_of(connection)
    if not isinstance(subject, str) or year is None or SUBJECT_CODE.fullmatch(subject):
        return
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        connection.path_params["subject"] = await subject_code(conn, school, year, subject)


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


def _one_meaning(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """A query parameter given twice is refused before anything reads it: the guard and the handler
    must judge the same request (`?year=A&year=B` would be authorised for one year and served for
    the other)."""
    names = [name for name, _ in connection.query_params.multi_items()]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        entry_of(connection).reason = "query.repeated"
        raise BadRequest(
            "query.repeated",
            f"Tham số {', '.join(repeated)} xuất hiện nhiều lần; mỗi tham số chỉ được có một giá trị.",
            f"The query parameter {', '.join(repeated)} is given more than once; each takes one value.",
            field=repeated[0],
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
    term = connection.path_params.get("term")
    if isinstance(term, str) and term.isdigit():  # a number stays one in the access trail, as before names
        connection.path_params["term"] = int(term)
    entry.resource = dict(connection.path_params)
    if "year" in connection.query_params:
        entry.resource["year"] = connection.query_params["year"]
    if action == PUBLIC:
        _one_meaning(connection)
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
    _one_meaning(connection)  # after the account is known, so the refusal lands in its school's trail
    if not isinstance(action, str):
        entry.reason = "route.no_action"
        raise PermissionDeniedException("this route grants no access")
    if school is not None and school != principal.school:
        entry.reason = "school.other"
        raise PermissionDeniedException("the account belongs to another school")
    if handler.opt.get("page") and "year" not in connection.query_params:
        await _default_year(connection, runtime, principal.school)
    _term_and_class_by_name(connection)
    await _subject_by_name(connection, runtime, principal.school)
    target = await _target(connection, runtime, principal.school)
    if target.student:
        entry.touch([target.student])
    if not allowed(action, principal, target):
        entry.reason = f"policy.{action}"
        raise PermissionDeniedException(f"{action} is not allowed for this account, assignment and time")
    connection.scope["hocba.principal"] = principal  # type: ignore[typeddict-unknown-key]


async def _default_year(connection: ASGIConnection[Any, Any, Any, Any], runtime: Runtime, school: str) -> None:

    try:
        async with runtime.engine(AUDITOR_ROLE).connect() as conn:
            year = await current_year(conn, school, runtime.clock.now().date())
    except DomainError:
        return  # no year opened yet: pages that need one say so
    connection.scope["hocba.year"] = year  # type: ignore[typeddict-unknown-key]
    entry_of(connection).resource["year"] = year


async def authenticate(
    connection: ASGIConnection[Any, Any, Any, Any], runtime: Runtime, *, page: bool = False
) -> Principal:
    """The principal of a bearer token, an API key or a TLS client certificate (api.http.client_certs);
    for a page, of the session cookie (the same token, set by the sign-in page; never accepted by the
    API, so a cookie cannot drive it)."""
    from litestar.exceptions import NotAuthorizedException

    entry = entry_of(connection)
    header = connection.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    if page:
        scheme, credential = "bearer", connection.cookies.get(SESSION_COOKIE, "")
    jti = school = username = None
    issued: float | None = None
    try:
        clients: ClientCertificates = connection.app.state.client_certificates
        if scheme.lower() == "bearer" and credential:
            claims = connection.app.state.tokens.read(credential.strip())
            school, username, kind, jti, issued = claims.school, claims.username, claims.kind, claims.jti, claims.issued
        elif scheme.lower() == "apikey" and credential:
            school, username, kind = await account_by_api_key(runtime.engine(), credential.strip())
        elif not page and (cert := presented_certificate(connection, clients.proxies)) is not None:
            school, username, revoked = await clients.registered(runtime, cert)
            kind = AccountKind.INTEGRATION
            await clients.check(runtime, cert, revoked=revoked)  # a refusal lands in the school's trail
        else:
            ignored = entry.reason == "client_cert.untrusted_proxy"  # a proxy header from no trusted proxy
            raise AuthenticationFailed("client_cert.untrusted_proxy" if ignored else "credential.missing")
        principals: Principals = connection.app.state.principals
        return await principals.principal(
            runtime.engine(), school, username, kind, runtime.clock.now().date(), token=jti, issued=issued
        )
    except AuthenticationFailed as failure:
        entry.reason = failure.reason
        if school is not None:  # a genuine token of a signed-out or disabled account: its school's auditors see it
            entry.school, entry.username = school, username
        if failure.reason in REFUSALS:
            raise NotAuthorizedException(REFUSALS[failure.reason][1]) from None
        raise NotAuthorizedException("sign in with a valid token or API key") from None
