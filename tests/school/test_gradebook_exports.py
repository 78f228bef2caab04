"""Gradebook files as the school-management programs really export them (Điều 17.2, 18.2): a title
block that states the subject, class, term and year; two header rows with group headers merged over
their columns; a computed average, as a value or a formula; a row of column numbers; a footer with the
date and the teacher's signature; identifiers stored as numbers; names in NFD; CSV in Windows-1258 or
UTF-16; an XLS workbook. Each dry run finds an exact number of values; the commit appends them, the
same file again appends nothing, and the reconciliation agrees. A file whose title names another
sheet is refused before anything else, with nothing appended."""

from __future__ import annotations

import io
import unicodedata
from typing import Any

import pytest
import xlwt
from openpyxl import Workbook
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.app.demo import DemoSchool, build_demo_school
from ledger.base.errors import DomainError
from ledger.log.projection import read
from ledger.school.imports.gradebook import import_sheet, reconcile
from ledger.school.imports.sheets import read_gradebook
from ledger.school.years.tables import students, subjects
from tests.support import helpers

YEAR = "2025-2026"
CLASS = "6A1"
TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


@pytest.fixture
async def demo(app_engine: AsyncEngine, school: str) -> DemoSchool:
    """Staff, classes and students, nothing entered yet; the clock inside term I's entry window."""
    return await build_demo_school(app_engine, school, students_per_class=4, terms=())


async def regular_count(demo: DemoSchool) -> int:
    async with demo.ledger.engine.connect() as conn:
        [row] = await read(conn, subjects, demo.school, year=YEAR, code="TOAN", grade=6)
    return int(row["regular_count"])


async def ministry_codes(demo: DemoSchool) -> dict[str, str]:
    async with demo.ledger.engine.connect() as conn:
        return {r["student_id"]: r["ministry_code"] for r in await read(conn, students, demo.school)}


def scores(n: int, slots: int) -> list[Any]:
    """As a teacher's program stores them: numbers, and some numbers typed as text with a decimal comma."""
    return [7.5 if k % 3 == 0 else f"{5 + (n + k) % 5},5" if k % 3 == 1 else 5 + (n + k) % 5 for k in range(slots + 2)]


def saved(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def smas(demo: DemoSchool, codes: dict[str, str], slots: int, *, subject: str = "TOÁN", entered: Any = None) -> bytes:
    """SMAS's "Sổ điểm môn": a five-row title block, headers over rows 6–7 with "Điểm đánh giá thường
    xuyên" merged over ĐĐGtx1…, STT as a formula, the Ministry code stored as a number, ĐTBmhk as a
    formula, then a blank row and the footer."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Sổ điểm"
    for line in (
        "SỞ GIÁO DỤC VÀ ĐÀO TẠO NINH BÌNH",
        "TRƯỜNG THCS KHÁNH PHÚ",
        f"SỔ ĐIỂM MÔN {subject}",
        "Lớp: 6A1 - Học kỳ I - Năm học 2025-2026",
        "",
    ):
        sheet.append([line])
    last = 4 + slots  # the last ĐĐGtx column, counting from 1 (A)
    letters = [chr(64 + k) for k in range(1, last + 5)]
    top = ["STT", "Mã học sinh", "Họ và tên", "Ngày sinh", "Điểm đánh giá thường xuyên", *[None] * (slots - 1)]
    sheet.append([*top, "ĐĐGgk", "ĐĐGck", "ĐTBmhk", "Nhận xét"])
    sheet.append([None, None, None, None, *[f"ĐĐGtx{k}" for k in range(1, slots + 1)]])
    for column in "ABCD":
        sheet.merge_cells(f"{column}6:{column}7")
    sheet.merge_cells(f"E6:{letters[last - 1]}6")
    for column in letters[last : last + 4]:
        sheet.merge_cells(f"{column}6:{column}7")
    for n, student in enumerate(demo.rosters[CLASS]):
        row = 8 + n
        values = scores(n, slots)
        if entered is not None and n == 0:
            values[0] = entered
        average = f"=ROUND((SUM(E{row}:{letters[last - 1]}{row})+2*{letters[last]}{row}+3*{letters[last + 1]}{row})/{slots + 5},1)"
        comment = "Chăm chỉ, tiến bộ" if n == 0 else None
        sheet.append(["=ROW()-7", int(codes[student]), demo.names[student], "01/01/2014", *values, average, comment])
    sheet.append([])
    sheet.append([None, None, None, None, "Khánh Phú, ngày 30 tháng 12 năm 2025"])
    sheet.append([None, None, "Giáo viên bộ môn"])
    sheet.append([None, None, "(Ký và ghi rõ họ tên)"])
    sheet.append([None, None, "Phạm Thị Thu"])
    return saved(book)


def vnedu_rows(demo: DemoSchool, slots: int) -> list[list[Any]]:
    """vnEdu's "Bảng điểm": the title, "Điểm thường xuyên" over TX1…, "Điểm định kỳ" over GK and CK,
    TBM and Xếp loại as values, a row of column numbers, personal identifiers as numbers, names in NFD."""
    rows: list[list[Any]] = [
        ["TRƯỜNG THCS KHÁNH PHÚ"],
        ["BẢNG ĐIỂM MÔN Toán - LỚP 6A1"],
        ["HỌC KỲ 1 - NĂM HỌC 2025 - 2026"],
        [],
        [
            "STT",
            "Mã định danh",
            "Họ và tên",
            "Điểm thường xuyên",
            *[""] * (slots - 1),
            "Điểm định kỳ",
            "",
            "TBM",
            "Xếp loại",
        ],
        ["", "", "", *[f"TX{k}" for k in range(1, slots + 1)], "GK", "CK", "", ""],
        [f"({k})" for k in range(1, slots + 8)],
    ]
    for n, student in enumerate(demo.rosters[CLASS]):
        name = unicodedata.normalize("NFD", demo.names[student])
        rows.append([n + 1, int(student), name, *scores(n, slots), "7,8", "Khá"])
    rows += [[], ["", "", "Giáo viên bộ môn"], ["", "", "Phạm Thị Thu"]]
    return rows


def vnedu_xlsx(demo: DemoSchool, slots: int) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Toan_6A1_HK1"
    for row in vnedu_rows(demo, slots):
        sheet.append(row)
    sheet.merge_cells(start_row=5, start_column=4, end_row=5, end_column=3 + slots)
    sheet.merge_cells(start_row=5, start_column=4 + slots, end_row=5, end_column=5 + slots)
    return saved(book)


def cp1258(text: str) -> bytes:
    """Windows-1258 as Vietnamese Windows writes it: a base letter, then the tone as a combining mark."""
    out = []
    for char in unicodedata.normalize("NFC", text):
        try:
            char.encode("cp1258")
            out.append(char)
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", char)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONES))
            out.append(base + "".join(c for c in parts if c in TONES))
    return "".join(out).encode("cp1258")


def vnedu_text(demo: DemoSchool, slots: int, separator: str) -> str:
    lines = []
    for row in vnedu_rows(demo, slots):
        lines.append(separator.join(str(v) if v is not None else "" for v in row))
    return "\r\n".join(lines) + "\r\n"


def emis_xls(demo: DemoSchool, codes: dict[str, str], slots: int) -> bytes:
    """The ministry database's layout in an Excel 97–2003 workbook: one header row, ĐTBmhk as a value."""
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("6A1")
    sheet.write(0, 0, "Môn học: Toán")
    sheet.write(1, 0, "Học kỳ: I")
    header = [
        "STT",
        "Mã học sinh",
        "Họ và tên",
        *[f"ĐĐGtx{k}" for k in range(1, slots + 1)],
        "ĐĐGgk",
        "ĐĐGck",
        "ĐTBmhk",
    ]
    for column, text in enumerate(header):
        sheet.write(3, column, text)
    for n, student in enumerate(demo.rosters[CLASS]):
        row = [n + 1, float(codes[student]), demo.names[student], *scores(n, slots), 7.8]
        for column, value in enumerate(row):
            sheet.write(4 + n, column, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def run(demo: DemoSchool, data: bytes, name: str, *, dry_run: bool, subject: str = "Toán", **kw: Any) -> Any:
    book = read_gradebook(data, name)
    return await import_sheet(
        demo.ledger,
        demo.school,
        demo.teacher("TOAN"),
        book,
        year=YEAR,
        class_id=CLASS,
        subject=subject,
        term=kw.get("term", "HK I"),
        dry_run=dry_run,
    )


EXPORTS = {
    "smas.xlsx": lambda d, c, n: smas(d, c, n),
    "vnedu.xlsx": lambda d, c, n: vnedu_xlsx(d, n),
    "vnedu-1258.csv": lambda d, c, n: cp1258(vnedu_text(d, n, ";")),
    "vnedu-utf16.txt": lambda d, c, n: vnedu_text(d, n, "\t").encode("utf-16"),
    "emis.xls": lambda d, c, n: emis_xls(d, c, n),
}


@pytest.mark.parametrize("name", sorted(EXPORTS))
async def test_an_export_as_the_program_writes_it_is_read_committed_once_and_reconciled_dieu_17_2_18_2(
    demo: DemoSchool, name: str
) -> None:
    slots = await regular_count(demo)
    data = EXPORTS[name](demo, await ministry_codes(demo), slots)
    book = read_gradebook(data, name)
    assert [row.row for row in book.rows] == [r for r in range(book.rows[0].row, book.rows[0].row + 4)]
    before = await helpers.head(demo.ledger, demo.school)
    plan = await run(demo, data, name, dry_run=True)
    comments = 1 if name.startswith("smas") else 0
    values = 4 * (slots + 2) + comments  # four students, every ĐĐGtx, ĐĐGgk and ĐĐGck, and SMAS's one comment
    assert plan["counts"] == {"new": values, "unchanged": 0, "differs": 0}, plan["counts"]
    assert len(plan["cells"]) == values and plan["appended"] == 0
    assert await helpers.head(demo.ledger, demo.school) == before
    assert plan["subject"] == "TOAN" and plan["term"] == 1
    assert {"subject", "class", "term"} <= set(plan["stated"])
    if name == "emis.xls":
        assert plan["unstated"] == ["year"]  # the dry run says what the file does not state
    assert plan["cells"][1]["file"] in ("5.5", "6.5", "7.5", "8.5", "9.5")  # "6,5" typed as text
    assert any("ĐTBmhk" in c or "TBM" in c for c in plan["left_aside"])

    done = await run(demo, data, name, dry_run=False)
    assert done["appended"] == values and done["proposals"] == []
    head = await helpers.head(demo.ledger, demo.school)
    again = await run(demo, data, name, dry_run=False)
    assert again["appended"] == 0 and again["counts"]["unchanged"] == values
    assert await helpers.head(demo.ledger, demo.school) == head
    async with demo.ledger.engine.connect() as conn:
        report = await reconcile(
            conn, demo.school, book, year=YEAR, class_id="lớp 6a1", subject="toán", term="Học kì 1"
        )
    assert report["counts"]["file_rows"] == 4 and report["counts"]["file_assessments"] == 4 * (slots + 2)
    assert report["mismatches"] == [] and report["in_file_not_enrolled"] == []


async def test_a_title_naming_another_subject_is_refused_before_anything_else_dieu_17_2(demo: DemoSchool) -> None:
    slots = await regular_count(demo)
    data = smas(demo, await ministry_codes(demo), slots, subject="NGỮ VĂN")
    before = await helpers.head(demo.ledger, demo.school)
    for dry_run in (True, False):
        with pytest.raises(DomainError) as caught:
            await run(demo, data, "smas.xlsx", dry_run=dry_run)
        assert caught.value.code == "gradebook.not_this_sheet"
        assert "tệp ghi môn Ngữ văn (NGU_VAN)" in caught.value.vi and "lệnh ghi môn Toán (TOAN)" in caught.value.vi
        assert "dòng 3" in caught.value.vi
    # the term is checked too, and the title wins over nothing: a term II command is refused
    with pytest.raises(DomainError) as caught:
        await run(demo, smas(demo, await ministry_codes(demo), slots), "smas.xlsx", dry_run=True, term=2)
    assert "học kì 1" in caught.value.vi and "lệnh ghi học kì 2" in caught.value.vi
    assert await helpers.head(demo.ledger, demo.school) == before


async def test_a_formula_is_refused_only_in_a_column_the_teacher_enters(demo: DemoSchool) -> None:
    slots = await regular_count(demo)
    data = smas(demo, await ministry_codes(demo), slots, entered="=7+1")
    with pytest.raises(DomainError) as caught:
        read_gradebook(data, "smas.xlsx")
    assert caught.value.code == "gradebook.formula"
    assert caught.value.details["row"] == 8 and caught.value.details["column"] == "E"
