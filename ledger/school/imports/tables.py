"""A gradebook file as a grid of text cells, whatever it came as: XLSX (openpyxl, read-only), XLS
(xlrd), CSV or tab-separated text in whatever encoding the program wrote (detected by
charset-normalizer: UTF-8 with or without BOM, UTF-16, Windows-1258…), or the XML of `<BangDiem>`.
Text is NFC; a number is written as the program meant it (8.0 → "8"), and a cell that holds a
formula says so, so that the reader refuses it only where it matters.

Only the cells a file really holds are read, streaming, whatever used range (`<dimension>`) it
declares; past MAX_BYTES, MAX_ROWS rows or MAX_CELLS cells the file is refused (413, Điều 20)."""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from lxml import etree

from ledger.base.errors import TooLarge, ValidationError

MAX_BYTES = 5 * 1024 * 1024  # one class's sheet is a few kilobytes; larger files are refused unread
MAX_ROWS = 5_000  # rows holding anything; a class has fifty students, a school a few thousand
MAX_CELLS = 200_000  # cells read, blank ones between real cells included
EXTENSIONS = {"xlsx": "xlsx", "xls": "xls", "csv": "text", "tsv": "text", "txt": "text", "xml": "xml"}
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(frozen=True)
class Cell:
    letter: str  # the spreadsheet column letter, or the header in an XML file
    text: str
    formula: bool = False
    number: bool = False  # stored as a number, not as text


@dataclass(frozen=True)
class Grid:
    kind: str  # xlsx, xls, text or xml
    sheet: str
    rows: list[tuple[int, list[Cell]]]
    encoding: str | None = None


Refuse = Callable[[str, str, str], ValidationError]  # (code, vi, en) -> the error naming the file


def too_large(refuse: Refuse, code: str, vi: str, en: str) -> TooLarge:
    """The refusal `refuse` would make (naming the file), as a 413."""
    error = refuse(code, vi, en)
    return TooLarge(error.code, error.vi, error.en, field=error.field, rule="Điều 20", **error.details)


class _Budget:
    """Rows and cells read so far, refused past MAX_ROWS and MAX_CELLS. Blank rows past MAX_ROWS
    (formatting some programs leave down the sheet) are passed over, not read."""

    def __init__(self, refuse: Refuse) -> None:
        self.refuse = refuse
        self.cells = 0

    def take(self, number: int, values: list[Any] | tuple[Any, ...]) -> bool:
        """Whether to read row `number` of these values; refused when it is beyond the limits."""
        if number > MAX_ROWS:
            if all(v is None or v == "" for v in values):
                return False
            raise too_large(
                self.refuse,
                "gradebook.too_many_rows",
                f"tệp có hơn {MAX_ROWS} dòng",
                f"the file has more than {MAX_ROWS} rows",
            )
        self.cells += len(values)
        if self.cells > MAX_CELLS:
            raise too_large(
                self.refuse,
                "gradebook.too_many_cells",
                f"tệp có hơn {MAX_CELLS} ô",
                f"the file has more than {MAX_CELLS} cells",
            )
        return True


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def cell_text(value: Any) -> str:
    """A cell's value as text: NFC, trimmed; a whole float without its '.0'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime | date):
        return value.strftime("%d/%m/%Y")
    return unicodedata.normalize("NFC", str(value)).strip()


def file_kind(data: bytes, file: str, refuse: Refuse) -> str:
    """The file's kind, refused unless its size, its extension and its content agree."""
    if len(data) > MAX_BYTES:
        limit = MAX_BYTES // (1024 * 1024)
        raise too_large(
            refuse, "gradebook.too_large", f"tệp lớn hơn giới hạn {limit} MB", f"the file is larger than {limit} MB"
        )
    extension = file.rsplit(".", 1)[-1].lower() if "." in file else ""
    if extension not in EXTENSIONS:
        raise refuse(
            "gradebook.file_type",
            "chỉ nhận tệp .xlsx, .xls, .csv, .tsv, .txt hoặc .xml",
            "only .xlsx, .xls, .csv, .tsv, .txt or .xml files are accepted",
        )
    if data.startswith(b"PK\x03\x04") and zipfile.is_zipfile(io.BytesIO(data)):
        content = "xlsx"
    elif data.startswith(_OLE):
        content = "xls"
    elif data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        content = "xml"
    else:
        content = "text"
    if content != EXTENSIONS[extension]:
        hint_vi, hint_en = (
            ("; hãy mở tệp bằng Excel và lưu thành .xlsx", "; open it in Excel and save it as .xlsx")
            if extension == "xls"
            else ("", "")
        )  # some programs write an HTML page or XML under the .xls name
        raise refuse(
            "gradebook.file_type",
            f"nội dung tệp không phải {extension.upper()} như phần mở rộng của nó{hint_vi}",
            f"the file's content is not the {extension.upper()} its extension says{hint_en}",
        )
    return content


def read_grid(data: bytes, file: str, sheet: str | None, refuse: Refuse) -> Grid:
    kind = file_kind(data, file, refuse)
    if kind == "xlsx":
        return _xlsx(data, sheet, refuse)
    if kind == "xls":
        return _xls(data, sheet, refuse)
    if kind == "xml":
        return Grid("xml", sheet or "", _xml(data, refuse))
    return _text(data, sheet, refuse)


def _no_sheet(sheet: str, names: list[str], refuse: Refuse) -> ValidationError:
    return refuse(
        "gradebook.sheet",
        f"không có trang '{sheet}' (có: {', '.join(names)})",
        f"no sheet '{sheet}' (there are: {', '.join(names)})",
    )


def _xlsx(data: bytes, sheet: str | None, refuse: Refuse) -> Grid:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:
        raise refuse("gradebook.unreadable", "tệp XLSX không đọc được", "the XLSX file is unreadable") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise _no_sheet(sheet, book.sheetnames, refuse)
        page = book[sheet] if sheet is not None else book.worksheets[0]
        page.reset_dimensions()  # the declared used range may be wrong, or hostile: read the real cells only
        rows = []
        budget = _Budget(refuse)
        for number, cells in enumerate(page.iter_rows(), start=1):
            if not budget.take(number, [getattr(cell, "value", None) for cell in cells]):
                continue
            row = []
            for index, cell in enumerate(cells):
                value = getattr(cell, "value", None)
                formula = getattr(cell, "data_type", None) == "f" or (isinstance(value, str) and value.startswith("="))
                row.append(Cell(column_letter(index), cell_text(value), formula, isinstance(value, int | float)))
            rows.append((number, row))
        return Grid("xlsx", page.title, rows)
    finally:
        book.close()


def _xls(data: bytes, sheet: str | None, refuse: Refuse) -> Grid:
    """An Excel 97–2003 workbook. xlrd reads the values a formula last computed, not the formula."""
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
    except Exception:
        raise refuse("gradebook.unreadable", "tệp XLS không đọc được", "the XLS file is unreadable") from None
    try:
        names = book.sheet_names()
        if sheet is not None and sheet not in names:
            raise _no_sheet(sheet, names, refuse)
        page = book.sheet_by_name(sheet) if sheet is not None else book.sheet_by_index(0)
        rows = []
        budget = _Budget(refuse)
        for r in range(page.nrows):
            if not budget.take(r + 1, page.row_values(r)):
                continue
            row = []
            for c in range(page.ncols):
                cell = page.cell(r, c)
                number = cell.ctype == xlrd.XL_CELL_NUMBER
                row.append(Cell(column_letter(c), cell_text(cell.value), number=number))
            rows.append((r + 1, row))
        return Grid("xls", page.name, rows)
    finally:
        book.release_resources()


def _text(data: bytes, sheet: str | None, refuse: Refuse) -> Grid:
    """CSV or tab-separated text: the encoding detected, the separator sniffed (comma, semicolon, tab)."""
    from charset_normalizer import from_bytes

    best = from_bytes(data).best() if data else None
    if best is None:
        raise refuse(
            "gradebook.encoding",
            "không nhận ra bảng mã của tệp (hãy lưu UTF-8)",
            "the file's encoding is not recognised (save it as UTF-8)",
        )
    text = unicodedata.normalize("NFC", str(best)).lstrip("\ufeff")
    rows = []
    budget = _Budget(refuse)
    for number, values in enumerate(csv.reader(io.StringIO(text), delimiter=_separator(text[:8192])), start=1):
        if not budget.take(number, [v.strip() for v in values]):
            continue
        row = [Cell(column_letter(i), v.strip(), v.strip().startswith("=")) for i, v in enumerate(values)]
        rows.append((number, row))
    return Grid("text", sheet or "", rows, best.encoding)


def _separator(sample: str) -> str:
    """Comma, semicolon or tab: the one a line of the sample holds most of (the header row has one
    between every two columns; a title line has none, a decimal comma a few)."""
    lines = sample.splitlines()[:-1] or sample.splitlines()
    return max("\t;,", key=lambda s: max((line.count(s) for line in lines), default=0))


def _xml(data: bytes, refuse: Refuse) -> list[tuple[int, list[Cell]]]:
    """<BangDiem><HocSinh><Cot Ten="Họ và tên">…</Cot>…</HocSinh>…</BangDiem>: the header row is made
    of the column names of the first student."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise refuse(
            "gradebook.unreadable", f"tệp XML không đọc được: {exc}", f"the XML is unreadable: {exc}"
        ) from None
    pupils = [e for e in root if isinstance(e.tag, str) and etree.QName(e).localname == "HocSinh"]
    if etree.QName(root).localname != "BangDiem" or not pupils:
        raise refuse(
            "gradebook.headers", "tệp XML phải là <BangDiem> gồm các <HocSinh>", "the XML is a <BangDiem> of <HocSinh>"
        )
    names = [c.get("Ten", "") for c in pupils[0] if isinstance(c.tag, str)]
    rows = [(1, [Cell(name, cell_text(name)) for name in names])]
    budget = _Budget(refuse)
    budget.take(1, names)
    for number, pupil in enumerate(pupils, start=2):
        budget.take(number, names)
        cells = {c.get("Ten", ""): cell_text(c.text) for c in pupil if isinstance(c.tag, str)}
        texts = [cells.get(name, "") for name in names]
        rows.append((number, [Cell(name, text, text.startswith("=")) for name, text in zip(names, texts, strict=True)]))
    return rows
