"""The school-year model as events, and bulk import from the sector database's CSV and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.app.demo import ADMIN, PRINCIPAL, DemoSchool, build_demo_school
from ledger.base.errors import DomainError, NotFound, ValidationError
from ledger.log import store
from ledger.log.append import Ledger
from ledger.log.projection import read
from ledger.school.imports.sector import column_key, import_assignments, import_staff, import_students
from ledger.school.rules.identity import personal_id
from ledger.school.rules.roles import Role
from ledger.school.years.commands import register_students
from ledger.school.years.model import Assignment
from ledger.school.years.queries import holds
from ledger.school.years.tables import assignments, enrolments, students
from tests.support.helpers import hocba

STUDENT = {
    "student": "037312001234",
    "ministry_code": "3712001234",
    "full_name": "Nguyễn Thị Hà",
    "gender": "Nữ",
    "date_of_birth": "2012-03-14",
}


async def head(ledger: Ledger, school: str) -> int:
    async with ledger.engine.connect() as conn:
        return (await store.read_head(conn, school)).seq


@pytest.mark.parametrize(
    ("value", "birth", "gender", "code"),
    [
        ("03731200123", None, None, "personal_id.format"),  # 11 digits
        ("03731200123x", None, None, "personal_id.format"),
        ("003312001234", None, None, "personal_id.province"),  # no province 003
        ("037312001234", "2011-03-14", None, "personal_id.birth_year"),  # encodes 2012
        ("037212001234", None, "Nữ", "personal_id.gender"),  # 2 = male, born 2000–2099
    ],
)
def test_personal_identifier_is_validated(value: str, birth: str | None, gender: str | None, code: str) -> None:
    from datetime import date

    with pytest.raises(ValidationError) as refused:
        personal_id(value, "student", birth=date.fromisoformat(birth) if birth else None, gender=gender)
    assert refused.value.code == code
    assert refused.value.field == "student"


def test_a_valid_personal_identifier_passes() -> None:
    from datetime import date

    assert personal_id("037312001234", birth=date(2012, 3, 14), gender="Nữ") == "037312001234"


def test_vietnamese_headers_match_without_diacritics() -> None:
    assert column_key("Họ và tên") == column_key("HO VA TEN") == "ho_va_ten"
    assert column_key(" Số định danh cá nhân ") == "so_dinh_danh_ca_nhan"
    assert column_key("Đơn vị") == "don_vi"


async def test_invalid_students_are_refused_and_nothing_is_appended(app_engine: AsyncEngine, school: str) -> None:
    demo = await build_demo_school(app_engine, school, students_per_class=2, terms=())
    ledger = demo.ledger
    before = await head(ledger, school)
    bad = [STUDENT, {**STUDENT, "student": "037212009999", "ministry_code": "3712009999"}]  # the second says male
    with pytest.raises(ValidationError) as refused:
        await register_students(ledger, school, ADMIN, bad)
    assert refused.value.field == "students[1].student"
    assert await head(ledger, school) == before


async def test_the_demo_school_holds_its_model(app_engine: AsyncEngine, demo: DemoSchool) -> None:
    async with app_engine.connect() as conn:
        roster = await read(conn, enrolments, demo.school, year=demo.year, class_id="8A1")
        assert len(roster) == 10
        profile = (await read(conn, students, demo.school, student_id=roster[0]["student_id"]))[0]
        assert profile["guardians"][0]["relation"] == "Cha"
        teacher = demo.subject_teachers["TOAN"]
        assert len(await read(conn, assignments, demo.school, staff_id=teacher, role="SUBJECT_TEACHER")) == 8


async def test_role_assignment_time_is_checked(app_engine: AsyncEngine, school: str) -> None:
    from datetime import date

    from ledger.school.years.commands import end_assignment, make_assignments

    demo = await build_demo_school(app_engine, school, students_per_class=1, terms=())
    ledger = demo.ledger
    toan = demo.subject_teachers["TOAN"]

    async def check(session):  # type: ignore[no-untyped-def]
        def teaches(day: date, subject: str):  # type: ignore[no-untyped-def]
            return holds(
                session, toan, Role.SUBJECT_TEACHER, day, year=demo.year, class_id="6A1", subject=subject, term=1
            )

        return [
            await teaches(date(2025, 10, 1), "TOAN"),
            await teaches(date(2025, 10, 1), "NGU_VAN"),  # not their subject
            await teaches(date(2025, 8, 1), "TOAN"),  # before the assignment starts
            await holds(session, PRINCIPAL.user, Role.PRINCIPAL, date(2026, 1, 1)),
        ]

    assert await ledger.execute(school, check) == [True, False, False, True]
    [made] = await make_assignments(ledger, school, PRINCIPAL, [Assignment(toan, Role.LEADERSHIP, date(2025, 9, 1))])
    await end_assignment(ledger, school, PRINCIPAL, __import__("uuid").UUID(made.payload["assignment"]), "2025-12-31")

    async def leadership(session):  # type: ignore[no-untyped-def]
        return [
            await holds(session, toan, Role.LEADERSHIP, date(2025, 12, 31)),
            await holds(session, toan, Role.LEADERSHIP, date(2026, 1, 1)),
        ]

    assert await ledger.execute(school, leadership) == [True, False]


STAFF_CSV = (
    "Mã cán bộ,Họ và tên,Số điện thoại,Email\n"
    "gv.lethuha,Lê Thu Hà,0912 345 678,ha@example.vn\n"
    "gv.buiquang,Bùi Văn Quang,,\n"
)
STUDENTS_CSV = (
    "Số định danh cá nhân;Mã học sinh;Họ và tên;Giới tính;Ngày sinh;Nơi sinh;Dân tộc;Lớp;Họ tên cha;SĐT cha\n"
    "037312001234;3712001234;Nguyễn Thị Hà;Nữ;14/03/2012;Ninh Bình;Kinh;8A2;Nguyễn Văn Tâm;+84 912 000 111\n"
    "037213004321;3713004321;Trần Minh Quân;Nam;02/11/2013;Ninh Bình;Mường;7A2;;\n"
)
ASSIGNMENTS_JSON = [
    {
        "staff": "gv.lethuha",
        "role": "GVBM",
        "year": "2025-2026",
        "class": "8A2",
        "subject": "Toán",
        "term": "HK I",
        "valid_from": "2025-09-01",
    },
    {
        "staff": "gv.lethuha",
        "role": "Giáo viên chủ nhiệm",
        "year": "2025-2026",
        "class": "8A2",
        "valid_from": "2025-09-01",
    },
    {"staff": "gv.buiquang", "role": "Phó hiệu trưởng", "valid_from": "01/09/2025", "valid_to": "31/08/2026"},
]


async def test_import_staff_students_and_assignments_and_reimport_changes_nothing(
    app_engine: AsyncEngine, school: str, tmp_path: Path
) -> None:
    demo = await build_demo_school(app_engine, school, students_per_class=1, terms=())
    ledger = demo.ledger
    (tmp_path / "staff.csv").write_text(STAFF_CSV, encoding="utf-8-sig")
    (tmp_path / "students.csv").write_text(STUDENTS_CSV, encoding="utf-8")
    (tmp_path / "assignments.json").write_text(json.dumps(ASSIGNMENTS_JSON, ensure_ascii=False), encoding="utf-8")

    async def everything() -> list[int]:
        return [
            len((await import_staff(ledger, school, ADMIN, tmp_path / "staff.csv")).events),
            len((await import_students(ledger, school, ADMIN, tmp_path / "students.csv", "2025-2026")).events),
            len((await import_assignments(ledger, school, ADMIN, tmp_path / "assignments.json")).events),
        ]

    first = await everything()
    assert first == [2, 2 + 2 + 2, 3]  # 2 staff; 2 students, classes 7A2 and 8A2, 2 enrolments; 3 assignments
    seq = await head(ledger, school)
    assert await everything() == [0, 0, 0]
    assert await head(ledger, school) == seq
    async with app_engine.connect() as conn:
        [ha] = await read(conn, students, school, student_id="037312001234")
        assert ha["guardians"] == [{"full_name": "Nguyễn Văn Tâm", "relation": "Cha", "phone": "0912000111"}]
        [math] = await read(conn, assignments, school, staff_id="gv.lethuha", role="SUBJECT_TEACHER")
        assert (math["subject"], math["term"], math["class_id"]) == ("TOAN", 1, "8A2")


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ("Mã cán bộ,Email\ngv.x,a@b.c\n", ".csv", "ho_va_ten"),  # missing column: named
        ("Mã cán bộ,Họ và tên\nGV X!,Ai\n", ".csv", "row 2, column staff"),
        ("[1, 2]", ".json", "list of objects"),
        ("ma_can_bo\tho_ten", ".xls", "only .csv and .json"),
    ],
)
async def test_bad_import_files_are_refused_with_row_and_column(
    ledger: Ledger, school: str, tmp_path: Path, content: str, suffix: str, message: str
) -> None:
    path = tmp_path / f"staff{suffix}"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DomainError) as refused:
        await import_staff(ledger, school, ADMIN, path)
    assert message in str(refused.value) or message in (refused.value.field or "") or message in refused.value.en
    assert await head(ledger, school) == 0


async def test_unknown_class_or_unknown_student_on_enrolment(app_engine: AsyncEngine, school: str) -> None:
    from ledger.school.years.commands import enrol

    demo = await build_demo_school(app_engine, school, students_per_class=1, terms=())
    ledger = demo.ledger
    known = demo.rosters["6A1"][0]
    with pytest.raises(NotFound, match="class 6Z9 does not exist"):
        await enrol(ledger, school, ADMIN, "2025-2026", [(known, "6Z9", "2025-09-05")])
    with pytest.raises(NotFound, match="no record"):
        await enrol(ledger, school, ADMIN, "2025-2026", [("037312001234", "6A1", "2025-09-05")])


def test_cli_import_reports_and_refuses(env: dict[str, str], tmp_path: Path, school: str) -> None:
    path = tmp_path / "staff.csv"
    path.write_text(STAFF_CSV, encoding="utf-8")
    env = {**env, "HOCBA_SCHOOL": school}
    unregistered = hocba("import", "staff", str(path), "--json", env=env)
    assert unregistered.returncode == 2 and f"no school '{school}'" in unregistered.stderr  # a typo starts nothing
    assert hocba("school", "register", "--name", "THCS Khánh Phú", env=env).returncode == 0
    first = hocba("import", "staff", str(path), "--json", env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["appended"] == 2
    again = hocba("import", "staff", str(path), "--json", env=env)
    assert json.loads(again.stdout)["appended"] == 0
    missing = hocba("import", "staff", str(tmp_path / "nope.csv"), env=env)
    assert missing.returncode == 2 and "no such file" in missing.stderr
