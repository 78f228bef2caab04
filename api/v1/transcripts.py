"""One student's year evaluated with the TT22 rules, and a class's lists."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from api.http.problems import ERRORS
from api.http.scope import entry_of, runtime_of
from api.v1.params import SCHOOL, V1, AsOf, ClassId, SchoolId, StudentId, Year
from ledger.app.db import AUDITOR_ROLE
from ledger.school.rules.evaluation import evaluate
from ledger.school.rules.identity import personal_id
from ledger.school.transcripts.views import class_summary, load_student_year


@post(
    f"{V1}/assessment/evaluate",
    operation_id="assessment_evaluate",
    opt={"action": "assessment.evaluate"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Evaluate one student's year (docs/ASSESSMENT.md)",
)
async def assessment_evaluate(data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    return evaluate(data)


@get(
    f"{SCHOOL}/students/{{student:str}}/transcript",
    operation_id="student_transcript",
    opt={"action": "student.read"},
    responses=ERRORS,
    summary="One student's year, evaluated with the TT22 rules",
)
async def student_transcript(
    state: State, school: SchoolId, student: StudentId, year: Year, as_of: AsOf = None
) -> dict[str, Any]:
    personal_id(student)
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        view = await load_student_year(conn, school, year, student, as_of)
    return view.to_json()


@get(
    f"{SCHOOL}/classes/{{class_id:str}}/summary",
    operation_id="class_summary",
    opt={"action": "class.read"},
    responses=ERRORS,
    summary="A class's promotion and award lists (Điều 33.6, 34.4)",
)
async def get_class_summary(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    class_id: ClassId,
    year: Year,
    as_of: AsOf = None,
) -> dict[str, Any]:
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        summary = await class_summary(conn, school, year, class_id, as_of)
    entry_of(request).touch(v.student["student_id"] for v in summary.views)
    return summary.to_json()
