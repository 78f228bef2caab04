"""Class gradebooks from the school-management software the school chose (SMAS, vnEdu, EMIS…; Điều
17.2, 19, 21, 29): one class × subject × term sheet per import, from XLSX, CSV or XML.

- `read_gradebook` reads the file and maps its columns by header (docs/IMPORT.md): the student's
  personal identifier or Ministry code, the full name, the regular assessment slots, mid-term,
  end-of-term and the comment. Headers are matched without regard to case or diacritics against the
  presets ("smas": ĐĐGtx1…, ĐĐGgk, ĐĐGck; "vnedu": TX1…, GK, CK; "hocba": the English names); the
  preset that fits the header row is used unless one is named.
- `import_sheet` compares every cell with what the ledger holds: new, unchanged, or different. A dry
  run only reports. A commit appends, in one transaction, the new values as assessment events of the
  assigned subject teacher (marked with the file's SHA-256, sheet and row) and, for every different
  value, a correction request the leadership decides on: an import never overwrites (Điều 17.3). The
  calendar and locks apply as to typed entry. The same file again appends nothing.
- `reconcile` is the IT teacher's report against the source file (Điều 18.2): counts, missing
  assessments, students in the file but not in the class and the reverse, mismatches.

Every refusal names the file, the sheet, the row and the column, and nothing is appended.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base.errors import DomainError, Refused, ValidationError
from ledger.format.envelope import Actor, NewEvent
from ledger.log.append import Ledger, SchoolSession
from ledger.log.projection import read
from ledger.school.assessments import SheetEntry, assessments, sheet_events, subject_comments, value_text
from ledger.school.calendar import Change, check_change
from ledger.school.corrections import assessment_target, corrections, request_events
from ledger.school.imports.sector import column_key
from ledger.school.rules import identity
from ledger.school.rules.roles import Role
from ledger.school.rules.tt22 import Kind
from ledger.school.years import classes, enrolments, holds, students, subjects

MAX_BYTES = 5 * 1024 * 1024  # one class's sheet is a few kilobytes; larger files are refused unread
HEADER_SCAN_ROWS = 20  # exports put a title block above the header row

# Column names, as column_key() writes them, per preset. "regular" is a pattern whose group is the slot.
PRESETS: dict[str, dict[str, Any]] = {
    "smas": {
        "student": ("ma_dinh_danh", "so_dinh_danh", "so_dinh_danh_ca_nhan", "ma_dinh_danh_ca_nhan", "cccd"),
        "ministry_code": ("ma_hoc_sinh", "ma_hs"),
        "full_name": ("ho_va_ten", "ho_ten"),
        "regular": r"ddgtx_?(\d{1,2})",
        "midterm": ("ddggk",),
        "final": ("ddgck",),
        "comment": ("nhan_xet",),
    },
    "vnedu": {
        "student": ("ma_dinh_danh", "so_dinh_danh", "so_dinh_danh_ca_nhan", "cccd"),
        "ministry_code": ("ma_hoc_sinh", "ma_hs"),
        "full_name": ("ho_va_ten", "ho_ten"),
        "regular": r"(?:tx|ddtx)_?(\d{1,2})",
        "midterm": ("gk", "giua_ky", "giua_hoc_ky"),
        "final": ("ck", "cuoi_ky", "cuoi_hoc_ky"),
        "comment": ("nhan_xet",),
    },
    "hocba": {
        "student": ("student",),
        "ministry_code": ("ministry_code",),
        "full_name": ("full_name",),
        "regular": r"regular_(\d{1,2})",
        "midterm": ("midterm",),
        "final": ("final",),
        "comment": ("comment",),
    },
}
IGNORED = {"stt", "tt", "ngay_sinh", "gioi_tinh", "lop", "ghi_chu", "dtb", "dtbm", "tbm", "diem_tb", "average"}
KINDS = ("regular", "midterm", "final", "comment")


@dataclass(frozen=True)
class Cell:
    row: int
    column: str  # the spreadsheet column letter, or the header in an XML file
    kind: str  # regular, midterm, final or comment
    slot: int | None
    raw: str


@dataclass
class Row:
    row: int
    student: str | None
    ministry_code: str | None
    full_name: str
    cells: list[Cell] = field(default_factory=list)


@dataclass
class Gradebook:
    file: str
    sha256: str
    sheet: str
    preset: str
    regular_slots: int
    header_row: int
    id_column: str  # the column of the student's identifier (or Ministry code)
    rows: list[Row]


def _where(file: str, sheet: str, row: int | None = None, column: str | None = None, *, en: bool = False) -> str:
    words = ("sheet", "row", "column") if en else ("trang", "dòng", "cột")
    place = f"{file}, {words[0]} {sheet}" if sheet else file
    if row is not None:
        place += f", {words[1]} {row}"
    if column:
        place += f", {words[2]} {column}"
    return place


def _bad(
    code: str, vi: str, en: str, file: str, sheet: str, row: int | None = None, column: str | None = None
) -> ValidationError:
    return ValidationError(
        code,
        f"{_where(file, sheet, row, column)}: {vi}",
        f"{_where(file, sheet, row, column, en=True)}: {en}",
        field="file",
        file=file,
        sheet=sheet,
        row=row,
        column=column,
    )


# --- reading the file ---------------------------------------------------------------------------


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)[:-2] if value.is_integer() else repr(value)
    return str(value).strip()


def _xlsx_rows(data: bytes, file: str, sheet: str | None) -> tuple[str, list[tuple[int, list[tuple[str, str]]]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:
        raise _bad("gradebook.unreadable", "tệp XLSX không đọc được", "the XLSX file is unreadable", file, "") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise _bad(
                "gradebook.sheet",
                f"không có trang '{sheet}' (có: {', '.join(book.sheetnames)})",
                f"no sheet '{sheet}' (there are: {', '.join(book.sheetnames)})",
                file,
                "",
            )
        page = book[sheet] if sheet is not None else book.worksheets[0]
        rows = []
        for number, cells in enumerate(page.iter_rows(), start=1):
            values = []
            for index, cell in enumerate(cells):
                value = cell.value
                if getattr(cell, "data_type", None) == "f" or (isinstance(value, str) and value.startswith("=")):
                    raise _bad(
                        "gradebook.formula",
                        "ô chứa công thức, không phải giá trị; hãy xuất tệp với giá trị",
                        "the cell holds a formula, not a value; export the file with values",
                        file,
                        page.title,
                        number,
                        _column_letter(index),
                    )
                values.append((_column_letter(index), _text(value)))
            rows.append((number, values))
        return page.title, rows
    finally:
        book.close()


def _csv_rows(data: bytes, file: str) -> list[tuple[int, list[tuple[str, str]]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _bad("gradebook.encoding", "tệp CSV phải mã hóa UTF-8", "a CSV file is UTF-8", file, "") from None
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = []
    for number, cells in enumerate(csv.reader(io.StringIO(text), dialect), start=1):
        values = []
        for index, value in enumerate(cells):
            if value.strip().startswith("="):
                raise _bad(
                    "gradebook.formula",
                    "ô chứa công thức, không phải giá trị",
                    "the cell holds a formula, not a value",
                    file,
                    "",
                    number,
                    _column_letter(index),
                )
            values.append((_column_letter(index), value.strip()))
        rows.append((number, values))
    return rows


def _xml_rows(data: bytes, file: str) -> list[tuple[int, list[tuple[str, str]]]]:
    """<BangDiem><HocSinh><Cot Ten="Họ và tên">…</Cot>…</HocSinh>…</BangDiem>: the header row is made
    of the column names of the first student."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise _bad(
            "gradebook.unreadable", f"tệp XML không đọc được: {exc}", f"the XML is unreadable: {exc}", file, ""
        ) from None
    pupils = [e for e in root if isinstance(e.tag, str) and etree.QName(e).localname == "HocSinh"]
    if etree.QName(root).localname != "BangDiem" or not pupils:
        raise _bad(
            "gradebook.headers",
            "tệp XML phải là <BangDiem> gồm các <HocSinh>",
            "the XML is a <BangDiem> of <HocSinh> elements",
            file,
            "",
        )
    names = [c.get("Ten", "") for c in pupils[0] if isinstance(c.tag, str)]
    rows = [(1, [(name, name) for name in names])]
    for number, pupil in enumerate(pupils, start=2):
        cells = {c.get("Ten", ""): (c.text or "").strip() for c in pupil if isinstance(c.tag, str)}
        rows.append((number, [(name, cells.get(name, "")) for name in names]))
    return rows


def _kind_of(data: bytes) -> str:
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return "xml"
    return "csv"


def _map_header(
    cells: Sequence[tuple[str, str]], preset: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, tuple[str, int | None]], list[str]]:
    """(identity columns by role, value columns -> (kind, slot), unknown headers)."""
    ids: dict[str, str] = {}
    values: dict[str, tuple[str, int | None]] = {}
    unknown = []
    for letter, header in cells:
        key = column_key(header)
        if not key or key in IGNORED:
            continue
        matched = next((role for role in ("student", "ministry_code", "full_name") if key in preset[role]), None)
        slot = re.fullmatch(preset["regular"], key)
        if matched:
            ids[matched] = letter
        elif slot:
            values[letter] = ("regular", int(slot.group(1)))
        elif kind := next((k for k in ("midterm", "final", "comment") if key in preset[k]), None):
            values[letter] = (kind, None)
        else:
            unknown.append(header)
    return ids, values, unknown


def read_gradebook(data: bytes, file: str, *, sheet: str | None = None, preset: str | None = None) -> Gradebook:
    """Read one class × subject × term sheet."""
    if len(data) > MAX_BYTES:
        raise _bad(
            "gradebook.too_large",
            f"tệp lớn hơn giới hạn {MAX_BYTES // (1024 * 1024)} MB",
            f"the file is larger than the {MAX_BYTES // (1024 * 1024)} MB limit",
            file,
            "",
        )
    if preset is not None and preset not in PRESETS:
        raise _bad(
            "gradebook.preset",
            f"không có mẫu '{preset}' (có: {', '.join(PRESETS)})",
            f"no preset '{preset}' (there are: {', '.join(PRESETS)})",
            file,
            "",
        )
    kind = _kind_of(data)
    extension = file.rsplit(".", 1)[-1].lower() if "." in file else ""
    if extension not in ("xlsx", "csv", "xml"):
        raise _bad("gradebook.file_type", "chỉ nhận tệp .xlsx, .csv hoặc .xml (hãy lưu tệp .xls thành .xlsx)",
                   "only .xlsx, .csv or .xml files are accepted (save an .xls file as .xlsx)", file, "")  # fmt: skip
    if extension != kind:
        raise _bad(
            "gradebook.file_type",
            f"nội dung tệp không phải {extension.upper()} như phần mở rộng của nó",
            f"the file's content is not the {extension.upper()} its extension says",
            file,
            "",
        )
    if kind == "xlsx":
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise _bad("gradebook.file_type", "tệp không phải XLSX", "the file is not an XLSX workbook", file, "")
        sheet_name, rows = _xlsx_rows(data, file, sheet)
    else:
        sheet_name, rows = sheet or "", _xml_rows(data, file) if kind == "xml" else _csv_rows(data, file)
    # the header row: the first that names the student and the name, in the preset that fits best
    chosen = None
    for number, cells in rows[:HEADER_SCAN_ROWS]:
        for name in [preset] if preset else list(PRESETS):
            ids, values, unknown = _map_header(cells, PRESETS[name])
            fits = "full_name" in ids and ("student" in ids or "ministry_code" in ids)
            if fits and (chosen is None or len(values) > len(chosen[3])):
                chosen = (number, name, ids, values, unknown)
        if chosen is not None:
            break
    if chosen is None:
        raise _bad(
            "gradebook.headers",
            "không tìm thấy dòng tiêu đề có 'Họ và tên' và 'Mã định danh' hoặc 'Mã học sinh' (docs/IMPORT.md)",
            "no header row naming 'Họ và tên' and 'Mã định danh' or 'Mã học sinh' (docs/IMPORT.md)",
            file,
            sheet_name,
        )
    header_row, name, ids, values, unknown = chosen
    if unknown:
        raise _bad(
            "gradebook.headers",
            f"cột không nhận ra: {', '.join(unknown)}",
            f"unrecognised columns: {', '.join(unknown)}",
            file,
            sheet_name,
            header_row,
        )
    kinds = [kind for kind, _ in values.values()]
    missing = [k for k in ("midterm", "final") if k not in kinds]
    if missing:
        raise _bad(
            "gradebook.headers",
            f"thiếu cột {', '.join(missing)} ({'ĐĐGgk, ĐĐGck' if name == 'smas' else name})",
            f"missing columns: {', '.join(missing)}",
            file,
            sheet_name,
            header_row,
        )
    slots = sorted(slot for kind, slot in values.values() if kind == "regular" and slot is not None)
    if slots != list(range(1, len(slots) + 1)) or len(set(kinds) - {"regular"}) != len(kinds) - len(slots):
        raise _bad(
            "gradebook.headers",
            "các cột ĐĐGtx phải đánh số 1, 2, 3… và không cột nào lặp lại",
            "the regular slot columns are numbered 1, 2, 3… and no column repeats",
            file,
            sheet_name,
            header_row,
        )
    id_column = ids.get("student") or ids["ministry_code"]
    book = Gradebook(file, hashlib.sha256(data).hexdigest(), sheet_name, name, len(slots), header_row, id_column, [])
    for number, cells in rows:
        if number <= header_row:
            continue
        by_letter = dict(cells)
        identifiers = [ids[k] for k in ("student", "ministry_code") if k in ids]
        if not any(by_letter.get(letter) for letter in [*identifiers, *values]):
            continue  # an empty row, or the signature block under the table
        row = Row(
            number,
            by_letter.get(ids.get("student", ""), "") or None,
            by_letter.get(ids.get("ministry_code", ""), "") or None,
            by_letter.get(ids["full_name"], ""),
        )
        if row.student is None and row.ministry_code is None:
            column = ids.get("student") or ids.get("ministry_code")
            raise _bad(
                "gradebook.student",
                "dòng có điểm nhưng không có mã học sinh",
                "the row has values but no student identifier",
                file,
                sheet_name,
                number,
                column,
            )
        for letter, (kind, slot) in values.items():
            raw = by_letter.get(letter, "")
            if raw:
                row.cells.append(Cell(number, letter, kind, slot, raw))
        book.rows.append(row)
    return book


# --- comparing with the ledger ------------------------------------------------------------------


@dataclass
class _Context:
    book: Gradebook
    year: str
    class_id: str
    subject: str
    term: int
    kind: Kind
    regular_count: int
    enrolled: list[str]
    by_id: dict[str, dict[str, Any]]  # student id -> registered record
    by_code: dict[str, str]  # Ministry code -> student id
    recorded: dict[tuple[str, str, int], str]  # (student, kind, slot) -> value
    comments: dict[str, str]


async def _context(
    conn: AsyncConnection, school: str, book: Gradebook, year: str, class_id: str, subject: str, term: int
) -> _Context:
    found = await read(conn, classes, school, year=year, class_id=class_id)
    if not found:
        raise _bad(
            "class.unknown",
            f"lớp {class_id} không có trong năm học {year}",
            f"class {class_id} does not exist in {year}",
            book.file,
            book.sheet,
        )
    grade = found[0]["grade"]
    listed = await read(conn, subjects, school, year=year, code=subject, grade=grade)
    if not listed:
        raise _bad(
            "subject.unknown",
            f"khối {grade} không học môn {subject}",
            f"grade {grade} has no subject {subject}",
            book.file,
            book.sheet,
        )
    registered = await read(conn, students, school)
    keys: dict[str, Any] = {"year": year, "subject": subject, "term": term}
    return _Context(
        book,
        year,
        class_id,
        subject,
        term,
        Kind(listed[0]["kind"]),
        int(listed[0]["regular_count"]),
        [
            r["student_id"]
            for r in await read(conn, enrolments, school, year=year, class_id=class_id)
            if r["until"] is None
        ],
        {r["student_id"]: r for r in registered},
        {r["ministry_code"]: r["student_id"] for r in registered},
        {(r["student_id"], r["kind"], r["slot"]): r["value"] for r in await read(conn, assessments, school, **keys)},
        {r["student_id"]: r["text"] for r in await read(conn, subject_comments, school, **keys)},
    )


def _student_of(ctx: _Context, row: Row) -> str | None:
    if row.student and row.student in ctx.by_id:
        return row.student
    if row.ministry_code and row.ministry_code in ctx.by_code:
        return ctx.by_code[row.ministry_code]
    return None


def _value(ctx: _Context, cell: Cell) -> str:
    """The stored text of a cell's value: "8.5" for "8,5", "Đ"/"CĐ", or the comment."""
    try:
        if cell.kind == "comment":
            return str(identity.text(cell.raw, "value", limit=2000))
        return value_text(ctx.kind, cell.raw, "value")
    except DomainError as exc:
        raise _bad("gradebook.value", exc.vi, exc.en, ctx.book.file, ctx.book.sheet, cell.row, cell.column) from None


def _cell(cell: Cell, student: str, value: str, recorded: str | None, **extra: Any) -> dict[str, Any]:
    """A cell as plans and reports show it: where, whose, which assessment, in the file, in the ledger."""
    return {"row": cell.row, "column": cell.column, "student": student, "kind": cell.kind, "slot": cell.slot,
            "file": value, "ledger": recorded, **extra}  # fmt: skip


def _recorded(ctx: _Context, student: str, cell: Cell) -> str | None:
    if cell.kind == "comment":
        return ctx.comments.get(student)
    return ctx.recorded.get((student, cell.kind, cell.slot or 0))


async def import_sheet(
    ledger: Ledger,
    school: str,
    actor: Actor,
    book: Gradebook,
    *,
    year: str,
    class_id: str,
    subject: str,
    term: Any,
    dry_run: bool,
) -> dict[str, Any]:
    """Compare the sheet with the ledger cell by cell; unless `dry_run`, append the new values and a
    correction request for every different one, all or nothing. Returns the plan."""
    year, class_id, term_no = identity.school_year(year), identity.class_id(class_id), identity.term(term)
    code = subject.strip().upper()
    plan: dict[str, Any] = {}

    async def decide(session: SchoolSession) -> list[NewEvent]:
        ctx = await _context(session.conn, session.school, book, year, class_id, code, term_no)
        where = _where(book.file, book.sheet)
        today = session.now().date()
        assigned = await holds(
            session,
            str(actor.user),
            Role.SUBJECT_TEACHER,
            today,
            year=year,
            class_id=class_id,
            subject=code,
            term=term_no,
        )
        if not assigned:
            raise Refused(
                "gradebook.not_assigned",
                f"{where}: {actor.user} không được phân công dạy môn {code} lớp {class_id} học kì {term_no}.",
                f"{where}: {actor.user} is not assigned to teach {code} in class {class_id}, term {term_no}.",
                field="file",
                rule="Điều 17.2, 18.3",
            )
        if book.regular_slots != ctx.regular_count:
            raise _bad(
                "gradebook.slots",
                f"môn {code} có {ctx.regular_count} lần ĐĐGtx theo số tiết; tệp có {book.regular_slots} cột",
                f"{code} has {ctx.regular_count} regular assessments by its periods; the file has "
                f"{book.regular_slots} columns",
                book.file,
                book.sheet,
                book.header_row,
            )
        cells: list[dict[str, Any]] = []
        entries: list[SheetEntry] = []
        differing: list[tuple[str, Cell, str, str]] = []
        seen: dict[str, int] = {}
        for row in book.rows:
            student = _student_of(ctx, row)
            named = row.student or row.ministry_code
            if student is None:
                raise _bad(
                    "gradebook.unknown_student",
                    f"học sinh {named} ({row.full_name}) không có trong hồ sơ trường",
                    f"student {named} ({row.full_name}) is not in the school's records",
                    book.file,
                    book.sheet,
                    row.row,
                    book.id_column,
                )
            if student not in ctx.enrolled:
                raise _bad(
                    "gradebook.not_enrolled",
                    f"học sinh {named} ({row.full_name}) không học lớp {class_id}",
                    f"student {named} ({row.full_name}) is not in class {class_id}",
                    book.file,
                    book.sheet,
                    row.row,
                    book.id_column,
                )
            if student in seen:
                raise _bad(
                    "gradebook.duplicate",
                    f"học sinh {named} đã có ở dòng {seen[student]}",
                    f"student {named} is already on row {seen[student]}",
                    book.file,
                    book.sheet,
                    row.row,
                    book.id_column,
                )
            seen[student] = row.row
            for cell in row.cells:
                value, current = _value(ctx, cell), _recorded(ctx, student, cell)
                status = "new" if current is None else "unchanged" if current == value else "differs"
                if status == "differs" and cell.kind == "comment":
                    status = "new"  # a comment is replaced, as on the sheet
                cells.append(_cell(cell, student, value, current, status=status))
                source = {"file_sha256": book.sha256, "file": book.file, "sheet": book.sheet, "row": cell.row}
                if status == "new":
                    entries.append(SheetEntry(student, cell.kind, value, cell.slot, source=source))
                elif status == "differs":
                    differing.append((student, cell, str(current), value))
        deadline = None
        try:
            await check_change(
                session,
                Change.ENTRY,
                year=year,
                term=term_no,
                class_id=class_id,
                subject=code,
                students=sorted(seen),
                field="file",
            )
        except Refused as refused:
            if not dry_run and entries:
                raise
            deadline = {"code": refused.code, "vi": refused.vi, "en": refused.en, "rule": refused.rule}
        events: list[NewEvent] = []
        if entries and not dry_run:
            events += await sheet_events(session, actor, year, term_no, class_id, code, entries)
        waiting = {
            (r["target"]["student"], r["target"]["kind"], r["target"]["slot"]): r
            for r in await read(session.conn, corrections, session.school, status="pending")
            if (r["target"].get("year"), r["target"].get("class"), r["target"].get("subject"), r["target"].get("term"))
            == (year, class_id, code, term_no)
        }
        proposals = []
        for student, cell, current, value in differing:
            slot = cell.slot if cell.kind == "regular" else None
            target = assessment_target(year, term_no, class_id, code, student, cell.kind, slot)
            pending = waiting.get((student, cell.kind, slot))
            proposal = {
                "row": cell.row,
                "column": cell.column,
                "student": student,
                "kind": cell.kind,
                "slot": slot,
                "old": current,
                "new": value,
                "request": str(pending["request_id"]) if pending and pending["new_value"] == value else None,
            }
            proposals.append(proposal)
            if dry_run or proposal["request"]:
                continue
            reason = f"Khác với bảng điểm nhập từ {_where(book.file, book.sheet, cell.row, cell.column)}."
            try:
                made = await request_events(session, actor, target, current, value, reason, book.sha256)
            except DomainError as exc:
                raise _bad(exc.code, exc.vi, exc.en, book.file, book.sheet, cell.row, cell.column) from None
            proposal["request"] = made[0].payload["request"]
            events += made
        counts = {status: sum(1 for c in cells if c["status"] == status) for status in ("new", "unchanged", "differs")}
        plan.update(
            {
                "file": book.file,
                "sha256": book.sha256,
                "sheet": book.sheet,
                "preset": book.preset,
                "year": year,
                "class": class_id,
                "subject": code,
                "term": term_no,
                "dry_run": dry_run,
                "counts": counts,
                "cells": cells,
                "proposals": proposals,
                "deadline": deadline,
                "appended": 0 if dry_run else len(events),
            }
        )
        return [] if dry_run else events

    await ledger.decide(school, decide)
    return plan


async def reconcile(
    conn: AsyncConnection, school: str, book: Gradebook, *, year: str, class_id: str, subject: str, term: Any
) -> dict[str, Any]:
    """The IT teacher's reconciliation of the ledger against the source file (Điều 18.2)."""
    year, class_id, term_no = identity.school_year(year), identity.class_id(class_id), identity.term(term)
    code = subject.strip().upper()
    ctx = await _context(conn, school, book, year, class_id, code, term_no)
    in_file: dict[str, Row] = {}
    outside, mismatches = [], []
    file_values = 0
    for row in book.rows:
        student = _student_of(ctx, row)
        if student is None or student not in ctx.enrolled:
            outside.append(
                {
                    "row": row.row,
                    "student": row.student,
                    "ministry_code": row.ministry_code,
                    "full_name": row.full_name,
                    "registered": student is not None,
                }
            )
            continue
        in_file[student] = row
        for cell in row.cells:
            file_values += cell.kind != "comment"
            try:
                value = _value(ctx, cell)
            except ValidationError:
                value = cell.raw
            recorded = _recorded(ctx, student, cell)
            if recorded is not None and recorded != value:
                mismatches.append(_cell(cell, student, value, recorded))
    required = [("regular", k) for k in range(1, ctx.regular_count + 1)] + [("midterm", 0), ("final", 0)]
    missing = [
        {"student": s, "full_name": ctx.by_id[s]["full_name"], "kind": kind, "slot": slot or None}
        for s in ctx.enrolled
        for kind, slot in required
        if (s, kind, slot) not in ctx.recorded
    ]
    names = {s: ctx.by_id[s]["full_name"] for s in ctx.enrolled}
    return {
        "file": book.file,
        "sha256": book.sha256,
        "sheet": book.sheet,
        "year": year,
        "class": class_id,
        "subject": code,
        "term": term_no,
        "counts": {
            "file_rows": len(book.rows),
            "enrolled": len(ctx.enrolled),
            "file_assessments": file_values,
            "ledger_assessments": sum(1 for (s, _, _) in ctx.recorded if s in names),
            "required_assessments": len(ctx.enrolled) * len(required),
        },
        "missing": missing,
        "in_file_not_enrolled": outside,
        "enrolled_not_in_file": [{"student": s, "full_name": names[s]} for s in ctx.enrolled if s not in in_file],
        "mismatches": mismatches,
        "ok": not (missing or outside or mismatches or len(in_file) != len(ctx.enrolled)),
    }
