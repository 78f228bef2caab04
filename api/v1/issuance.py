"""Issuing a signed học bạ (Điều 24), the issued list, revocation (Điều 25.3), and a student's issued
documents byte for byte."""

from __future__ import annotations

from typing import Any, Literal

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK

from api.http.media import documented
from api.http.problems import ERRORS, problem
from api.http.scope import actor_for, ledger_of, principal_of, runtime_of
from api.v1.params import SCHOOL, IssuanceId, RevocationIn, SchoolId, StudentId, Year, appended
from ledger.app.db import AUDITOR_ROLE
from ledger.log.projection import read
from ledger.school.issuance.commands import issue_hocba, revoke_hocba
from ledger.school.issuance.queries import issued_file
from ledger.school.issuance.tables import issued
from ledger.school.rules.identity import personal_id


@post(
    f"{SCHOOL}/students/{{student:str}}/issue",
    operation_id="hocba_issue",
    opt={"action": "issuance.write"},
    responses=ERRORS,
    summary="Issue the student's signed học bạ for the year; its XML and PDF are kept as they are (the clerk)",
)
async def hocba_issue(
    request: Request[Any, Any, Any], state: State, school: SchoolId, student: StudentId, year: Year
) -> dict[str, Any]:
    personal_id(student)
    runtime = runtime_of(state)
    event = await issue_hocba(
        ledger_of(state),
        school,
        actor_for(principal_of(request), "CLERK"),
        year,
        student,
        runtime.trusted_roots(),
        runtime.crls(),
        runtime.signer(school),
        runtime.checkpoint_policy(),
        verification=runtime.verification(),
        time_stamper=runtime.time_stamper(),
    )
    code = runtime.verification().code(school, event.payload["hocba_id"])
    return {"seq": event.seq, **event.payload, "lookup_code": code}


@get(
    f"{SCHOOL}/issued",
    operation_id="issued_list",
    opt={"action": "issuance.read"},
    responses=ERRORS,
    summary="The học bạ issued by the school, with their status",
)
async def issued_list(state: State, school: SchoolId) -> dict[str, Any]:
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        rows = await read(conn, issued, school, order_by=["issuance_id"])
    return {
        "items": [
            {"id": r.pop("issuance_id"), **{k: v for k, v in r.items() if k not in ("school_id", "seq_from", "seq_to")}}
            for r in rows
        ]
    }


@post(
    f"{SCHOOL}/issued/{{issuance:str}}/revoke",
    operation_id="issued_revoke",
    opt={"action": "issuance.revoke"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Revoke an issued học bạ before the close, to replace it (Điều 25.3; the principal)",
)
async def issued_revoke(
    request: Request[Any, Any, Any], state: State, school: SchoolId, issuance: IssuanceId, data: JSONBody[RevocationIn]
) -> dict[str, Any]:
    event = await revoke_hocba(
        ledger_of(state), school, actor_for(principal_of(request), "PRINCIPAL"), issuance, data.reason
    )
    return appended([event])


@get(
    f"{SCHOOL}/students/{{student:str}}/issued",
    operation_id="student_issued",
    opt={"action": "issued.document"},
    responses=ERRORS,
    summary="The học bạ issued for a student (by personal identifier)",
)
async def student_issued(state: State, school: SchoolId, student: StudentId) -> dict[str, Any]:
    personal_id(student)
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        rows = await read(conn, issued, school, student_id=student, order_by=["issuance_id"])
    keep = (
        "issuance_id",
        "hocba_id",
        "year",
        "class_id",
        "status",
        "issued_on",
        "xml_sha256",
        "pdf_sha256",
        "replaces",
        "replaced_by",
    )
    return {"items": [{k: r[k] for k in keep} for r in rows]}


@get(
    f"{SCHOOL}/students/{{student:str}}/issued/{{issuance:str}}",
    operation_id="student_issued_document",
    opt={"action": "issued.document"},
    operation_class=documented(answers=("application/xml", "application/pdf")),
    responses=ERRORS,
    summary="The exact bytes of an issued học bạ: format=xml (with its ledger receipt) or pdf",
)
async def student_issued_document(
    state: State,
    school: SchoolId,
    student: StudentId,
    issuance: IssuanceId,
    format: FromQuery[Literal["xml", "pdf"]] = "xml",
) -> Response[Any]:
    personal_id(student)
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        found = await issued_file(conn, school, student, issuance, format)
    if found is None:
        return problem(404, "no such issued học bạ", "Không có học bạ đã ban hành này.")
    return Response(found[0], media_type="application/pdf" if format == "pdf" else "application/xml")
