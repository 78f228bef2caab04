"""Administration: imports from the sector database, and accounts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, post
from litestar.datastructures import State
from litestar.params import JSONBody, PathParameter
from litestar.status_codes import HTTP_200_OK

from api.http.problems import ERRORS
from api.http.scope import actor_for, ledger_of, principal_of, runtime_of
from api.v1.params import SCHOOL, ImportKind, SchoolId, UsernameField
from ledger.app.accounts import acting_role, create_account_as, grant_alerts
from ledger.school.accounts.commands import disable_account
from ledger.school.imports import sector as importer
from ledger.school.rules.policy import AccountKind


class ImportIn(msgspec.Struct):
    rows: list[dict[str, Any]]
    year: str | None = None


@post(
    f"{SCHOOL}/imports/{{kind:str}}",
    operation_id="import_rows",
    opt={"action": "school.admin"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Import staff, students or assignments as the sector database exports them (docs/IMPORT.md)",
)
async def import_rows(
    request: Request[Any, Any, Any], state: State, school: SchoolId, kind: ImportKind, data: JSONBody[ImportIn]
) -> dict[str, Any]:
    actor = actor_for(principal_of(request), "ADMIN")
    ledger = ledger_of(state)
    if kind == "students":
        report = await importer.import_students(ledger, school, actor, data.rows, data.year)
    elif kind == "staff":
        report = await importer.import_staff(ledger, school, actor, data.rows)
    else:
        report = await importer.import_assignments(ledger, school, actor, data.rows)
        await grant_alerts(state.trail, runtime_of(state).clock, school, report.events, principal_of(request).username)
    return report.to_json()


class AccountIn(msgspec.Struct):
    username: UsernameField
    kind: Literal["STAFF", "AUDITOR", "INTEGRATION", "GUARDIAN", "STUDENT"]
    staff_id: str | None = None
    student_id: str | None = None
    password: str | None = None


class DisableIn(msgspec.Struct):
    reason: str | None = None  # why: the person left, the account was compromised


@post(
    f"{SCHOOL}/accounts",
    operation_id="account_create",
    opt={"action": "account.create"},
    responses=ERRORS,
    summary="Create an account; a generated password or API key is shown once. Auditor and integration "
    "accounts only by the principal, and each raises an alert",
)
async def account_create(
    request: Request[Any, Any, Any], state: State, school: SchoolId, data: JSONBody[AccountIn]
) -> dict[str, Any]:
    runtime = runtime_of(state)
    made = await create_account_as(
        ledger_of(state),
        state.trail,
        runtime.clock,
        principal_of(request),
        data.username,
        AccountKind(data.kind),
        staff_id=data.staff_id,
        student_id=data.student_id,
        password=data.password,
    )
    return {"username": made.username, "kind": made.kind.value, "password": made.password, "api_key": made.api_key}


@post(
    f"{SCHOOL}/accounts/{{username:str}}/disable",
    operation_id="account_disable",
    opt={"action": "account.disable"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Disable an account (the person left): its password, API key and tokens stop working at once",
)
async def account_disable(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    username: Annotated[str, PathParameter(max_length=100)],
    data: JSONBody[DisableIn | None] = None,
) -> dict[str, Any]:
    actor = actor_for(principal_of(request), acting_role(principal_of(request)))
    await disable_account(ledger_of(state), school, username, actor, data.reason if data else None)
    return {"username": username, "disabled": True}
