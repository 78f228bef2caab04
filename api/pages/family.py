"""A family's page: the child's results this school year, the học bạ issued to them to download, and
who has viewed the record and when (Điều 31; the access trail of Điều 20.3). A guardian or the student
sees only their own; leadership and the homeroom teacher may open the same page."""

from __future__ import annotations

from typing import Any, Literal

from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from api.http.scope import entry_of, runtime_of, year_of
from api.pages.staff import need_year, student_names
from api.pages.text import OPERATIONS
from api.pages.toolkit import SCHOOL_PAGE, lang_of, may, page, principal_or_none, render, staff_names, text_of
from api.v1.params import SchoolId, StudentId
from audit.trail import query_access
from ledger.app.db import AUDITOR_ROLE
from ledger.base.errors import NotFound
from ledger.log.projection import read
from ledger.school.issuance.queries import issued_file
from ledger.school.issuance.tables import issued
from ledger.school.rules.identity import personal_id
from ledger.school.schools.tables import schools
from ledger.school.transcripts.views import load_student_year

STUDENT_PAGE = SCHOOL_PAGE + "/hoc-sinh/{student:str}"
VIEWERS_SHOWN = 50


def _subject_rows(view: Any) -> list[dict[str, Any]]:
    """Each subject of the year in the học bạ's order, with its terms' and year's results."""
    results = view.to_json()["subjects"]
    return [
        {
            "name": line.name,
            **{part: results[line.code][part] for part in ("term1", "term2", "year", "reassessed")},
        }
        for line in view.lines
    ]


async def _viewers(
    conn: Any, school: str, student: str, lang: str, names: dict[str, str], me: str
) -> list[dict[str, Any]]:
    """The latest views of the record by anyone but the one asking, by name and what they opened."""
    rows = [
        row
        for row in await query_access(conn, school, student=student, outcome="allowed", limit=VIEWERS_SHOWN * 2)
        if row["username"] != me
    ][:VIEWERS_SHOWN]
    words = OPERATIONS[lang]
    return [
        {
            "at": row["at"],
            "who": names.get(row["username"], row["username"]),
            "roles": row["roles"],
            "what": words.get(row["action"], row["action"]),
        }
        for row in rows
    ]


@get(STUDENT_PAGE, operation_id="page_student", opt=page("student.read"), include_in_schema=False)
async def student_page(
    request: Request[Any, Any, Any], state: State, school: SchoolId, student: FromPath[StudentId]
) -> Template:
    personal_id(student)
    runtime = runtime_of(state)
    principal = principal_or_none(request)
    year = year_of(request)
    entry_of(request).touch([student])
    names = await staff_names(runtime, school)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        name = (await student_names(conn, school, [student])).get(student)
        if name is None:
            raise NotFound("student.unknown", "không có học sinh này trong trường", "no such student at this school")
        view = None
        if year:
            try:
                view = await load_student_year(conn, school, year, student)
            except NotFound:
                view = None  # not enrolled this year: the issued học bạ of earlier years still show
        documents = (
            await read(conn, issued, school, student_id=student, order_by=["issuance_id"])
            if may(principal, "issued.document", student=student)
            else None  # not this reader's to download: the section is not shown
        )
        viewers = (
            await _viewers(conn, school, student, lang_of(request), names, principal.username if principal else "")
            if may(principal, "student.viewers", student=student)
            else None
        )
    return render(
        request,
        "student.html",
        "student_page",
        heading=name,
        school=school,
        student=student,
        view=view,
        subjects=_subject_rows(view) if view is not None else [],
        result=view.to_json() if view is not None else None,
        documents=None if documents is None else list(reversed(documents)),
        viewers=viewers,
    )


@get(STUDENT_PAGE + "/phieu-bao", operation_id="page_report_card", opt=page("student.read"), include_in_schema=False)
async def report_card(
    request: Request[Any, Any, Any], state: State, school: SchoolId, student: FromPath[StudentId]
) -> Template:
    """The phiếu báo kết quả of a term or the year, to print and hand to the family: each subject's
    result, the learning and conduct levels, days absent and the homeroom comment, with the lines the
    homeroom teacher and a parent sign on paper."""
    personal_id(student)
    runtime = runtime_of(state)
    year = need_year(request)
    chosen = request.query_params.get("ky", "1")
    period = {"1": "term1", "2": "term2"}.get(chosen, "year")
    entry_of(request).touch([student])
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        view = await load_student_year(conn, school, year, student)
        found = await read(conn, schools, school)
    result = view.to_json()
    by_term = result["absences_by_term"]
    absent = by_term.get(chosen) if period != "year" else None
    if period == "year" and by_term:  # the year's sessions absent: both terms', as the học bạ prints them
        absent = {kind: sum(days[kind] for days in by_term.values()) for kind in ("excused", "unexcused")}
    comment_key = chosen if period != "year" else "year"
    return render(
        request,
        "report_card.html",
        "report_card",
        heading=f"{text_of(request)['report_card']} — {view.student['full_name']}",
        school_name=(found[0]["name"] if found else None) or school,
        view=view,
        period=period,
        chosen=chosen,
        subjects=_subject_rows(view),
        result=result,
        absent=absent,
        comment=view.homeroom_comments.get(comment_key, ""),
        today=runtime.clock.now(),
        place=(found[0]["province"] if found else None) or "",
    )


@get(
    STUDENT_PAGE + "/hoc-ba/{issuance:str}",
    operation_id="page_student_document",
    opt=page("issued.document"),
    include_in_schema=False,
)
async def student_document(
    state: State,
    school: SchoolId,
    student: FromPath[StudentId],
    issuance: FromPath[str],
    format: FromQuery[Literal["pdf", "xml"]] = "pdf",
) -> Response[bytes]:
    """The exact bytes issued, to keep: the PDF to read and print, the XML that carries the signatures."""
    personal_id(student)
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        found = await issued_file(conn, school, student, issuance, format)
    if found is None:
        raise NotFound("issued.unknown", "không có học bạ đã ban hành này", "no such issued học bạ")
    content, hocba_id = found
    return Response(
        content,
        media_type="application/pdf" if format == "pdf" else "application/xml",
        headers={"content-disposition": f'attachment; filename="{hocba_id}.{format}"'},
    )
