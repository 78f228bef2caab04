"""Correction requests and their four-eyes decisions (Điều 17.3)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK

from api.http.problems import ERRORS, problem
from api.http.scope import actor_for, entry_of, ledger_of, principal_of, runtime_of
from api.v1.params import SCHOOL, ClassId, SchoolId, SubjectCode, Term, Year, appended
from ledger.app.db import AUDITOR_ROLE
from ledger.log.projection import read
from ledger.school.corrections.commands import decide_request, file_request
from ledger.school.corrections.model import assessment_target, conduct_target
from ledger.school.corrections.queries import value_history
from ledger.school.corrections.tables import corrections


class CorrectionIn(msgspec.Struct):
    student: str
    new_value: str | float | int
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    old_value: str | float | int | None = None
    kind: Literal["regular", "midterm", "final"] | None = None
    slot: int | None = None
    attachment_sha256: str | None = None


async def file_correction(
    request: Request[Any, Any, Any], state: State, school: str, role: str, target: Any, data: CorrectionIn
) -> dict[str, Any]:
    event = await file_request(
        ledger_of(state),
        school,
        actor_for(principal_of(request), role),
        target,
        old_value=data.old_value,
        new_value=data.new_value,
        reason=data.reason,
        attachment_sha256=data.attachment_sha256,
    )
    return {"request": event.payload["request"], "seq": event.seq}


def _correction_out(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in row.items()}


@post(
    f"{SCHOOL}/classes/{{class_id:str}}/sheets/{{subject:str}}/{{term:str}}/corrections",
    operation_id="correction_file_sheet",
    opt={"action": "correction.file.sheet"},
    responses=ERRORS,
    summary="File a written correction request for an assessment of this sheet (Điều 17.3)",
)
async def correction_file_sheet(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    class_id: ClassId,
    subject: SubjectCode,
    term: Term,
    data: JSONBody[CorrectionIn],
    year: Year,
) -> dict[str, Any]:
    entry_of(request).touch([data.student])
    target = assessment_target(year, term, class_id, subject, data.student, data.kind, data.slot)
    return await file_correction(request, state, school, "SUBJECT_TEACHER", target, data)


@post(
    f"{SCHOOL}/classes/{{class_id:str}}/conduct/{{term:str}}/corrections",
    operation_id="correction_file_conduct",
    opt={"action": "correction.file.conduct"},
    responses=ERRORS,
    summary="File a written correction request for a conduct rating of this class (Điều 17.3)",
)
async def correction_file_conduct(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    class_id: ClassId,
    term: Term,
    data: JSONBody[CorrectionIn],
    year: Year,
) -> dict[str, Any]:
    entry_of(request).touch([data.student])
    target = conduct_target(year, term, class_id, data.student)
    return await file_correction(request, state, school, "HOMEROOM_TEACHER", target, data)


@get(
    f"{SCHOOL}/corrections",
    operation_id="correction_list",
    opt={"action": "correction.read"},
    responses=ERRORS,
    summary="Correction requests, newest first (the leadership inbox)",
)
async def correction_list(
    state: State,
    school: SchoolId,
    status: FromQuery[Literal["pending", "approved", "rejected", "expired"] | None] = None,
) -> dict[str, Any]:
    filters: dict[str, Any] = {"status": status} if status else {}
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        rows = await read(conn, corrections, school, order_by=["requested_at"], **filters)
    return {"items": [_correction_out(r) for r in reversed(rows)]}


@get(
    f"{SCHOOL}/corrections/{{request_id:uuid}}",
    operation_id="correction_read",
    opt={"action": "correction.read"},
    responses=ERRORS,
    summary="One correction request, with the history of the value it concerns",
)
async def correction_read(
    request: Request[Any, Any, Any], state: State, school: SchoolId, request_id: FromPath[uuid.UUID]
) -> Response[Any]:
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        rows = await read(conn, corrections, school, request_id=request_id)
        if not rows:
            return problem(404, "no such correction request", "Không có đề nghị điều chỉnh này.")
        target = rows[0]["target"]
        entry_of(request).touch([target["student"]])
        versions = await value_history(conn, school, target)
    return Response({**_correction_out(rows[0]), "history": versions})


class DecisionIn(msgspec.Struct):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


async def decide_correction(
    request: Request[Any, Any, Any], state: State, school: str, request_id: uuid.UUID, approve: bool, reason: str
) -> dict[str, Any]:
    principal = principal_of(request)
    role = "PRINCIPAL" if any(g.role.value == "PRINCIPAL" for g in principal.grants) else "LEADERSHIP"
    events = await decide_request(
        ledger_of(state), school, actor_for(principal, role), request_id, approve=approve, reason=reason
    )
    touched = [e.payload.get("student") for e in events]
    entry_of(request).touch(t for t in touched if t)
    return appended(events)


@post(
    f"{SCHOOL}/corrections/{{request_id:uuid}}/approve",
    operation_id="correction_approve",
    opt={"action": "correction.decide"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Approve a correction request; the change is appended with it (four eyes, Điều 17.3)",
)
async def correction_approve(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    request_id: FromPath[uuid.UUID],
    data: JSONBody[DecisionIn],
) -> dict[str, Any]:
    return await decide_correction(request, state, school, request_id, True, data.reason)


@post(
    f"{SCHOOL}/corrections/{{request_id:uuid}}/reject",
    operation_id="correction_reject",
    opt={"action": "correction.decide"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Reject a correction request, with a reason",
)
async def correction_reject(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    request_id: FromPath[uuid.UUID],
    data: JSONBody[DecisionIn],
) -> dict[str, Any]:
    return await decide_correction(request, state, school, request_id, False, data.reason)
