"""Gradebook sheets from the school-management software (Điều 17.2, 19, 21, 29): one class × subject ×
term sheet, XLSX in the SMAS layout or CSV in the vnEdu layout (built here), a dry run cell by cell,
an all-or-nothing commit that never overwrites (a different value becomes a correction request, Điều
17.3), the calendar as for typed entry (Điều 33.3c), every bad input named by file, sheet, row and
column, and the IT teacher's reconciliation against the source (Điều 18.2)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.app.demo import ADMIN, IT_REVIEWER, PRINCIPAL, DemoSchool, build_demo_school, certify
from ledger.app.runtime import Runtime
from ledger.base.clock import VN_TZ
from ledger.base.errors import DomainError
from ledger.format.envelope import Actor
from ledger.log.projection import read
from ledger.school.assessments.tables import assessments
from ledger.school.calendar.commands import set_lock
from ledger.school.calendar.model import LockScope
from ledger.school.class_sheets.commands import prepare_sheet, submit_sheet
from ledger.school.class_sheets.queries import sheet_document, sheet_status
from ledger.school.corrections.commands import decide_request, file_request
from ledger.school.corrections.model import assessment_target
from ledger.school.corrections.tables import corrections
from ledger.school.imports.gradebook import import_sheet, reconcile
from ledger.school.imports.sheets import MAX_BYTES, read_gradebook
from ledger.school.rules.roles import Role
from ledger.school.years.tables import students, subjects
from signing.x509.pki import Pki
from signing.xml import document as hocba_xml
from signing.xml import verify as xml_verify
from signing.xml import xades
from tests.support import helpers

YEAR = "2025-2026"
CLASS = "6A1"
TITLE = ["SỞ GIÁO DỤC VÀ ĐÀO TẠO NINH BÌNH", "TRƯỜNG THCS KHÁNH PHÚ", "SỔ ĐIỂM MÔN TOÁN - LỚP 6A1 - HỌC KỲ I"]


@pytest.fixture
async def school_at_term_one(app_engine: AsyncEngine, school: str) -> DemoSchool:
    """Staff, classes and students, nothing entered yet; the clock inside term I's entry window."""
    return await build_demo_school(app_engine, school, students_per_class=4, terms=())


async def regular_count(demo: DemoSchool, subject: str = "TOAN") -> int:
    async with demo.ledger.engine.connect() as conn:
        [row] = await read(conn, subjects, demo.school, year=YEAR, code=subject, grade=6)
    return int(row["regular_count"])


async def ministry_codes(demo: DemoSchool) -> dict[str, str]:
    async with demo.ledger.engine.connect() as conn:
        return {r["student_id"]: r["ministry_code"] for r in await read(conn, students, demo.school)}


def marks(index: int, slots: int) -> list[str]:
    """Scores as a teacher types them in the software, with the Vietnamese decimal comma."""
    return [f"{(5 + index + k) % 5 + 5},5" if k % 2 else str((6 + index + k) % 5 + 5) for k in range(slots + 2)]


def smas_xlsx(demo: DemoSchool, codes: dict[str, str], slots: int, rows: list[list[Any]] | None = None) -> bytes:
    """An SMAS-style export: a title block, the header row, one row per student, a signature line."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Toan_6A1_HK1"
    for line in TITLE:
        sheet.append([line])
    sheet.append([])
    header = ["STT", "Mã học sinh", "Họ và tên", "Ngày sinh", *[f"ĐĐGtx{k}" for k in range(1, slots + 1)]]
    sheet.append([*header, "ĐĐGgk", "ĐĐGck", "Nhận xét"])
    if rows is None:
        rows = [
            [n + 1, codes[s], demo.names[s], "01/01/2014", *marks(n, slots), "Chăm chỉ" if n == 0 else None]
            for n, s in enumerate(demo.rosters[CLASS])
        ]
    for row in rows:
        sheet.append(row)
    sheet.append([])
    sheet.append(["", "", "Giáo viên bộ môn"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def vnedu_csv(
    demo: DemoSchool,
    slots: int,
    *,
    skip: int | None = None,
    first_mark: dict[int, str] | None = None,
    extra: tuple[str, ...] = (),
) -> bytes:
    """A vnEdu-style CSV: personal identifiers, TX1…, GK, CK. `skip` leaves a student out,
    `first_mark` changes a student's TX1, `extra` adds students of other classes."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["STT", "Mã định danh", "Họ và tên", *[f"TX{k}" for k in range(1, slots + 1)], "GK", "CK"])
    for n, student in enumerate(demo.rosters[CLASS]):
        if n == skip:
            continue
        values = marks(n, slots)
        values[0] = (first_mark or {}).get(n, values[0])
        writer.writerow([n + 1, student, demo.names[student], *values])
    for n, student in enumerate(extra):
        writer.writerow([10 + n, student, demo.names[student], *marks(n, slots)])
    return out.getvalue().encode("utf-8-sig")


def importing(demo: DemoSchool, data: bytes, name: str, *, dry_run: bool = False, teacher: str = "TOAN", **kw: Any):  # type: ignore[no-untyped-def]
    book = read_gradebook(data, name, **kw)
    return lambda: import_sheet(
        demo.ledger,
        demo.school,
        demo.teacher(teacher),
        book,
        year=YEAR,
        class_id=CLASS,
        subject="TOAN",
        term=1,
        dry_run=dry_run,
    )


async def recorded(demo: DemoSchool) -> dict[tuple[str, str, int], dict[str, Any]]:
    async with demo.ledger.engine.connect() as conn:
        rows = await read(conn, assessments, demo.school, year=YEAR, subject="TOAN", term=1)
    return {(r["student_id"], r["kind"], r["slot"]): r for r in rows}


async def test_dry_run_then_commit_then_the_same_file_again_appends_nothing_dieu_17_2(
    school_at_term_one: DemoSchool,
) -> None:
    demo = school_at_term_one
    slots = await regular_count(demo)
    data = smas_xlsx(demo, await ministry_codes(demo), slots)
    before = await helpers.head(demo.ledger, demo.school)
    plan = await importing(demo, data, "Toan_6A1_HK1.xlsx", dry_run=True)()
    assert await helpers.head(demo.ledger, demo.school) == before  # a dry run appends nothing
    assert plan["preset"] == "smas" and plan["sheet"] == "Toan_6A1_HK1" and plan["appended"] == 0
    assert plan["counts"] == {"new": 4 * (slots + 2) + 1, "unchanged": 0, "differs": 0}
    first = plan["cells"][0]
    assert (first["row"], first["column"], first["kind"], first["slot"]) == (6, "E", "regular", 1)
    assert first["file"] == "6.0" and plan["cells"][1]["file"] == "6.5"  # "6" and "6,5" in the sheet

    done = await importing(demo, data, "Toan_6A1_HK1.xlsx")()
    assert done["appended"] == 4 * (slots + 2) + 1 and done["proposals"] == []
    values = await recorded(demo)
    student = demo.rosters[CLASS][0]
    assert values[(student, "regular", 2)]["value"] == "6.5"
    assert values[(student, "regular", 2)]["recorded_by"] == demo.subject_teachers["TOAN"]
    assert values[(student, "final", 0)]["source"] == {
        "file_sha256": done["sha256"],
        "file": "Toan_6A1_HK1.xlsx",
        "sheet": "Toan_6A1_HK1",
        "row": 6,
    }

    head = await helpers.head(demo.ledger, demo.school)
    again = await importing(demo, data, "Toan_6A1_HK1.xlsx")()
    assert again["appended"] == 0 and again["counts"]["unchanged"] == 4 * (slots + 2) + 1
    assert await helpers.head(demo.ledger, demo.school) == head


async def test_a_different_value_is_never_overwritten_but_proposed_as_a_correction_dieu_17_3(
    school_at_term_one: DemoSchool,
) -> None:
    demo = school_at_term_one
    slots = await regular_count(demo)
    await importing(demo, vnedu_csv(demo, slots), "toan.csv")()
    changed = vnedu_csv(demo, slots, first_mark={0: "10"})
    student = demo.rosters[CLASS][0]
    old = (await recorded(demo))[(student, "regular", 1)]["value"]

    plan = await importing(demo, changed, "toan-sua.csv")()
    assert plan["counts"]["differs"] == 1 and plan["appended"] == 1
    [proposal] = plan["proposals"]
    assert (proposal["student"], proposal["kind"], proposal["slot"], proposal["old"], proposal["new"]) == (
        student,
        "regular",
        1,
        old,
        "10.0",
    )
    assert (await recorded(demo))[(student, "regular", 1)]["value"] == old  # not overwritten
    async with demo.ledger.engine.connect() as conn:
        [request] = await read(conn, corrections, demo.school, status="pending")
    assert str(request["request_id"]) == proposal["request"]
    assert request["attachment_sha256"] == plan["sha256"] and "toan-sua.csv" in request["reason"]
    # the same conflicting file again: the request is already waiting, nothing more is filed
    again = await importing(demo, changed, "toan-sua.csv")()
    assert again["appended"] == 0 and again["proposals"][0]["request"] == proposal["request"]


async def test_xml_and_ministry_codes_are_read_too(school_at_term_one: DemoSchool) -> None:
    demo = school_at_term_one
    slots = await regular_count(demo)
    codes = await ministry_codes(demo)
    pupils = []
    for n, student in enumerate(demo.rosters[CLASS]):
        columns = ["Mã học sinh", "Họ và tên", *[f"ĐĐGtx{k}" for k in range(1, slots + 1)], "ĐĐGgk", "ĐĐGck"]
        values = [codes[student], demo.names[student], *marks(n, slots)]
        pupils.append(
            "<HocSinh>"
            + "".join(f'<Cot Ten="{c}">{v}</Cot>' for c, v in zip(columns, values, strict=True))
            + "</HocSinh>"
        )
    data = ("<?xml version='1.0' encoding='UTF-8'?><BangDiem>" + "".join(pupils) + "</BangDiem>").encode()
    plan = await importing(demo, data, "toan.xml")()
    assert plan["appended"] == 4 * (slots + 2)


def _formula(demo: DemoSchool, codes: dict[str, str], slots: int) -> bytes:
    s = demo.rosters[CLASS][0]
    return smas_xlsx(demo, codes, slots, [[1, codes[s], demo.names[s], "", *marks(0, slots)[:-1], "=AVERAGE(E6:F6)"]])


BAD_INPUTS = {
    # case: (code, build(demo, codes, slots) -> (bytes, name), row, column)
    "missing end-of-term column": (
        "gradebook.headers",
        lambda d, c, n: (vnedu_csv(d, n).replace(b",CK", b",XX"), "toan.csv"),
        1,
        None,
    ),
    "unknown student": (
        "gradebook.unknown_student",
        lambda d, c, n: (smas_xlsx(d, c, n, [[1, "3799999999", "Không Có Tên", "", *marks(0, n)]]), "toan.xlsx"),
        6,
        "B",
    ),
    "duplicate row": (
        "gradebook.duplicate",
        lambda d, c, n: (
            smas_xlsx(d, c, n, [[k, c[d.rosters[CLASS][0]], "X", "", *marks(0, n)] for k in (1, 2)]),
            "toan.xlsx",
        ),
        7,
        "B",
    ),
    "score out of range": (
        "gradebook.value",
        lambda d, c, n: (smas_xlsx(d, c, n, [[1, c[d.rosters[CLASS][0]], "X", "", "11", *marks(0, n)[1:]]]), "t.xlsx"),
        6,
        "E",
    ),
    "too many decimals": (
        "gradebook.value",
        lambda d, c, n: (
            smas_xlsx(d, c, n, [[1, c[d.rosters[CLASS][0]], "X", "", "8,25", *marks(0, n)[1:]]]),
            "t.xlsx",
        ),
        6,
        "E",
    ),
    "wrong number of slots": ("gradebook.slots", lambda d, c, n: (vnedu_csv(d, n - 1), "toan.csv"), 1, None),
    "not what its extension says": ("gradebook.file_type", lambda d, c, n: (vnedu_csv(d, n), "toan.xlsx"), None, None),
    "oversized": ("gradebook.too_large", lambda d, c, n: (b"x" * (MAX_BYTES + 1), "toan.csv"), None, None),
    "an .xls that is not a workbook": (
        "gradebook.file_type",
        lambda d, c, n: (b"\xd0\xcf\x11\xe0" + b"\0" * 64, "toan.xls"),
        None,
        None,
    ),
    "formulas instead of values": ("gradebook.formula", lambda d, c, n: (_formula(d, c, n), "toan.xlsx"), 6, None),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
async def test_bad_input_is_named_by_file_sheet_row_and_column_and_changes_nothing(
    school_at_term_one: DemoSchool, case: str
) -> None:
    demo = school_at_term_one
    code, build, row, column = BAD_INPUTS[case]
    data, name = build(demo, await ministry_codes(demo), await regular_count(demo))
    before = await helpers.head(demo.ledger, demo.school)
    with pytest.raises(DomainError) as caught:
        await importing(demo, data, name)()
    error = caught.value
    assert error.code == code, error.en
    assert error.vi.startswith(name) and error.en.startswith(name)  # the file is named first
    assert error.details.get("row") == row or (row is not None and column is None and f"dòng {row}" in error.vi)
    if column:
        assert error.details["column"] == column and f"cột {column}" in error.vi and f"column {column}" in error.en
    if name.endswith(".xlsx") and code not in ("gradebook.file_type",):
        assert "trang Toan_6A1_HK1" in error.vi
    assert await helpers.head(demo.ledger, demo.school) == before


async def test_a_sheet_of_a_class_the_uploader_does_not_teach_is_refused_dieu_17_2(
    school_at_term_one: DemoSchool,
) -> None:
    demo = school_at_term_one
    data = vnedu_csv(demo, await regular_count(demo))
    error = await helpers.refused(
        demo.ledger, demo.school, "gradebook.not_assigned", importing(demo, data, "toan.csv", teacher="NGU_VAN")
    )
    assert error.vi.startswith("toan.csv")


async def test_after_the_entry_window_the_import_is_refused_as_typed_entry_is_dieu_33_3c(
    school_at_term_one: DemoSchool,
) -> None:
    demo = school_at_term_one
    data = vnedu_csv(demo, await regular_count(demo))
    demo.clock.set(datetime(2026, 1, 25, 9, tzinfo=VN_TZ))  # term I's window has closed
    plan = await importing(demo, data, "toan.csv", dry_run=True)()
    assert plan["deadline"]["code"] == "window.closed"  # the dry run says so
    await helpers.refused(demo.ledger, demo.school, "window.closed", importing(demo, data, "toan.csv"))


async def test_reconciliation_finds_a_missing_student_and_a_stranger_dieu_18_2(
    school_at_term_one: DemoSchool, env: dict[str, str], tmp_path: Path
) -> None:
    demo = school_at_term_one
    slots = await regular_count(demo)
    absent = demo.rosters[CLASS][2]
    await importing(demo, vnedu_csv(demo, slots, skip=2), "toan.csv")()
    # the source as the IT teacher receives it: a student of another class, and a value typed differently
    stranger = demo.rosters["7A1"][0]
    data = vnedu_csv(demo, slots, skip=2, first_mark={1: "4"}, extra=(stranger,))
    book = read_gradebook(data, "nguon.csv")
    async with demo.ledger.engine.connect() as conn:
        report = await reconcile(conn, demo.school, book, year=YEAR, class_id=CLASS, subject="TOAN", term=1)
    assert not report["ok"]
    assert report["enrolled_not_in_file"] == [{"student": absent, "full_name": demo.names[absent]}]
    assert {(m["student"], m["kind"], m["slot"]) for m in report["missing"]} == {
        (absent, kind, slot)
        for kind, slot in [*[("regular", k) for k in range(1, slots + 1)], ("midterm", None), ("final", None)]
    }
    assert [(o["student"], o["registered"]) for o in report["in_file_not_enrolled"]] == [(stranger, True)]
    [mismatch] = report["mismatches"]
    assert (mismatch["student"], mismatch["kind"], mismatch["slot"], mismatch["file"]) == (
        demo.rosters[CLASS][1],
        "regular",
        1,
        "4.0",
    )
    assert report["counts"]["enrolled"] == 4 and report["counts"]["file_rows"] == 4

    path = tmp_path / "nguon.csv"
    path.write_bytes(data)
    command = [
        "import",
        "reconcile",
        str(path),
        "--school",
        demo.school,
        "--year",
        YEAR,
        "--class",
        CLASS,
        "--subject",
        "TOAN",
        "--term",
        "1",
        "--json",
    ]
    reviewer = await helpers.signed_in(demo.ledger.engine, env, demo.school, IT_REVIEWER.user)
    done = helpers.hocba(*command, env=reviewer)
    assert done.returncode == 1 and json.loads(done.stdout)["enrolled_not_in_file"][0]["student"] == absent


async def test_the_cli_shows_the_dry_run_and_refuses_after_the_final_date_dieu_25_4(
    school_at_term_one: DemoSchool, env: dict[str, str], tmp_path: Path
) -> None:
    """The command runs on the machine's clock, long after the 2025-2026 year became final."""
    demo = school_at_term_one
    path = tmp_path / "Toan_6A1_HK1.xlsx"
    path.write_bytes(smas_xlsx(demo, await ministry_codes(demo), await regular_count(demo)))
    # no --year: the current school year, the latest that has started
    base = [
        "import",
        "sheet",
        str(path),
        "--school",
        demo.school,
        "--class",
        CLASS,
        "--subject",
        "TOAN",
        "--term",
        "1",
        "--actor",
        demo.subject_teachers["TOAN"],
    ]
    env = await helpers.signed_in(demo.ledger.engine, env, demo.school, demo.subject_teachers["TOAN"])
    dry = helpers.hocba(*base, "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "dòng 6 cột E" in dry.stdout and "new - → 6,0" in dry.stdout and "appended=0" in dry.stdout
    assert "là bản cuối cùng, không được sửa đổi" in dry.stdout  # the dry run says the year is final
    done = helpers.hocba(*base, "--json", env=env)
    assert done.returncode != 0 and "is final and cannot change" in done.stderr
    assert await recorded(demo) == {}
    missing = helpers.hocba(*base[:2], str(tmp_path / "missing.xlsx"), *base[3:], env=env)
    assert missing.returncode != 0 and "no such file" in missing.stderr


async def test_over_http_the_teacher_dry_runs_and_the_it_teacher_reconciles(
    api: Any, demo: DemoSchool, tokens: dict[str, dict[str, str]]
) -> None:
    """The fixture school's 6A1 Toán sheet of term I, exported as the software would: everything is
    unchanged, and the reconciliation finds nothing to report."""
    slots = await regular_count(demo)
    values = await recorded(demo)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Mã định danh", "Họ và tên", *[f"TX{k}" for k in range(1, slots + 1)], "GK", "CK"])
    for student in demo.rosters[CLASS]:
        cells = [values[(student, "regular", k)]["value"] for k in range(1, slots + 1)]
        cells += [values[(student, "midterm", 0)]["value"], values[(student, "final", 0)]["value"]]
        writer.writerow([student, demo.names[student], *[c.replace(".", ",") for c in cells]])
    body = out.getvalue().encode()
    base = f"/api/v1/schools/{demo.school}/classes/{CLASS}/sheets/TOAN/1"
    params = {"year": YEAR, "filename": "toan-6a1.csv", "dry_run": "true"}
    dry = await api.post(f"{base}/import", params=params, content=body, headers=tokens["SUBJECT_TEACHER"])
    assert dry.status_code == 200, dry.text
    assert dry.json()["counts"] == {"new": 0, "unchanged": len(demo.rosters[CLASS]) * (slots + 2), "differs": 0}
    report = await api.post(f"{base}/reconcile", params=params, content=body, headers=tokens["IT_REVIEWER"])
    assert report.status_code == 200 and report.json()["ok"] is True, report.text
    wrong = await api.post(
        f"{base}/import", params={**params, "filename": "toan.xlsx"}, content=body, headers=tokens["SUBJECT_TEACHER"]
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "gradebook.file_type"
    assert wrong.headers["content-type"].startswith("application/problem+json")


async def test_after_the_import_the_subject_teacher_signs_the_class_sheet_dieu_18_3(
    school_at_term_one: DemoSchool, pki: Pki, runtime: Runtime, tmp_path: Path
) -> None:
    demo = school_at_term_one
    await importing(demo, vnedu_csv(demo, await regular_count(demo)), "toan.csv")()
    signers = await certify(demo, pki, runtime.signer(demo.school), runtime.verification())
    teacher, other = demo.subject_teachers["TOAN"], demo.subject_teachers["NGU_VAN"]
    # Điều 18.3, 33.3c: while term I's entry window is open the sheet can still change: not signed yet
    async with demo.ledger.engine.connect() as conn:
        with pytest.raises(DomainError) as early:
            await prepare_sheet(conn, demo.school, YEAR, CLASS, "TOAN", 1, demo.clock.now())
    assert early.value.code == "signature.period_open" and "Toán lớp 6A1" in early.value.vi
    assert "hết thời hạn nhập" in early.value.vi and "Điều 18.3" in (early.value.rule or "")
    # the principal has entry of the class locked (Điều 36.2): nothing more can be entered, it is signed
    lock = LockScope(YEAR, CLASS, "TOAN", 1)
    await set_lock(demo.ledger, demo.school, ADMIN, lock, closed=True, order="Lệnh 3/LĐ", ordered_by=PRINCIPAL.user)
    async with demo.ledger.engine.connect() as conn:
        prepared = await prepare_sheet(conn, demo.school, YEAR, CLASS, "TOAN", 1, demo.clock.now())
    part = hocba_xml.parse(prepared)[0]
    assert (part.get("Lop"), part.get("Mon"), part.get("HocKy")) == (CLASS, "TOAN", "1")
    assert [p.get("SoDinhDanh") for p in part.iter(hocba_xml.tag("HocSinh"))] == sorted(demo.rosters[CLASS])

    def signed_by(staff: str) -> bytes:
        keys = signers.people[staff]
        return xades.sign_prepared(prepared, keys.key, keys.certificate, signing_time=demo.clock.now())

    def submitting(staff: str, data: bytes) -> Any:
        actor = Actor(staff, Role.SUBJECT_TEACHER)
        return lambda: submit_sheet(
            demo.ledger, demo.school, actor, YEAR, CLASS, "TOAN", 1, data, pki.roots(), [pki.crl()]
        )

    await helpers.refused(demo.ledger, demo.school, "signature.not_assigned", submitting(other, signed_by(other)))
    # opened again before the teacher sends it back: refused on the append path, nothing appended
    await set_lock(demo.ledger, demo.school, ADMIN, lock, closed=False, order="Lệnh 4/LĐ", ordered_by=PRINCIPAL.user)
    await helpers.refused(demo.ledger, demo.school, "signature.period_open", submitting(teacher, signed_by(teacher)))
    demo.clock.set(datetime(2026, 1, 25, 9, tzinfo=VN_TZ))  # term I's window has closed
    event = await submitting(teacher, signed_by(teacher))()
    assert event.type == "sheet.signed" and event.actor.role == "SUBJECT_TEACHER"
    async with demo.ledger.engine.connect() as conn:
        state = await sheet_status(conn, demo.school, YEAR, CLASS, "TOAN", 1)
        root, _ = await sheet_document(conn, demo.school, YEAR, CLASS, "TOAN", 1)
    assert (state["signed"], state["stale"], state["signer"]) == (True, False, teacher)
    data = hocba_xml.to_bytes(root)
    report = await xml_verify.verify_xml(data, pki.roots(), [pki.crl()])
    assert report.ok and [s.role for s in report.signatures] == ["SUBJECT_TEACHER"]
    path = tmp_path / "bang-diem.xml"
    path.write_bytes(data)
    assert helpers.xmlsec1_verifies(path, pki.root_path) == [True]

    # an approved correction changes the sheet: the signature is stale and the teacher signs again
    student = demo.rosters[CLASS][0]
    old = (await recorded(demo))[(student, "final", 0)]["value"]
    request = await file_request(
        demo.ledger,
        demo.school,
        demo.teacher("TOAN"),
        assessment_target(YEAR, 1, CLASS, "TOAN", student, "final", None),
        old_value=old,
        new_value="10" if old != "10.0" else "9",
        reason="Cộng nhầm điểm",
    )
    await decide_request(demo.ledger, demo.school, PRINCIPAL, request.payload["request"], approve=True, reason="Đúng")
    async with demo.ledger.engine.connect() as conn:
        state = await sheet_status(conn, demo.school, YEAR, CLASS, "TOAN", 1)
        again = await prepare_sheet(conn, demo.school, YEAR, CLASS, "TOAN", 1, demo.clock.now())
    assert (state["signed"], state["stale"]) == (False, True)
    assert hocba_xml.wrappers(hocba_xml.parse(again))[0].get("VaiTro") == "SUBJECT_TEACHER"
