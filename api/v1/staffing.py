"""Who holds which role: the list of assignments, the principal's approval of the grants the
administrator records, and the end of an assignment (Điều 5.3c, 18.5, 18.7, 27, 33.2)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK

from api.http.problems import ERRORS
from api.http.scope import actor_for, ledger_of, principal_of, runtime_of
from api.v1.params import SCHOOL, SchoolId, appended
from ledger.app.accounts import acting_role
from ledger.app.db import AUDITOR_ROLE
from ledger.school.years.commands import end_assignment
from ledger.school.years.grants import decide_grant, deciding_role
from ledger.school.years.queries import assignment_list


class GrantDecisionIn(msgspec.Struct):
    note: str | None = None  # the decision's number when approving; the reason when refusing


class EndIn(msgspec.Struct):
    valid_to: str  # the last day the assignment holds, YYYY-MM-DD
    decision: str | None = None  # the decision that ends it (number, date, who signed)


@get(
    f"{SCHOOL}/assignments",
    operation_id="assignment_list",
    opt={"action": "assignment.read"},
    responses=ERRORS,
    summary="Every assignment in force or waiting for the principal's approval, with the person's name",
)
async def assignment_listing(state: State, school: SchoolId) -> list[dict[str, Any]]:
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        return await assignment_list(conn, school)


async def _decide(
    request: Request[Any, Any, Any], state: State, school: str, assignment: uuid.UUID, approve: bool, note: str | None
) -> dict[str, Any]:
    actor = actor_for(principal_of(request), deciding_role(principal_of(request)))
    event = await decide_grant(ledger_of(state), school, actor, assignment, approve=approve, note=note)
    return appended([event])


@post(
    f"{SCHOOL}/assignments/{{assignment:uuid}}/approve",
    operation_id="assignment_approve",
    opt={"action": "assignment.approve"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="The principal approves a grant the administrator recorded; it takes effect (Điều 5.3c)",
)
async def assignment_approve(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    assignment: FromPath[uuid.UUID],
    data: JSONBody[GrantDecisionIn],
) -> dict[str, Any]:
    return await _decide(request, state, school, assignment, True, data.note)


@post(
    f"{SCHOOL}/assignments/{{assignment:uuid}}/refuse",
    operation_id="assignment_refuse",
    opt={"action": "assignment.approve"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="The principal refuses a waiting grant, with a reason; it never takes effect",
)
async def assignment_refuse(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    assignment: FromPath[uuid.UUID],
    data: JSONBody[GrantDecisionIn],
) -> dict[str, Any]:
    return await _decide(request, state, school, assignment, False, data.note)


@post(
    f"{SCHOOL}/assignments/{{assignment:uuid}}/end",
    operation_id="assignment_end",
    opt={"action": "assignment.end"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="End an assignment on its last day, citing the decision (the person left or handed over)",
)
async def assignment_end(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    assignment: FromPath[uuid.UUID],
    data: JSONBody[EndIn],
) -> dict[str, Any]:
    principal = principal_of(request)
    actor = actor_for(principal, acting_role(principal))
    return appended(await end_assignment(ledger_of(state), school, actor, assignment, data.valid_to, data.decision))
