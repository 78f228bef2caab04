"""Reading the school-year model: the year, a class's grade, a subject of the catalogue, a class's
roster, and whether someone holds a role (role × assignment × time)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base.errors import NotFound, ValidationError
from ledger.log.append import SchoolSession
from ledger.log.projection import read
from ledger.school.rules import names
from ledger.school.rules.roles import Role
from ledger.school.years.tables import assignments, classes, enrolments, school_years, staff, students, subjects


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


async def known_year(conn: AsyncConnection, school: str, year: str) -> str:
    """`year`, if the school opened it; else refused, naming the years it opened."""
    years = sorted(row["year"] for row in await read(conn, school_years, school))
    if year not in years:
        there = ", ".join(years) or "chưa có / none"
        raise NotFound(
            "year.unknown",
            f"trường chưa mở năm học {year} (có: {there})",
            f"the school has not opened school year {year} (there are: {there})",
            field="year",
        )
    return year


async def known_class(conn: AsyncConnection, school: str, year: str, class_id: str) -> int:
    """The grade of a class of `year`; an unknown class is refused, naming the classes of the year."""
    rows = await read(conn, classes, school, year=year)
    found = [row for row in rows if row["class_id"] == class_id]
    if not found:
        there = ", ".join(sorted(row["class_id"] for row in rows)) or "chưa có / none"
        raise NotFound(
            "class.unknown",
            f"lớp {class_id} không có trong năm học {year} (có: {there})",
            f"class {class_id} does not exist in {year} (there are: {there})",
            field="class",
        )
    return int(found[0]["grade"])


async def known_student(conn: AsyncConnection, school: str, student: str) -> str:
    """A student the school registered; else refused, saying how many it has."""
    registered = await read(conn, students, school)
    if not any(row["student_id"] == student for row in registered):
        raise NotFound(
            "student.unknown",
            f"không có học sinh {student} trong hồ sơ trường (trường có {len(registered)} học sinh)",
            f"no student {student} in the school's records (it has {len(registered)} students)",
            field="student",
        )
    return student


async def subject_code(conn: AsyncConnection, school: str, year: str, value: Any, field: str = "subject") -> str:
    """The catalogue code of a subject of `year` named by its code or its Vietnamese name ("TOAN",
    "Toán", "toán"); an unknown one is refused, naming the subjects there are."""
    catalogue = {row["code"]: row["name"] for row in await read(conn, subjects, school, year=year)}
    try:
        return names.subject_code(value, catalogue, field=field, year=year)
    except ValidationError as unknown:
        raise NotFound(unknown.code, unknown.vi, unknown.en, field=field) from None


async def class_grade(session: SchoolSession, year: str, class_id: str) -> int:
    return await known_class(session.conn, session.school, year, class_id)


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
    anyone: bool = False,
) -> bool:
    """Does `staff_id` (or, with `anyone`, anybody) hold `role` (for that class, subject and term)
    on day `on`? A grant waiting for the principal's approval holds nothing."""
    filters: dict[str, Any] = {"role": role.value} if anyone else {"staff_id": staff_id, "role": role.value}
    for name, value in (("year", year), ("class_id", class_id), ("subject", subject), ("term", term)):
        if value is not None:
            filters[name] = value
    for row in await read(session.conn, assignments, session.school, **filters):
        if not row["pending"] and row["valid_from"] <= on and (row["valid_to"] is None or on <= row["valid_to"]):
            return True
    return False


async def assignment_list(conn: AsyncConnection, school: str) -> list[dict[str, Any]]:
    """Every current assignment, with the holder's name, whether it waits for the principal's
    approval, and the decision it cites; leadership first, then by name."""
    people = {row["staff_id"]: row["full_name"] for row in await read(conn, staff, school)}
    subject_names = {(row["year"], row["code"]): row["name"] for row in await read(conn, subjects, school)}
    order = [role.value for role in Role]
    rows = await read(conn, assignments, school)
    rows.sort(
        key=lambda r: (order.index(r["role"]), people.get(r["staff_id"]) or "", r["year"] or "", r["class_id"] or "")
    )
    return [
        {
            "assignment": str(row["assignment_id"]),
            "staff": row["staff_id"],
            "name": people.get(row["staff_id"]),
            "role": row["role"],
            "year": row["year"],
            "class": row["class_id"],
            "subject": row["subject"],
            "subject_name": subject_names.get((row["year"], row["subject"])),
            "term": row["term"],
            "valid_from": row["valid_from"].isoformat(),
            "valid_to": row["valid_to"].isoformat() if row["valid_to"] else None,
            "pending": bool(row["pending"]),
            "decision": row["decision"],
        }
        for row in rows
    ]
