"""The học bạ document model: one student's school year as the XML and the PDF học bạ show it,
read from the projections at any seq. It is plain JSON-able data; `signing.xml` and `signing.pdf`
render it, and the same data always renders the same bytes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.log.projection import read
from ledger.school.schools.tables import schools
from ledger.school.transcripts.views import load_student_year
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


async def _holder(conn: AsyncConnection, school: str, role: str, on: date, **scope: Any) -> str | None:
    """The name of the staff member who holds `role` (for this scope) on a day."""
    for grant in await read(conn, assignments, school, role=role, **scope):
        if (
            not grant["pending"]
            and grant["valid_from"] <= on
            and (grant["valid_to"] is None or on <= grant["valid_to"])
        ):
            people = await read(conn, staff, school, staff_id=grant["staff_id"])
            return str(people[0]["full_name"]) if people else str(grant["staff_id"])
    return None


async def school_part(conn: AsyncConnection, school: str) -> dict[str, Any]:
    """The school as documents name it."""
    [registered] = await read(conn, schools, school) or [{"name": school, "province": None, "address": None}]
    return {
        "id": school,
        "name": registered["name"],
        "province": registered.get("province"),
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
    view = await load_student_year(conn, school, year, student, as_of)
    result = view.to_json()
    year_end = date(int(year[-4:]), 5, 31)
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
                "comment": " ".join(c for _, c in sorted(line.comments.items()) if c),
            }
        )
    learning, conduct = result["learning"], result["conduct"]
    registered = await school_part(conn, school)
    return {
        "hocba_id": hocba_id(school, year, student),
        "school": registered,
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
                "homeroom_teacher": await _holder(
                    conn, school, "HOMEROOM_TEACHER", year_end, year=year, class_id=view.class_id
                ),
                "promotion": result["promotion_vi"],
                "award": result["award_vi"],
                "corrections": result["corrections"],
                "principal": {"name": await _holder(conn, school, "PRINCIPAL", year_end), "date": None},
            }
        ],
    }


def _absences(by_term: Mapping[int, tuple[int, int]]) -> dict[str, int]:
    return {
        "excused": sum(excused for excused, _ in by_term.values()),
        "unexcused": sum(unexcused for _, unexcused in by_term.values()),
    }
