"""The homeroom teacher's entries (Điều 34): conduct, absences, comments; the summer results; and the
homeroom teacher's signature of the class's term record (Điều 18.4)."""

from __future__ import annotations

import base64
from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import State
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from api.http.problems import ERRORS, UPLOAD_ERRORS
from api.http.scope import actor_for, entry_of, ledger_of, principal_of, runtime_of
from api.v1.params import SCHOOL, ClassId, Period, SchoolId, SubjectCode, Term, Year, appended
from api.v1.signatures import SignedIn, class_signature_answer, signed_body
from ledger.app.db import AUDITOR_ROLE
from ledger.format.envelope import Event
from ledger.school.assessments.commands import (
    record_absences,
    record_conduct,
    record_homeroom_comments,
    record_reassessments,
    record_summer_conduct,
)
from ledger.school.class_sheets.commands import prepare_term, submit_term
from ledger.school.class_sheets.terms import term_status


class ConductIn(msgspec.Struct):
    student: str
    level: str


class AbsencesIn(msgspec.Struct):
    student: str
    excused: int
    unexcused: int


class CommentIn(msgspec.Struct):
    student: str
    text: str


class ResultIn(msgspec.Struct):
    student: str
    value: str | float | int


class ConductEntries(msgspec.Struct):
    entries: list[ConductIn]


class AbsencesEntries(msgspec.Struct):
    entries: list[AbsencesIn]


class CommentEntries(msgspec.Struct):
    entries: list[CommentIn]


class ResultEntries(msgspec.Struct):
    entries: list[ResultIn]


@post(
    f"{SCHOOL}/classes/{{class_id:str}}/conduct/{{term:str}}",
    operation_id="conduct_write",
    opt={"action": "homeroom.write"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Conduct per term, by the homeroom teacher (Điều 34; TT22 Đ.8)",
)
async def conduct_write(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    class_id: ClassId,
    term: Term,
    data: JSONBody[ConductEntries],
    year: Year,
) -> dict[str, Any]:
    entry_of(request).touch(e.student for e in data.entries)
    events = await record_conduct(
        ledger_of(state),
        school,
        actor_for(principal_of(request), "HOMEROOM_TEACHER"),
        year=year,
        term=term,
        class_id=class_id,
        entries=[(e.student, e.level) for e in data.entries],
    )
    return appended(events)


@post(
    f"{SCHOOL}/classes/{{class_id:str}}/absences/{{term:str}}",
    operation_id="absences_write",
    opt={"action": "homeroom.write"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Sessions absent per term (Điều 34)",
)
async def absences_write(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    class_id: ClassId,
    term: Term,
    data: JSONBody[AbsencesEntries],
    year: Year,
) -> dict[str, Any]:
    entry_of(request).touch(e.student for e in data.entries)
    events = await record_absences(
        ledger_of(state),
        school,
        actor_for(principal_of(request), "HOMEROOM_TEACHER"),
        year=year,
        term=term,
        class_id=class_id,
        entries=[(e.student, e.excused, e.unexcused) for e in data.entries],
    )
    return appended(events)


@post(
    f"{SCHOOL}/classes/{{class_id:str}}/homeroom-comments/{{period:str}}",
    operation_id="homeroom_comments_write",
    opt={"action": "homeroom.write"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="The homeroom teacher's comments for term 1, 2 or the year (Điều 34.6)",
)
async def homeroom_comments_write(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    class_id: ClassId,
    period: Period,
    data: JSONBody[CommentEntries],
    year: Year,
) -> dict[str, Any]:
    entry_of(request).touch(e.student for e in data.entries)
    events = await record_homeroom_comments(
        ledger_of(state),
        school,
        actor_for(principal_of(request), "HOMEROOM_TEACHER"),
        year=year,
        period=period,
        class_id=class_id,
        entries=[(e.student, e.text) for e in data.entries],
    )
    return appended(events)


@post(
    f"{SCHOOL}/classes/{{class_id:str}}/reassessments/{{subject:str}}",
    operation_id="reassessments_write",
    opt={"action": "reassessment.write"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Summer re-assessment results (TT22 Đ.12–14)",
)
async def reassessments_write(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    class_id: ClassId,
    subject: SubjectCode,
    data: JSONBody[ResultEntries],
    year: Year,
) -> dict[str, Any]:
    entry_of(request).touch(e.student for e in data.entries)
    events = await record_reassessments(
        ledger_of(state),
        school,
        actor_for(principal_of(request), "SUBJECT_TEACHER"),
        year=year,
        class_id=class_id,
        subject=subject,
        entries=[(e.student, e.value) for e in data.entries],
    )
    return appended(events)


@post(
    f"{SCHOOL}/classes/{{class_id:str}}/summer-conduct",
    operation_id="summer_conduct_write",
    opt={"action": "summer_conduct.write"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="The principal's conduct re-assessment after summer training (TT22 Đ.12–14)",
)
async def summer_conduct_write(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    class_id: ClassId,
    data: JSONBody[ConductEntries],
    year: Year,
) -> dict[str, Any]:
    entry_of(request).touch(e.student for e in data.entries)
    events = await record_summer_conduct(
        ledger_of(state),
        school,
        actor_for(principal_of(request), "PRINCIPAL"),
        year=year,
        class_id=class_id,
        entries=[(e.student, e.level) for e in data.entries],
    )
    return appended(events)


TERM_SIGNATURE = f"{SCHOOL}/classes/{{class_id:str}}/terms/{{term:str}}/signature"


@get(
    TERM_SIGNATURE,
    operation_id="class_term_signature_status",
    opt={"action": "class.read"},
    responses=ERRORS,
    summary="Whether the class's term record is signed by the homeroom teacher, whether it changed since, what "
    "it holds and what it still lacks (Điều 18.4)",
)
async def class_term_signature_status(
    state: State, school: SchoolId, class_id: ClassId, term: Term, year: Year
) -> dict[str, Any]:
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        return await term_status(conn, school, year, class_id, term)


@post(
    TERM_SIGNATURE + "/prepare",
    operation_id="class_term_signature_prepare",
    opt={"action": "homeroom.write"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="The class's term record for the homeroom teacher to sign on their side; refused while a pupil "
    "lacks the term's conduct or a subject's sheet is not signed by its teacher (Điều 18.3, 18.4)",
)
async def class_term_signature_prepare(
    state: State, school: SchoolId, class_id: ClassId, term: Term, year: Year
) -> dict[str, Any]:
    runtime = runtime_of(state)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        document = await prepare_term(conn, school, year, class_id, term, runtime.clock.now())
    return {"document": base64.b64encode(document).decode()}


@post(
    TERM_SIGNATURE,
    operation_id="class_term_signature_submit",
    opt={"action": "homeroom.write"},
    responses=UPLOAD_ERRORS,
    summary="Submit the class's term record signed by the homeroom teacher; it is checked and the signature "
    "recorded (Điều 18.4)",
)
async def class_term_signature_submit(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    class_id: ClassId,
    term: Term,
    year: Year,
    data: JSONBody[SignedIn],
) -> dict[str, Any]:
    event = await term_signed(request, state, school, class_id, term, year, await signed_body(state, data))
    return class_signature_answer(event)


async def term_signed(
    request: Request[Any, Any, Any], state: State, school: str, class_id: str, term: int, year: str, signed: bytes
) -> Event:
    """The class's term record signed by the signed-in homeroom teacher, checked against the
    installation's roots and revocation lists, and recorded (the API's and the page's one path)."""
    runtime = runtime_of(state)
    actor = actor_for(principal_of(request), "HOMEROOM_TEACHER")
    return await submit_term(
        ledger_of(state), school, actor, year, class_id, term, signed, runtime.trusted_roots(), runtime.crls()
    )
