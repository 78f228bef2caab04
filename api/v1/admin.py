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
from audit.rules import alert
from ledger.base.errors import Forbidden
from ledger.school.accounts.commands import create_account, disable_account
from ledger.school.imports import sector as importer
from ledger.school.rules.policy import AccountKind
from ledger.school.rules.roles import Role


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
    return report.to_json()


PRIVILEGED = (AccountKind.AUDITOR, AccountKind.INTEGRATION)


class AccountIn(msgspec.Struct):
    username: UsernameField
    kind: Literal["STAFF", "AUDITOR", "INTEGRATION", "GUARDIAN", "STUDENT"]
    staff_id: str | None = None
    student_id: str | None = None
    password: str | None = None


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
    kind = AccountKind(data.kind)
    principal = principal_of(request)
    needed = Role.PRINCIPAL if kind in PRIVILEGED else Role.ADMIN
    if needed not in principal.roles:
        who = "Hiệu trưởng" if needed is Role.PRINCIPAL else "quản trị viên"
        raise Forbidden(
            "account.not_yours",
            f"Tài khoản loại {kind.value} chỉ do {who} tạo.",
            f"A {kind.value} account is made by the {needed.value.lower()} only.",
            field="kind",
            rule="Điều 5.3c",
        )
    made = await create_account(
        runtime.engine(),
        school,
        data.username,
        kind,
        staff_id=data.staff_id,
        student_id=data.student_id,
        password=data.password,
        now=runtime.clock.now(),
    )
    if kind in PRIVILEGED:  # every account that reads all records is known to auditors and the principal
        now = runtime.clock.now()
        detail = {"kind": kind.value, "created_by": principal.username}
        await state.trail.raise_alerts(school, [alert("privileged_account", made.username, now, now, detail)])
    return {"username": made.username, "kind": made.kind.value, "password": made.password, "api_key": made.api_key}


@post(
    f"{SCHOOL}/accounts/{{username:str}}/disable",
    operation_id="account_disable",
    opt={"action": "school.admin"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Disable an account (the person left): its password, API key and tokens stop working at once",
)
async def account_disable(
    state: State, school: SchoolId, username: Annotated[str, PathParameter(max_length=100)]
) -> dict[str, Any]:
    runtime = runtime_of(state)
    await disable_account(runtime.engine(), school, username, runtime.clock.now())
    return {"username": username, "disabled": True}
