"""How the school-year events fold into their read models."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from uuid import UUID

from ledger.format.envelope import Event
from ledger.log.projection import Projection, ProjectionWriter, copy_payload
from ledger.school.rules.tt22 import Kind, required_regular
from ledger.school.years.tables import (
    ASSIGNMENT_APPROVED,
    ASSIGNMENT_ENDED,
    ASSIGNMENT_MADE,
    ASSIGNMENT_REFUSED,
    CLASS_OPENED,
    STAFF_REGISTERED,
    STUDENT_ENROLLED,
    STUDENT_REGISTERED,
    STUDENT_WITHDRAWN,
    SUBJECT_DEFINED,
    YEAR_OPENED,
    assignments,
    classes,
    enrolments,
    school_years,
    staff,
    students,
    subjects,
)


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _date_of(member: str) -> Callable[[Event], date | None]:
    return lambda event: _day(event.payload.get(member))


async def _on_subject(w: ProjectionWriter, e: Event) -> None:
    p = e.payload
    kind = Kind(p["kind"])
    for row in await w.rows(subjects, year=p["year"], code=p["code"]):
        if str(row["grade"]) not in p["periods"]:
            await w.remove(subjects, year=p["year"], code=p["code"], grade=row["grade"])
    for grade, periods in p["periods"].items():
        await w.put(
            subjects,
            {"year": p["year"], "code": p["code"], "grade": int(grade)},
            {
                "name": p["name"],
                "kind": kind.value,
                "periods": periods,
                "regular_count": required_regular(kind, periods),
            },
        )


async def _on_withdrawn(w: ProjectionWriter, e: Event) -> None:
    p = e.payload
    current = await w.get(enrolments, year=p["year"], student_id=p["student"])
    await w.put(
        enrolments,
        {"year": p["year"], "student_id": p["student"]},
        {
            "class_id": p["class"],
            "since": current["since"] if current else None,
            "until": _day(p["until"]),
            "reason": p["reason"],
        },
    )


async def _on_assignment_ended(w: ProjectionWriter, e: Event) -> None:
    key = {"assignment_id": UUID(e.payload["assignment"])}
    await w.amend(assignments, key, valid_to=_day(e.payload["valid_to"]))


async def _on_assignment_approved(w: ProjectionWriter, e: Event) -> None:
    await w.amend(assignments, {"assignment_id": UUID(e.payload["assignment"])}, pending=False)


async def _on_assignment_refused(w: ProjectionWriter, e: Event) -> None:
    await w.remove(assignments, assignment_id=UUID(e.payload["assignment"]))


PROJECTION = Projection(
    "school_year",
    (school_years, subjects, classes, students, enrolments, staff, assignments),
    {
        YEAR_OPENED: copy_payload(
            school_years, {"year": "year", "starts": _date_of("starts"), "ends": _date_of("ends")}
        ),
        SUBJECT_DEFINED: _on_subject,
        CLASS_OPENED: copy_payload(classes, {"year": "year", "class_id": "class", "grade": "grade"}),
        STUDENT_REGISTERED: copy_payload(
            students,
            {
                "student_id": "student",
                "ministry_code": "ministry_code",
                "full_name": "full_name",
                "gender": "gender",
                "date_of_birth": _date_of("date_of_birth"),
                "birthplace": "birthplace",
                "ethnicity": "ethnicity",
                "residence": "residence",
                "guardians": "guardians",
            },
        ),
        STUDENT_ENROLLED: copy_payload(
            enrolments,
            {
                "year": "year",
                "student_id": "student",
                "class_id": "class",
                "since": _date_of("since"),
                "until": "until",
                "reason": "reason",
            },
        ),
        STUDENT_WITHDRAWN: _on_withdrawn,
        STAFF_REGISTERED: copy_payload(
            staff, {"staff_id": "staff", "full_name": "full_name", "email": "email", "phone": "phone"}
        ),
        ASSIGNMENT_MADE: copy_payload(
            assignments,
            {
                "assignment_id": lambda event: UUID(event.payload["assignment"]),
                "staff_id": "staff",
                "role": "role",
                "year": "year",
                "class_id": "class",
                "subject": "subject",
                "term": "term",
                "valid_from": _date_of("valid_from"),
                "valid_to": _date_of("valid_to"),
                "pending": lambda event: event.payload.get("pending"),
                "decision": lambda event: event.payload.get("decision"),
            },
        ),
        ASSIGNMENT_ENDED: _on_assignment_ended,
        ASSIGNMENT_APPROVED: _on_assignment_approved,
        ASSIGNMENT_REFUSED: _on_assignment_refused,
    },
)
