"""Staff and accounts: who holds which role, the grants waiting for the principal, ending an
assignment and disabling an account when someone leaves (Điều 5.3c, 18.5, 18.7, 27, 33.2)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from api.http.scope import actor_for, ledger_of, principal_of, runtime_of
from api.pages.text import ROLES
from api.pages.toolkit import (
    SCHOOL_PAGE,
    form_of,
    lang_of,
    may,
    page,
    principal_or_none,
    refusal_message,
    render,
    text_of,
)
from api.v1.params import SchoolId
from ledger.app.accounts import acting_role
from ledger.app.db import AUDITOR_ROLE
from ledger.base.errors import DomainError, ValidationError
from ledger.school.accounts.commands import disable_account
from ledger.school.accounts.queries import account_list
from ledger.school.years.commands import end_assignment
from ledger.school.years.grants import decide_grant, deciding_role
from ledger.school.years.queries import assignment_list

PEOPLE_PAGE = SCHOOL_PAGE + "/nhan-su"


async def _people(
    request: Request[Any, Any, Any], state: State, school: str, status: int = 200, **extra: Any
) -> Template:
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        grants = await assignment_list(conn, school)
        accounts = await account_list(conn, school)
    principal = principal_or_none(request)
    return render(
        request,
        "people.html",
        "people",
        status,
        school=school,
        pending=[g for g in grants if g["pending"]],
        grants=[g for g in grants if not g["pending"]],
        accounts=accounts,
        roles=ROLES[lang_of(request)],
        can_approve=may(principal, "assignment.approve"),
        can_end=may(principal, "assignment.end"),
        can_disable=may(principal, "account.disable"),
        **extra,
    )


@get(PEOPLE_PAGE, operation_id="page_people", opt=page("assignment.read"), include_in_schema=False)
async def people_page(request: Request[Any, Any, Any], state: State, school: SchoolId) -> Template:
    done = text_of(request)["people_done"] if request.query_params.get("xong") else None
    return await _people(request, state, school, notice=done)


def _assignment(form: dict[str, str]) -> uuid.UUID:
    try:
        return uuid.UUID(form.get("assignment", ""))
    except ValueError:
        raise ValidationError(
            "assignment.unknown", "không có phân công này", "no such assignment", field="assignment"
        ) from None


async def _then(request: Request[Any, Any, Any], state: State, school: str, work: Any) -> Response[Any] | Template:
    """Do the work; on a refusal, the page again with the reason and what was typed kept."""
    form = await form_of(request)
    try:
        await work(form)
    except DomainError as error:
        return await _people(request, state, school, error.status, typed=form, **refusal_message(request, error))
    return Redirect(f"/truong/{school}/nhan-su?xong=1", status_code=303)


@post(
    PEOPLE_PAGE + "/duyet",
    operation_id="page_grant_decide",
    opt=page("assignment.approve"),
    status_code=303,
    include_in_schema=False,
)
async def grant_decide_page(request: Request[Any, Any, Any], state: State, school: SchoolId) -> Any:
    actor = actor_for(principal_of(request), deciding_role(principal_of(request)))

    async def work(form: dict[str, str]) -> None:
        approve = form.get("decision") == "approve"
        note = form.get("note") or None
        await decide_grant(ledger_of(state), school, actor, _assignment(form), approve=approve, note=note)

    return await _then(request, state, school, work)


@post(
    PEOPLE_PAGE + "/ket-thuc",
    operation_id="page_assignment_end",
    opt=page("assignment.end"),
    status_code=303,
    include_in_schema=False,
)
async def assignment_end_page(request: Request[Any, Any, Any], state: State, school: SchoolId) -> Any:
    principal = principal_of(request)
    actor = actor_for(principal, acting_role(principal))

    async def work(form: dict[str, str]) -> None:
        decision = form.get("decision_text") or None
        await end_assignment(ledger_of(state), school, actor, _assignment(form), form.get("valid_to"), decision)

    return await _then(request, state, school, work)


@post(
    PEOPLE_PAGE + "/khoa",
    operation_id="page_account_disable",
    opt=page("account.disable"),
    status_code=303,
    include_in_schema=False,
)
async def account_disable_page(request: Request[Any, Any, Any], state: State, school: SchoolId) -> Any:
    actor = actor_for(principal_of(request), acting_role(principal_of(request)))

    async def work(form: dict[str, str]) -> None:
        await disable_account(ledger_of(state), school, form.get("username", ""), actor, form.get("reason") or None)

    return await _then(request, state, school, work)
