"""The học bạ document model: one student's school year as the XML and the PDF học bạ show it,
read from the projections at any seq. It is plain JSON-able data; `signing.xml` and `signing.pdf`
render it, and the same data always renders the same bytes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.log.projection import read
from ledger.school.schools.tables import schools
from ledger.school.transcripts.views import StudentYearView, load_views
from ledger.school.years.tables import assignments, staff


def hocba_id(school: str, year: str, student: str) -> str:
    """The học bạ's identifier for one student's year in one school."""
    return f"{school}-{year}-{student}"


def _number(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _holder(grants: list[dict[str, Any]], names: Mapping[str, str], on: date, **scope: Any) -> str | None:
    """The name of the staff member who holds a role (among `grants`, for this scope) on a day."""
    for grant in grants:
        if (
            all(grant[k] == v for k, v in scope.items())
            and not grant["pending"]
            and grant["valid_from"] <= on
            and (grant["valid_to"] is None or on <= grant["valid_to"])
        ):
            return names.get(grant["staff_id"], str(grant["staff_id"]))
    return None


async def school_part(conn: AsyncConnection, school: str) -> dict[str, Any]:
    """The school as documents name it."""
    [registered] = await read(conn, schools, school) or [{"name": school, "province": None, "address": None}]
    return {
        "id": school,
        "name": registered["name"],
        "province": registered.get("province"),
        "district": registered.get("district"),
        "address": registered.get("address"),
    }


def student_part(student: str, profile: Mapping[str, Any]) -> dict[str, Any]:
    """The student as documents name them, from their registered profile."""
    guardians = profile.get("guardians") or []
    return {
        "student_id": student,
        "full_name": profile["full_name"],
        "birth_date": str(profile["date_of_birth"])[:10],
        "gender": profile["gender"],
        "ethnicity": profile.get("ethnicity"),
        "birth_place": profile.get("birthplace"),
        "address": profile.get("residence"),
        "guardian": guardians[0]["full_name"] if guardians else None,
    }


async def document_model(
    conn: AsyncConnection, school: str, year: str, student: str, *, as_of: int | None = None
) -> dict[str, Any]:
    """One student's học bạ document model."""
    return (await document_models(conn, school, year, [student], as_of=as_of))[student]


async def document_models(
    conn: AsyncConnection, school: str, year: str, students: Sequence[str], *, as_of: int | None = None
) -> dict[str, dict[str, Any]]:
    """The học bạ document models of several students of one year (a class, usually), by student,
    read in one set of queries whatever their number."""
    views = await load_views(conn, school, year, list(students), as_of)
    registered = await school_part(conn, school)
    year_end = date(int(year[-4:]), 5, 31)
    homerooms = await read(conn, assignments, school, role="HOMEROOM_TEACHER", year=year)
    principals = await read(conn, assignments, school, role="PRINCIPAL")
    names = {row["staff_id"]: str(row["full_name"]) for row in await read(conn, staff, school)}
    principal = _holder(principals, names, year_end)
    return {
        view.student["student_id"]: _model(
            school, year, view, registered, _holder(homerooms, names, year_end, class_id=view.class_id), principal
        )
        for view in views
    }


def _model(
    school: str,
    year: str,
    view: StudentYearView,
    registered: Mapping[str, Any],
    homeroom_teacher: str | None,
    principal: str | None,
) -> dict[str, Any]:
    result = view.to_json()
    student = str(view.student["student_id"])
    subjects = []
    for line in view.lines:
        outcome = result["subjects"][line.code]
        subjects.append(
            {
                "code": line.code,
                "name": line.name,
                "kind": outcome["kind"],
                "term1": _number(outcome["term1"]),
                "term2": _number(outcome["term2"]),
                "year": _number(outcome["year"]),
                "reassessment": _number(outcome["reassessed"]),
                # the year's comment: the teacher's latest (term II's; term I's while it is the only one)
                "comment": next((c for _, c in sorted(line.comments.items(), reverse=True) if c), ""),
            }
        )
    learning, conduct = result["learning"], result["conduct"]
    return {
        "hocba_id": hocba_id(school, year, student),
        "school": dict(registered),
        "student": student_part(student, view.student),
        "years": [
            {
                "year": year,
                "class": view.class_id,
                "grade": view.grade,
                "school_name": registered["name"],
                "subjects": subjects,
                "learning": {
                    "1": learning["term1"],
                    "2": learning["term2"],
                    "year": learning["year"],
                    "after_summer": learning["after_reassessment"],
                },
                "conduct": {
                    "1": conduct.get("term1"),
                    "2": conduct.get("term2"),
                    "year": conduct.get("year"),
                    "after_summer": conduct.get("after_summer"),
                },
                "absences": _absences(view.absences),
                "homeroom_comment": view.homeroom_comments.get("year") or view.homeroom_comments.get("2") or "",
                "homeroom_teacher": homeroom_teacher,
                "promotion": result["promotion_vi"],
                "award": result["award_vi"],
                "corrections": result["corrections"],
                "principal": {"name": principal, "date": None},
            }
        ],
    }


def _absences(by_term: Mapping[int, tuple[int, int]]) -> dict[str, int]:
    return {
        "excused": sum(excused for excused, _ in by_term.values()),
        "unexcused": sum(unexcused for _, unexcused in by_term.values()),
    }
