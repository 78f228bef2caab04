"""What a request carries once it is in: its access entry, its principal, the school year it names,
and the process's runtime and ledger."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection

from audit.trail import AccessEntry
from ledger.app.runtime import Runtime
from ledger.format.envelope import Actor
from ledger.log.append import Ledger
from ledger.school.rules.policy import Principal

ACCESS = "hocba.access"  # scope key of the request's AccessEntry
PUBLIC = "public"
SESSION_COOKIE = "hocba_session"  # a page's sign-in: the same short-lived token as the API's bearer


def entry_of(connection: ASGIConnection[Any, Any, Any, Any]) -> AccessEntry:
    entry: AccessEntry = connection.scope[ACCESS]  # type: ignore[literal-required]
    return entry


def year_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The school year a request names (`?year=`); a page that names none means the year it was
    opened in (set by the page layer before the guard runs)."""
    year = connection.query_params.get("year") or connection.scope.get("hocba.year")
    return str(year) if year else None


def runtime_of(state: Any) -> Runtime:
    """The process's Runtime, from the application state."""
    runtime: Runtime = state.runtime
    return runtime


def ledger_of(state: Any) -> Ledger:
    ledger: Ledger = state.ledger
    return ledger


def actor_for(principal: Principal, role: str) -> Actor:
    """The actor an event records for a signed-in person acting in `role`."""
    return Actor(principal.staff_id or principal.username, role, account=principal.username)


def principal_of(request: Request[Any, Any, Any]) -> Principal:
    principal: Principal = request.scope["hocba.principal"]  # type: ignore[typeddict-item]
    return principal
