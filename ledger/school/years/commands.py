"""Opening years and classes, defining the catalogue, registering students and staff, enrolling and
withdrawing students, making and ending assignments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from ledger.base.errors import Conflict, Forbidden, NotFound, ValidationError
from ledger.format.envelope import Actor, Event, NewEvent
from ledger.log.append import Ledger, SchoolSession
from ledger.log.projection import read
from ledger.school.rules import identity
from ledger.school.rules.roles import Role
from ledger.school.years.grants import acting_holds, ending_authority, grant_terms
from ledger.school.years.model import Assignment, SubjectDefinition, assignment_of, profile_of, student_profile
from ledger.school.years.queries import class_grade, subject_row, year_row
from ledger.school.years.tables import (
    ASSIGNMENT_ENDED,
    ASSIGNMENT_MADE,
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


async def open_year(ledger: Ledger, school: str, actor: Actor, year: str, starts: Any, ends: Any) -> list[Event]:
    year = identity.school_year(year)
    first, last = identity.parse_date(starts, "starts"), identity.parse_date(ends, "ends")
    if not first < last:
        raise ValidationError(
            "year.dates", "ngày bắt đầu phải trước ngày kết thúc", "the start must come before the end", field="ends"
        )
    payload = {"year": year, "starts": first.isoformat(), "ends": last.isoformat()}

    async def decide(session: SchoolSession) -> list[NewEvent]:
        current = await read(session.conn, school_years, session.school, year=year)
        if current and (current[0]["starts"], current[0]["ends"]) == (first, last):
            return []
        return [NewEvent(YEAR_OPENED, payload, actor)]

    return await ledger.decide(school, decide)


async def define_subjects(
    ledger: Ledger, school: str, actor: Actor, year: str, definitions: Sequence[SubjectDefinition]
) -> list[Event]:
    year = identity.school_year(year)

    async def decide(session: SchoolSession) -> list[NewEvent]:
        await year_row(session, year)
        current = await read(session.conn, subjects, session.school, year=year)
        known: dict[str, dict[int, tuple[str, str, int]]] = {}
        for row in current:
            known.setdefault(row["code"], {})[row["grade"]] = (row["name"], row["kind"], row["periods"])
        changed = []
        for definition in definitions:
            wanted = {g: (definition.name, definition.kind.value, p) for g, p in definition.periods.items()}
            if known.get(definition.code) != wanted:
                changed.append(NewEvent(SUBJECT_DEFINED, definition.payload(year), actor))
        return changed

    return await ledger.decide(school, decide)


async def open_classes(
    ledger: Ledger, school: str, actor: Actor, year: str, wanted: Sequence[tuple[str, int]]
) -> list[Event]:
    year = identity.school_year(year)
    checked = []
    for index, (raw_class, grade) in enumerate(wanted):
        class_id = identity.class_id(raw_class, f"classes[{index}]")
        if grade not in (6, 7, 8, 9) or str(grade) != class_id[0]:
            raise ValidationError(
                "class.grade",
                f"lớp {class_id} phải thuộc khối {class_id[0]}",
                f"class {class_id} belongs to grade {class_id[0]}",
                field=f"classes[{index}]",
            )
        checked.append((class_id, grade))

    async def decide(session: SchoolSession) -> list[NewEvent]:
        await year_row(session, year)
        existing = {
            row["class_id"]: row["grade"] for row in await read(session.conn, classes, session.school, year=year)
        }
        return [
            NewEvent(CLASS_OPENED, {"year": year, "class": c, "grade": g}, actor)
            for c, g in checked
            if existing.get(c) != g
        ]

    return await ledger.decide(school, decide)


async def register_students(
    ledger: Ledger, school: str, actor: Actor, profiles: Sequence[Mapping[str, Any]]
) -> list[Event]:
    checked = [student_profile(p, f"students[{i}]") for i, p in enumerate(profiles)]
    ids = [p["student"] for p in checked]
    duplicate = next((s for s in ids if ids.count(s) > 1), None)
    if duplicate:
        raise ValidationError(
            "student.duplicate",
            "một học sinh xuất hiện hai lần",
            "a student appears twice",
            field="students",
            student=duplicate,
        )

    async def decide(session: SchoolSession) -> list[NewEvent]:
        current = {row["student_id"]: profile_of(row) for row in await read(session.conn, students, session.school)}
        codes = {p["ministry_code"]: sid for sid, p in current.items()}
        changed = []
        for profile in checked:
            owner = codes.get(profile["ministry_code"])
            if owner is not None and owner != profile["student"]:
                raise Conflict(
                    "student.ministry_code_taken",
                    "mã học sinh của Bộ đã thuộc về một học sinh khác",
                    "this Ministry student code already belongs to another student",
                    field="ministry_code",
                )
            if current.get(profile["student"]) != profile:
                changed.append(NewEvent(STUDENT_REGISTERED, profile, actor))
        return changed

    return await ledger.decide(school, decide)


async def enrol(
    ledger: Ledger, school: str, actor: Actor, year: str, entries: Sequence[tuple[str, str, Any]]
) -> list[Event]:
    """Enrol students (personal identifier, class, since) for a school year."""
    year = identity.school_year(year)
    checked = [
        (
            identity.personal_id(s, f"enrolments[{i}].student"),
            identity.class_id(c, f"enrolments[{i}].class"),
            identity.parse_date(d, f"enrolments[{i}].since"),
        )
        for i, (s, c, d) in enumerate(entries)
    ]

    async def decide(session: SchoolSession) -> list[NewEvent]:
        await year_row(session, year)
        known = {row["student_id"] for row in await read(session.conn, students, session.school)}
        opened = {row["class_id"] for row in await read(session.conn, classes, session.school, year=year)}
        current = {row["student_id"]: row for row in await read(session.conn, enrolments, session.school, year=year)}
        changed = []
        for index, (student, class_id, since) in enumerate(checked):
            if student not in known:
                raise NotFound(
                    "student.unknown",
                    "học sinh chưa có hồ sơ",
                    "the student has no record",
                    field=f"enrolments[{index}].student",
                )
            if class_id not in opened:
                raise NotFound(
                    "class.unknown",
                    f"lớp {class_id} không có trong năm học {year}",
                    f"class {class_id} does not exist in {year}",
                    field=f"enrolments[{index}].class",
                )
            row = current.get(student)
            if row and row["class_id"] == class_id and row["until"] is None:
                continue
            payload = {"year": year, "class": class_id, "student": student, "since": since.isoformat()}
            changed.append(NewEvent(STUDENT_ENROLLED, payload, actor))
        return changed

    return await ledger.decide(school, decide)


async def withdrawal(
    session: SchoolSession, actor: Actor, year: str, student: str, until: date, reason: str | None
) -> NewEvent:
    """The event that ends the student's enrolment of `year` on `until`; refused when the student is
    not enrolled at the school that year."""
    rows = await read(session.conn, enrolments, session.school, year=year, student_id=student)
    if not rows or rows[0]["until"] is not None:
        raise NotFound(
            "enrolment.unknown",
            f"học sinh không đang học ở trường trong năm học {year}",
            f"the student is not enrolled here in {year}",
            field="student",
        )
    payload = {
        "year": year,
        "class": rows[0]["class_id"],
        "student": student,
        "until": until.isoformat(),
        "reason": reason,
    }
    return NewEvent(STUDENT_WITHDRAWN, payload, actor)


async def register_staff(ledger: Ledger, school: str, actor: Actor, people: Sequence[Mapping[str, Any]]) -> list[Event]:
    checked = []
    for index, raw in enumerate(people):
        field = f"staff[{index}]"
        checked.append(
            {
                "staff": identity.staff_id(raw.get("staff"), f"{field}.staff"),
                "full_name": identity.text(raw.get("full_name"), f"{field}.full_name"),
                "email": identity.text(raw.get("email"), f"{field}.email", required=False),
                "phone": identity.phone(raw.get("phone"), f"{field}.phone") if raw.get("phone") else None,
            }
        )

    async def decide(session: SchoolSession) -> list[NewEvent]:
        current = {
            row["staff_id"]: {
                "staff": row["staff_id"],
                "full_name": row["full_name"],
                "email": row["email"],
                "phone": row["phone"],
            }
            for row in await read(session.conn, staff, session.school)
        }
        return [NewEvent(STAFF_REGISTERED, p, actor) for p in checked if current.get(p["staff"]) != p]

    return await ledger.decide(school, decide)


async def make_assignments(ledger: Ledger, school: str, actor: Actor, wanted: Sequence[Assignment]) -> list[Event]:
    async def decide(session: SchoolSession) -> list[NewEvent]:
        known_staff = {row["staff_id"] for row in await read(session.conn, staff, session.school)}
        current = {
            assignment_of(row).natural_key(): (row["assignment_id"], assignment_of(row))
            for row in await read(session.conn, assignments, session.school)
        }
        if current:  # past the installation, the act is checked at the append too
            await acting_holds(session, actor)
        changed = []
        for index, assignment in enumerate(wanted):
            bootstrap = not current  # installing a new school: its first assignments, before anyone holds a role
            if assignment.staff == str(actor.user) and not bootstrap:
                raise Forbidden(
                    "assignment.self",
                    f"{actor.user} không thể tự phân công vai trò cho chính mình; việc phân công do người có thẩm "
                    "quyền thực hiện.",
                    f"{actor.user} cannot grant a role to themselves; an assignment comes from the authority above.",
                    field=f"assignments[{index}].staff",
                    rule="Điều 5.3c, 33",
                )
            if assignment.staff not in known_staff:
                raise NotFound(
                    "staff.unknown",
                    "cán bộ chưa có hồ sơ",
                    "the staff member has no record",
                    field=f"assignments[{index}].staff",
                )
            if assignment.class_id is not None and assignment.year is not None:
                grade = await class_grade(session, assignment.year, assignment.class_id)
                if assignment.subject is not None:
                    await subject_row(session, assignment.year, assignment.subject, grade)
            assignment_id, existing = current.get(assignment.natural_key(), (None, None))
            if existing == assignment:
                continue
            if (
                existing is not None
                and assignment.valid_to is not None
                and replace(existing, valid_to=None) == replace(assignment, valid_to=None)
            ):  # the same assignment, now with its end: it ends, no second one begins
                cited = assignment.decision.number if assignment.decision else None
                ending_authority(assignment.role, actor, cited)
                changed.append(NewEvent(ASSIGNMENT_ENDED, ended(assignment_id, assignment.valid_to, cited), actor))
                continue
            terms = grant_terms(
                assignment.role,
                assignment.decision,
                actor,
                bootstrap=bootstrap,
                field=f"assignments[{index}]",
            )
            changed.append(NewEvent(ASSIGNMENT_MADE, {**assignment.payload(uuid4()), **terms}, actor))
        return changed

    return await ledger.decide(school, decide)


def ended(assignment_id: Any, last_day: date, decision: str | None = None) -> dict[str, Any]:
    """An assignment.ended payload: which assignment, its last day and, where given, the decision."""
    payload: dict[str, Any] = {"assignment": str(assignment_id), "valid_to": last_day.isoformat()}
    if decision:
        payload["decision"] = decision
    return payload


async def end_assignment(
    ledger: Ledger, school: str, actor: Actor, assignment_id: UUID, valid_to: Any, decision: str | None = None
) -> list[Event]:
    """An assignment ends on its last day (the person left, or the work was handed over), citing the
    decision where there is one (Điều 18.5, 18.7, 27)."""
    last_day = identity.parse_date(valid_to, "valid_to")
    decision = identity.text(decision, "decision", required=False, limit=300)

    async def decide(session: SchoolSession) -> list[NewEvent]:
        rows = await read(session.conn, assignments, session.school, assignment_id=assignment_id)
        if not rows:
            raise NotFound("assignment.unknown", "không có phân công này", "no such assignment", field="assignment")
        ending_authority(Role(rows[0]["role"]), actor, decision)
        await acting_holds(session, actor)
        if last_day < rows[0]["valid_from"]:
            raise ValidationError(
                "assignment.dates",
                "ngày kết thúc trước ngày bắt đầu",
                "the end comes before the start",
                field="valid_to",
            )
        return [NewEvent(ASSIGNMENT_ENDED, ended(assignment_id, last_day, decision), actor)]

    return await ledger.decide(school, decide)
