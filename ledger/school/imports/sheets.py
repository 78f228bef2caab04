"""Reading a class gradebook sheet from the school-management software the school chose (SMAS, vnEdu,
EMIS…; Điều 17.2, 19, 21, 29): XLSX, CSV or XML, its columns mapped by header (docs/IMPORT.md): the
student's personal identifier or Ministry code, the full name, the regular assessment slots,
mid-term, end-of-term and the comment. Headers are matched without regard to case or diacritics
against the presets ("smas": ĐĐGtx1…, ĐĐGgk, ĐĐGck; "vnedu": TX1…, GK, CK; "hocba": the English
names); the preset that fits the header row is used unless one is named. Every refusal names the
file, the sheet, the row and the column."""

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

from ledger.base.errors import ValidationError
from ledger.school.imports.sector import column_key

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


def sheet_place(file: str, sheet: str, row: int | None = None, column: str | None = None, *, en: bool = False) -> str:
    words = ("sheet", "row", "column") if en else ("trang", "dòng", "cột")
    place = f"{file}, {words[0]} {sheet}" if sheet else file
    if row is not None:
        place += f", {words[1]} {row}"
    if column:
        place += f", {words[2]} {column}"
    return place


def sheet_error(
    code: str, vi: str, en: str, file: str, sheet: str, row: int | None = None, column: str | None = None
) -> ValidationError:
    return ValidationError(
        code,
        f"{sheet_place(file, sheet, row, column)}: {vi}",
        f"{sheet_place(file, sheet, row, column, en=True)}: {en}",
        field="file",
        file=file,
        sheet=sheet,
        row=row,
        column=column,
    )


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
        raise sheet_error(
            "gradebook.unreadable", "tệp XLSX không đọc được", "the XLSX file is unreadable", file, ""
        ) from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise sheet_error(
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
                    raise sheet_error(
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
        raise sheet_error("gradebook.encoding", "tệp CSV phải mã hóa UTF-8", "a CSV file is UTF-8", file, "") from None
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = []
    for number, cells in enumerate(csv.reader(io.StringIO(text), dialect), start=1):
        values = []
        for index, value in enumerate(cells):
            if value.strip().startswith("="):
                raise sheet_error(
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
        raise sheet_error(
            "gradebook.unreadable", f"tệp XML không đọc được: {exc}", f"the XML is unreadable: {exc}", file, ""
        ) from None
    pupils = [e for e in root if isinstance(e.tag, str) and etree.QName(e).localname == "HocSinh"]
    if etree.QName(root).localname != "BangDiem" or not pupils:
        raise sheet_error(
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
    kind = _checked_kind(data, file, preset)
    if kind == "xlsx":
        sheet_name, rows = _xlsx_rows(data, file, sheet)
    else:
        sheet_name, rows = sheet or "", _xml_rows(data, file) if kind == "xml" else _csv_rows(data, file)
    header_row, name, ids, values = _header(rows, preset, file, sheet_name)
    slots = sum(1 for kind, _ in values.values() if kind == "regular")
    id_column = ids.get("student") or ids["ministry_code"]
    book = Gradebook(file, hashlib.sha256(data).hexdigest(), sheet_name, name, slots, header_row, id_column, [])
    for number, cells in rows:
        if number > header_row:
            row = _data_row(number, dict(cells), ids, values, file, sheet_name)
            if row is not None:
                book.rows.append(row)
    return book


def _checked_kind(data: bytes, file: str, preset: str | None) -> str:
    """The file's kind ("xlsx", "csv" or "xml"), refused unless its size, its extension, its content
    and the preset asked for are all acceptable."""
    if len(data) > MAX_BYTES:
        raise sheet_error(
            "gradebook.too_large",
            f"tệp lớn hơn giới hạn {MAX_BYTES // (1024 * 1024)} MB",
            f"the file is larger than the {MAX_BYTES // (1024 * 1024)} MB limit",
            file,
            "",
        )
    if preset is not None and preset not in PRESETS:
        raise sheet_error(
            "gradebook.preset",
            f"không có mẫu '{preset}' (có: {', '.join(PRESETS)})",
            f"no preset '{preset}' (there are: {', '.join(PRESETS)})",
            file,
            "",
        )
    kind = _kind_of(data)
    extension = file.rsplit(".", 1)[-1].lower() if "." in file else ""
    if extension not in ("xlsx", "csv", "xml"):
        raise sheet_error(
            "gradebook.file_type",
            "chỉ nhận tệp .xlsx, .csv hoặc .xml (hãy lưu tệp .xls thành .xlsx)",
            "only .xlsx, .csv or .xml files are accepted (save an .xls file as .xlsx)",
            file,
            "",
        )
    if extension != kind:
        raise sheet_error(
            "gradebook.file_type",
            f"nội dung tệp không phải {extension.upper()} như phần mở rộng của nó",
            f"the file's content is not the {extension.upper()} its extension says",
            file,
            "",
        )
    if kind == "xlsx" and not zipfile.is_zipfile(io.BytesIO(data)):
        raise sheet_error("gradebook.file_type", "tệp không phải XLSX", "the file is not an XLSX workbook", file, "")
    return kind


Columns = dict[str, tuple[str, int | None]]


def _header(
    rows: list[tuple[int, list[tuple[str, str]]]], preset: str | None, file: str, sheet_name: str
) -> tuple[int, str, dict[str, str], Columns]:
    """The header row: the first that names the student and the name, in the preset that fits best
    (its number, the preset, the identifying columns and the value columns), checked."""
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
        raise sheet_error(
            "gradebook.headers",
            "không tìm thấy dòng tiêu đề có 'Họ và tên' và 'Mã định danh' hoặc 'Mã học sinh' (docs/IMPORT.md)",
            "no header row naming 'Họ và tên' and 'Mã định danh' or 'Mã học sinh' (docs/IMPORT.md)",
            file,
            sheet_name,
        )
    header_row, name, ids, values, unknown = chosen
    if unknown:
        raise sheet_error(
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
        raise sheet_error(
            "gradebook.headers",
            f"thiếu cột {', '.join(missing)} ({'ĐĐGgk, ĐĐGck' if name == 'smas' else name})",
            f"missing columns: {', '.join(missing)}",
            file,
            sheet_name,
            header_row,
        )
    slots = sorted(slot for kind, slot in values.values() if kind == "regular" and slot is not None)
    if slots != list(range(1, len(slots) + 1)) or len(set(kinds) - {"regular"}) != len(kinds) - len(slots):
        raise sheet_error(
            "gradebook.headers",
            "các cột ĐĐGtx phải đánh số 1, 2, 3… và không cột nào lặp lại",
            "the regular slot columns are numbered 1, 2, 3… and no column repeats",
            file,
            sheet_name,
            header_row,
        )
    return header_row, name, ids, values


def _data_row(
    number: int, by_letter: dict[str, str], ids: dict[str, str], values: Columns, file: str, sheet_name: str
) -> Row | None:
    """A row of values under the header; None for an empty row or the signature block under the table."""
    identifiers = [ids[k] for k in ("student", "ministry_code") if k in ids]
    if not any(by_letter.get(letter) for letter in [*identifiers, *values]):
        return None
    row = Row(
        number,
        by_letter.get(ids.get("student", ""), "") or None,
        by_letter.get(ids.get("ministry_code", ""), "") or None,
        by_letter.get(ids["full_name"], ""),
    )
    if row.student is None and row.ministry_code is None:
        column = ids.get("student") or ids.get("ministry_code")
        raise sheet_error(
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
    return row
