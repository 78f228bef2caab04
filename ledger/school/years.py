"""The school-year model, as events: school years, the subject catalogue, classes, students and their
enrolments, staff, and assignments with validity periods (role × assignment × time).

Each `*_events` function validates its input and compares it with the current state, returning only
the events that change something: importing the same data twice appends nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Column, Date, Index, SmallInteger, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base.errors import Conflict, NotFound, ValidationError
from ledger.format.envelope import Actor, Event, NewEvent
from ledger.log.append import Ledger, SchoolSession
from ledger.log.projection import Projection, ProjectionWriter, copy_payload, read
from ledger.log.schema import projection_table
from ledger.school.rules import identity
from ledger.school.rules.roles import STAFF_ROLES, Role
from ledger.school.rules.tt22 import Kind, required_regular

YEAR_OPENED = "year.opened"
SUBJECT_DEFINED = "subject.defined"
CLASS_OPENED = "class.opened"
STUDENT_REGISTERED = "student.registered"
STUDENT_ENROLLED = "student.enrolled"
STUDENT_WITHDRAWN = "student.withdrawn"
STAFF_REGISTERED = "staff.registered"
ASSIGNMENT_MADE = "assignment.made"
ASSIGNMENT_ENDED = "assignment.ended"

school_years = projection_table(
    "school_years", keys=[Column("year", Text)], values=[Column("starts", Date), Column("ends", Date)]
)
subjects = projection_table(
    "subjects",
    keys=[Column("year", Text), Column("code", Text), Column("grade", SmallInteger)],
    values=[
        Column("name", Text),
        Column("kind", Text),
        Column("periods", SmallInteger),
        Column("regular_count", SmallInteger),
    ],
)
classes = projection_table(
    "classes", keys=[Column("year", Text), Column("class_id", Text)], values=[Column("grade", SmallInteger)]
)
students = projection_table(
    "students",
    keys=[Column("student_id", Text)],
    values=[
        Column("ministry_code", Text),
        Column("full_name", Text),
        Column("gender", Text),
        Column("date_of_birth", Date),
        Column("birthplace", Text),
        Column("ethnicity", Text),
        Column("residence", Text),
        Column("guardians", JSONB),
    ],
)
enrolments = projection_table(
    "enrolments",
    keys=[Column("year", Text), Column("student_id", Text)],
    values=[Column("class_id", Text), Column("since", Date), Column("until", Date), Column("reason", Text)],
)
staff = projection_table(
    "staff",
    keys=[Column("staff_id", Text)],
    values=[Column("full_name", Text), Column("email", Text), Column("phone", Text)],
)
assignments = projection_table(
    "assignments",
    keys=[Column("assignment_id", Uuid)],
    values=[
        Column("staff_id", Text),
        Column("role", Text),
        Column("year", Text),
        Column("class_id", Text),
        Column("subject", Text),
        Column("term", SmallInteger),
        Column("valid_from", Date),
        Column("valid_to", Date),
    ],
)

Index(
    "enrolments_class",
    enrolments.c.school_id,
    enrolments.c.year,
    enrolments.c.class_id,
    postgresql_where=enrolments.c.seq_to.is_(None),
)
Index(
    "assignments_staff",
    assignments.c.school_id,
    assignments.c.staff_id,
    postgresql_where=assignments.c.seq_to.is_(None),
)

# --- reading state ----------------------------------------------------------------------------


async def year_row(session: SchoolSession, year: str) -> dict[str, Any]:
    rows = await read(session.conn, school_years, session.school, year=year)
    if not rows:
        raise NotFound("year.unknown", f"năm học {year} chưa được mở", f"school year {year} is not open", field="year")
    return rows[0]


async def current_year(conn: AsyncConnection, school: str, today: date) -> str:
    """The school year a command means when it names none: the latest opened year that has started by
    `today` (the summer after it included), else the first one opened."""
    years = sorted(await read(conn, school_years, school), key=lambda r: r["starts"])
    if not years:
        raise NotFound(
            "year.unknown", "trường chưa mở năm học nào", "the school has opened no school year", field="year"
        )
    started = [r for r in years if r["starts"] <= today]
    return str((started or years)[-1 if started else 0]["year"])


async def class_grade(session: SchoolSession, year: str, class_id: str) -> int:
    rows = await read(session.conn, classes, session.school, year=year, class_id=class_id)
    if not rows:
        raise NotFound(
            "class.unknown",
            f"lớp {class_id} không có trong năm học {year}",
            f"class {class_id} does not exist in {year}",
            field="class",
        )
    return int(rows[0]["grade"])


async def subject_row(session: SchoolSession, year: str, code: str, grade: int) -> dict[str, Any]:
    rows = await read(session.conn, subjects, session.school, year=year, code=code, grade=grade)
    if not rows:
        raise NotFound(
            "subject.unknown",
            f"môn {code} không có trong danh mục khối {grade} năm học {year}",
            f"subject {code} is not in the grade {grade} catalogue of {year}",
            field="subject",
        )
    return rows[0]


async def roster(session: SchoolSession, year: str, class_id: str) -> list[str]:
    """Students currently enrolled in a class."""
    rows = await read(session.conn, enrolments, session.school, year=year, class_id=class_id)
    return [row["student_id"] for row in rows if row["until"] is None]


# --- school years and the catalogue -------------------------------------------------------------


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


@dataclass(frozen=True)
class SubjectDefinition:
    code: str
    name: str
    kind: Kind
    periods: Mapping[int, int]  # grade -> periods per year

    def payload(self, year: str) -> dict[str, Any]:
        return {
            "year": year,
            "code": self.code,
            "name": self.name,
            "kind": self.kind.value,
            "periods": {str(g): p for g, p in sorted(self.periods.items())},
        }


def parse_subject(raw: Mapping[str, Any], field: str) -> SubjectDefinition:
    from ledger.school.rules.evaluation import SUBJECT_CODE

    code = raw.get("code")
    if not isinstance(code, str) or not SUBJECT_CODE.match(code):
        raise ValidationError(
            "subject.code", "mã môn gồm chữ in hoa, số và _", "a subject code is A-Z, 0-9 and _", field=f"{field}.code"
        )
    name = identity.text(raw.get("name"), f"{field}.name")
    try:
        kind = Kind(str(raw.get("kind")))
    except ValueError:
        raise ValidationError(
            "subject.kind",
            "loại môn là 'score' hoặc 'comment'",
            "the kind is 'score' or 'comment'",
            field=f"{field}.kind",
            rule="TT22 Đ.5",
        ) from None
    periods_raw = raw.get("periods")
    if not isinstance(periods_raw, Mapping) or not periods_raw:
        raise ValidationError(
            "subject.periods",
            "cần số tiết/năm cho từng khối",
            "needs periods per year for each grade",
            field=f"{field}.periods",
        )
    periods: dict[int, int] = {}
    for grade, count in periods_raw.items():
        if str(grade) not in {"6", "7", "8", "9"} or isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValidationError(
                "subject.periods",
                "khối 6–9 với số tiết nguyên dương",
                "grades 6–9 with a positive number of periods",
                field=f"{field}.periods.{grade}",
            )
        periods[int(grade)] = count
    return SubjectDefinition(code, name or code, kind, periods)


def default_catalogue() -> list[SubjectDefinition]:
    """The GDPT 2018 lower-secondary subjects, with periods per year by grade (ledger/data)."""
    doc = json.loads(resources.files("ledger.school").joinpath("data/catalogue-gdpt2018-thcs.json").read_text("utf-8"))
    return [parse_subject(item, f"catalogue[{i}]") for i, item in enumerate(doc)]


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


# --- students, enrolments, staff ---------------------------------------------------------------


def student_profile(raw: Mapping[str, Any], field: str = "student") -> dict[str, Any]:
    """Validate and normalise one student's identity as the sector database exports it."""
    gender = identity.gender(raw.get("gender"), f"{field}.gender")
    birth = identity.parse_date(raw.get("date_of_birth"), f"{field}.date_of_birth")
    guardians = []
    for index, guardian in enumerate(raw.get("guardians") or []):
        where = f"{field}.guardians[{index}]"
        if not isinstance(guardian, Mapping):
            raise ValidationError("guardian.invalid", "phải là một đối tượng", "must be an object", field=where)
        guardians.append(
            {
                "full_name": identity.text(guardian.get("full_name"), f"{where}.full_name"),
                "relation": identity.text(guardian.get("relation"), f"{where}.relation", required=False),
                "phone": identity.phone(guardian.get("phone"), f"{where}.phone") if guardian.get("phone") else None,
            }
        )
    return {
        "student": identity.personal_id(raw.get("student"), f"{field}.student", birth=birth, gender=gender),
        "ministry_code": identity.ministry_code(raw.get("ministry_code"), f"{field}.ministry_code"),
        "full_name": identity.text(raw.get("full_name"), f"{field}.full_name"),
        "gender": gender,
        "date_of_birth": birth.isoformat(),
        "birthplace": identity.text(raw.get("birthplace"), f"{field}.birthplace", required=False),
        "ethnicity": identity.text(raw.get("ethnicity"), f"{field}.ethnicity", required=False),
        "residence": identity.text(raw.get("residence"), f"{field}.residence", required=False),
        "guardians": guardians,
    }


def _profile_of(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "student": row["student_id"],
        "ministry_code": row["ministry_code"],
        "full_name": row["full_name"],
        "gender": row["gender"],
        "date_of_birth": row["date_of_birth"].isoformat(),
        "birthplace": row["birthplace"],
        "ethnicity": row["ethnicity"],
        "residence": row["residence"],
        "guardians": row["guardians"],
    }


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
        current = {row["student_id"]: _profile_of(row) for row in await read(session.conn, students, session.school)}
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


async def withdraw(
    ledger: Ledger, school: str, actor: Actor, year: str, student: str, until: Any, reason: str
) -> list[Event]:
    year, student = identity.school_year(year), identity.personal_id(student)
    last_day = identity.parse_date(until, "until")
    why = identity.text(reason, "reason")

    async def decide(session: SchoolSession) -> list[NewEvent]:
        return [await withdrawal(session, actor, year, student, last_day, why)]

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
    payload = {"year": year, "class": rows[0]["class_id"], "student": student, "until": until.isoformat(),
               "reason": reason}  # fmt: skip
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


# --- assignments (phân công) ------------------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    """Who holds which role, for which class, subject and term, from when until when."""

    staff: str
    role: Role
    valid_from: date
    valid_to: date | None = None
    year: str | None = None
    class_id: str | None = None
    subject: str | None = None
    term: int | None = None

    def natural_key(self) -> tuple[Any, ...]:
        return (self.staff, self.role.value, self.year, self.class_id, self.subject, self.term, self.valid_from)

    def payload(self, assignment_id: UUID) -> dict[str, Any]:
        return {
            "assignment": str(assignment_id),
            "staff": self.staff,
            "role": self.role.value,
            "year": self.year,
            "class": self.class_id,
            "subject": self.subject,
            "term": self.term,
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
        }


def parse_assignment(raw: Mapping[str, Any], field: str) -> Assignment:
    try:
        role = Role(str(raw.get("role", "")).strip().upper())
    except ValueError:
        role = None
    if role not in STAFF_ROLES or role is None:
        raise ValidationError(
            "assignment.role",
            "vai trò phải là một trong: " + ", ".join(sorted(STAFF_ROLES)),
            "the role must be one of " + ", ".join(sorted(STAFF_ROLES)),
            field=f"{field}.role",
        )
    valid_from = identity.parse_date(raw.get("valid_from"), f"{field}.valid_from")
    valid_to = identity.parse_date(raw["valid_to"], f"{field}.valid_to") if raw.get("valid_to") else None
    if valid_to is not None and valid_to < valid_from:
        raise ValidationError(
            "assignment.dates",
            "ngày kết thúc trước ngày bắt đầu",
            "the end comes before the start",
            field=f"{field}.valid_to",
        )
    year = class_id = subject = None
    term = None
    if role in (Role.SUBJECT_TEACHER, Role.HOMEROOM_TEACHER):
        year = identity.school_year(raw.get("year"), f"{field}.year")
        class_id = identity.class_id(raw.get("class"), f"{field}.class")
    if role is Role.SUBJECT_TEACHER:
        subject = str(raw.get("subject") or "").strip().upper()
        if not subject:
            raise ValidationError("assignment.subject", "cần môn học", "needs a subject", field=f"{field}.subject")
        term = identity.term(raw.get("term"), f"{field}.term")
    return Assignment(
        identity.staff_id(raw.get("staff"), f"{field}.staff"), role, valid_from, valid_to, year, class_id, subject, term
    )


def _assignment_of(row: Mapping[str, Any]) -> Assignment:
    return Assignment(
        row["staff_id"],
        Role(row["role"]),
        row["valid_from"],
        row["valid_to"],
        row["year"],
        row["class_id"],
        row["subject"],
        row["term"],
    )


async def make_assignments(ledger: Ledger, school: str, actor: Actor, wanted: Sequence[Assignment]) -> list[Event]:
    async def decide(session: SchoolSession) -> list[NewEvent]:
        known_staff = {row["staff_id"] for row in await read(session.conn, staff, session.school)}
        current = {
            _assignment_of(row).natural_key(): _assignment_of(row)
            for row in await read(session.conn, assignments, session.school)
        }
        changed = []
        for index, assignment in enumerate(wanted):
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
            existing = current.get(assignment.natural_key())
            if existing == assignment:
                continue
            changed.append(NewEvent(ASSIGNMENT_MADE, assignment.payload(uuid4()), actor))
        return changed

    return await ledger.decide(school, decide)


async def end_assignment(ledger: Ledger, school: str, actor: Actor, assignment_id: UUID, valid_to: Any) -> list[Event]:
    last_day = identity.parse_date(valid_to, "valid_to")

    async def decide(session: SchoolSession) -> list[NewEvent]:
        rows = await read(session.conn, assignments, session.school, assignment_id=assignment_id)
        if not rows:
            raise NotFound("assignment.unknown", "không có phân công này", "no such assignment", field="assignment")
        if last_day < rows[0]["valid_from"]:
            raise ValidationError(
                "assignment.dates",
                "ngày kết thúc trước ngày bắt đầu",
                "the end comes before the start",
                field="valid_to",
            )
        return [NewEvent(ASSIGNMENT_ENDED, {"assignment": str(assignment_id), "valid_to": last_day.isoformat()}, actor)]

    return await ledger.decide(school, decide)


async def holds(
    session: SchoolSession,
    staff_id: str,
    role: Role,
    on: date,
    *,
    year: str | None = None,
    class_id: str | None = None,
    subject: str | None = None,
    term: int | None = None,
) -> bool:
    """Does `staff_id` hold `role` (for that class, subject and term) on day `on`?"""
    filters: dict[str, Any] = {"staff_id": staff_id, "role": role.value}
    for name, value in (("year", year), ("class_id", class_id), ("subject", subject), ("term", term)):
        if value is not None:
            filters[name] = value
    for row in await read(session.conn, assignments, session.school, **filters):
        if row["valid_from"] <= on and (row["valid_to"] is None or on <= row["valid_to"]):
            return True
    return False


# --- projections -------------------------------------------------------------------------------


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
    key = UUID(e.payload["assignment"])
    current = await w.get(assignments, assignment_id=key)
    if current is not None:
        values = {name: current[name] for name in assignments.info["values"]}
        await w.put(assignments, {"assignment_id": key}, {**values, "valid_to": _day(e.payload["valid_to"])})


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
            },
        ),
        ASSIGNMENT_ENDED: _on_assignment_ended,
    },
)
