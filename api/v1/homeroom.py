"""The homeroom teacher's entries (Điều 34): conduct, absences, comments; and the summer results."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, post
from litestar.datastructures import State
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from api.http.problems import ERRORS
from api.http.scope import actor_for, entry_of, ledger_of, principal_of
from api.v1.params import SCHOOL, ClassId, Period, SchoolId, SubjectCode, Term, Year, appended
from ledger.school.assessments.commands import (
    record_absences,
    record_conduct,
    record_homeroom_comments,
    record_reassessments,
    record_summer_conduct,
)


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
