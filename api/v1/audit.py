"""The ledger and the access trail, for auditors and for families (who viewed a record)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Response, get
from litestar.datastructures import State
from litestar.params import FromQuery, QueryParameter

from api.http.problems import ERRORS, problem
from api.http.scope import runtime_of
from api.v1.params import SCHOOL, SchoolId, StudentId
from audit.trail import query_access, query_alerts
from ledger.app.db import AUDITOR_ROLE
from ledger.app.verification import verify_installation
from ledger.log import store


@get(
    f"{SCHOOL}/ledger/checkpoint",
    operation_id="ledger_checkpoint",
    opt={"action": "ledger.read"},
    responses=ERRORS,
    summary="The school's latest signed checkpoint (docs/LEDGER-FORMAT.md §6)",
)
async def ledger_checkpoint(state: State, school: SchoolId) -> Response[Any]:
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        latest = await store.latest_checkpoint(conn, school)
    if latest is None:
        return problem(404, "no checkpoint has been signed yet", "Chưa có điểm kiểm (checkpoint) nào được ký.")
    return Response(latest.checkpoint.to_json())


@get(
    f"{SCHOOL}/ledger/verify",
    operation_id="ledger_verify",
    opt={"action": "ledger.verify"},
    responses=ERRORS,
    summary="Verify both of the school's logs (its events and its access trail) and their checkpoints now",
)
async def ledger_verify(state: State, school: SchoolId) -> dict[str, Any]:
    report, _ = await verify_installation(runtime_of(state), [school], ask_witnesses=False)
    return report.to_json()


def _page(rows: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    items = [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()} for row in rows]
    cursor = str(rows[-1]["entry"]) if len(rows) == limit else None
    return {"items": items, "next": cursor}


@get(
    f"{SCHOOL}/audit/access",
    operation_id="audit_access",
    opt={"action": "audit.read"},
    responses=ERRORS,
    summary="Access entries: who accessed a student, what a user did, refused attempts",
)
async def audit_access(
    state: State,
    school: SchoolId,
    student: FromQuery[str | None] = None,
    user: FromQuery[str | None] = None,
    outcome: FromQuery[Literal["allowed", "denied", "refused", "failed"] | None] = None,
    cursor: Annotated[int | None, QueryParameter(ge=1)] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        rows = await query_access(
            conn, school, student=student, username=user, outcome=outcome, before_entry=cursor, limit=limit
        )
    return _page(rows, limit)


@get(
    f"{SCHOOL}/audit/alerts",
    operation_id="audit_alerts",
    opt={"action": "audit.read"},
    responses=ERRORS,
    summary="Alerts raised by the unusual-access rules (Điều 20.3)",
)
async def audit_alerts(state: State, school: SchoolId) -> dict[str, Any]:
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        rows = await query_alerts(conn, school)
    return {
        "items": [
            {k: (str(v) if not isinstance(v, dict | list | int | None) else v) for k, v in r.items()} for r in rows
        ]
    }


@get(
    f"{SCHOOL}/students/{{student:str}}/viewers",
    operation_id="student_viewers",
    opt={"action": "student.viewers"},
    responses=ERRORS,
    summary="Who viewed this student's record, and when (for guardians)",
)
async def student_viewers(
    state: State,
    school: SchoolId,
    student: StudentId,
    cursor: Annotated[int | None, QueryParameter(ge=1)] = None,
) -> dict[str, Any]:
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        rows = await query_access(conn, school, student=student, outcome="allowed", before_entry=cursor, limit=100)
    viewers = [
        {"entry": r["entry"], "at": r["at"], "username": r["username"], "roles": r["roles"], "action": r["action"]}
        for r in rows
    ]
    return _page(viewers, 100)
