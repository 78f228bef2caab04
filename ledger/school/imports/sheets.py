"""Reading a class gradebook sheet as the school-management software exports it (SMAS, vnEdu, the
ministry's EMIS…; Điều 17.2, 19, 21, 29), from the layouts in ledger/school/data/gradebook-layouts.json:

- a title block of any number of rows above the header, from which (or from the sheet's name) the
  subject, class, term and year the file states are read;
- headers over one row or two, a group header merged over its columns ("Điểm đánh giá thường xuyên"
  over ĐĐGtx1…, "Điểm định kỳ" over GK, CK, or over bare numbers 1, 2, 3…), and a row of column
  numbers under them;
- computed columns (ĐTBmhk, TBM, xếp loại) and descriptive ones (STT, ngày sinh) left aside, values
  or formulas alike; a formula anywhere the teacher enters data is refused;
- blank rows and the footer (dates, "Giáo viên bộ môn", signatures) left aside;
- identifiers stored as numbers given back their leading zeros, text in NFC.

Headers are matched without regard to case or diacritics; the layout that fits the header best is
used unless one is named. Every refusal names the file, the sheet, the row and the column."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from ledger.base.errors import ValidationError
from ledger.school.imports import tables
from ledger.school.imports.layouts import IDENTITY, Layout, layouts
from ledger.school.rules.names import name_key, term_number

MAX_BYTES = tables.MAX_BYTES
HEADER_SCAN_ROWS = 20  # exports put a title block above the header row
_SCORE_LIKE = re.compile(r"^\d{1,2}(?:[.,]\d+)?$")
_NUMBERING = re.compile(r"^\(?(\d{1,2})\)?$")


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


@dataclass(frozen=True)
class Stated:
    """What the file itself says it is: a subject, class, term or year, with the text it was read
    from and where (a row of the title block, or the sheet's name)."""

    value: str
    text: str
    where: str


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
    stated: dict[str, Stated] = field(default_factory=dict)
    header_rows: int = 1
    left_aside: list[str] = field(default_factory=list)  # computed and descriptive columns, by header
    encoding: str | None = None


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


Rows = list[tuple[int, list[tables.Cell]]]
Columns = dict[str, tuple[str, int | None]]


@dataclass
class _Header:
    index: int  # of the header's first row in the grid
    rows: int  # 1 or 2
    layout: Layout
    ids: dict[str, str]  # identity role -> column letter
    values: Columns  # column letter -> (kind, slot)
    unknown: list[str]
    left_aside: list[str]


def read_gradebook(data: bytes, file: str, *, sheet: str | None = None, preset: str | None = None) -> Gradebook:
    """Read one class × subject × term sheet."""

    def refuse(code: str, vi: str, en: str) -> ValidationError:
        return sheet_error(code, vi, en, file, "")

    if preset is not None and preset not in layouts().presets:
        names = ", ".join(layouts().presets)
        raise refuse("gradebook.preset", f"không có mẫu '{preset}' (có: {names})", f"no preset '{preset}' ({names})")
    grid = tables.read_grid(data, file, sheet, refuse)
    header = _header(grid.rows, preset, file, grid.sheet)
    header_row = grid.rows[header.index][0]
    slots = sum(1 for kind, _ in header.values.values() if kind == "regular")
    id_column = header.ids.get("student") or header.ids["ministry_code"]
    book = Gradebook(
        file,
        hashlib.sha256(data).hexdigest(),
        grid.sheet,
        header.layout.name,
        slots,
        header_row,
        id_column,
        [],
        _stated(grid.rows[: header.index], grid.sheet),
        header.rows,
        header.left_aside,
        grid.encoding,
    )
    body = grid.rows[header.index + header.rows :]
    if body and _is_numbering(body[0][1]):
        body = body[1:]
    for number, cells in body:
        row = _data_row(number, cells, header, file, grid.sheet)
        if row == "footer":
            break
        if isinstance(row, Row):
            book.rows.append(row)
    return book


def _labels(rows: Rows, index: int, two: bool) -> list[tuple[str, str, str]]:
    """(letter, group, text) of each column of a header at rows[index], over two rows if `two`: a
    group header's text is carried over the empty cells to its right that have a text below."""
    top = {c.letter: c.text for c in rows[index][1]}
    below = {c.letter: c.text for c in rows[index + 1][1]} if two else {}
    letters = [c.letter for c in max(rows[index][1], rows[index + 1][1] if two else [], key=len)]
    labels, group = [], ""
    for letter in letters:
        upper, lower = top.get(letter, ""), below.get(letter, "")
        if upper:
            group = upper if lower else ""
        if lower:
            labels.append((letter, group, lower))
        elif upper:
            labels.append((letter, "", upper))
    return labels


def _mapped(labels: list[tuple[str, str, str]], layout: Layout) -> _Header:
    header = _Header(0, 1, layout, {}, {}, [], [])
    for letter, group, text in labels:
        found = layout.column(text, group)
        shown = f"{group} / {text}" if group else text
        if found is None:
            if not group or not layout.is_group(group) or name_key(text):
                header.unknown.append(shown)
        elif found[0] in IDENTITY:
            header.ids.setdefault(found[0], letter)
        elif found[0] in ("computed", "ignored"):
            header.left_aside.append(shown)
        else:
            header.values[letter] = found
    return header


def _fits(header: _Header) -> bool:
    return "full_name" in header.ids and ("student" in header.ids or "ministry_code" in header.ids)


def _second_row(rows: Rows, index: int, header: _Header) -> bool:
    """Whether the row under a header row is a second header row: nothing under the identity
    headers (merged down), something elsewhere, and no formula."""
    if index + 1 >= len(rows):
        return False
    below = {c.letter: c for c in rows[index + 1][1] if c.text}
    return bool(below) and not any(letter in below for letter in header.ids.values())


def _header(rows: Rows, preset: str | None, file: str, sheet_name: str) -> _Header:
    """The header: the first row (with the one under it, if that is a second header row) that names
    the student and the name, in the layout that fits best; checked."""
    chosen: _Header | None = None
    names = [preset] if preset else list(layouts().presets)
    for index in range(min(HEADER_SCAN_ROWS, len(rows))):
        for name in names:
            layout = layouts().presets[name]
            single = _mapped(_labels(rows, index, False), layout)
            if not _fits(single):
                continue
            two = _second_row(rows, index, single)
            candidate = _mapped(_labels(rows, index, True), layout) if two else single
            candidate.index, candidate.rows = index, 2 if two else 1
            rank = (-len(candidate.unknown), len(candidate.values))
            if chosen is None or rank > (-len(chosen.unknown), len(chosen.values)):
                chosen = candidate
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
    _check_header(chosen, rows[chosen.index][0], file, sheet_name)
    return chosen


def _check_header(header: _Header, header_row: int, file: str, sheet_name: str) -> None:
    if header.unknown:
        raise sheet_error(
            "gradebook.headers",
            f"cột không nhận ra: {', '.join(header.unknown)}",
            f"unrecognised columns: {', '.join(header.unknown)}",
            file,
            sheet_name,
            header_row,
        )
    kinds = [kind for kind, _ in header.values.values()]
    missing = [k for k in ("midterm", "final") if k not in kinds]
    if missing:
        names = {"midterm": "giữa kì (ĐĐGgk, GK)", "final": "cuối kì (ĐĐGck, CK)"}
        raise sheet_error(
            "gradebook.headers",
            f"thiếu cột {', '.join(names[k] for k in missing)}",
            f"missing columns: {', '.join(missing)}",
            file,
            sheet_name,
            header_row,
        )
    slots = sorted(slot for kind, slot in header.values.values() if kind == "regular" and slot is not None)
    if slots != list(range(1, len(slots) + 1)) or len(set(kinds) - {"regular"}) != len(kinds) - len(slots):
        raise sheet_error(
            "gradebook.headers",
            "các cột ĐĐGtx phải đánh số 1, 2, 3… và không cột nào lặp lại",
            "the regular slot columns are numbered 1, 2, 3… and no column repeats",
            file,
            sheet_name,
            header_row,
        )


def _is_numbering(cells: list[tables.Cell]) -> bool:
    """The row of column numbers some programs print under the header: (1), (2), (3)…"""
    numbers = [_NUMBERING.fullmatch(c.text) for c in cells if c.text]
    return (
        len(numbers) >= 3
        and all(numbers)
        and [int(m.group(1)) for m in numbers if m] == list(range(1, len(numbers) + 1))
    )


def _stated(title: Rows, sheet: str) -> dict[str, Stated]:
    """The subject, class, term and year the title block states (the first row that states each),
    or else the sheet's name."""
    found: dict[str, Stated] = {}
    patterns = layouts().title
    for number, cells in title:
        text = " ".join(c.text for c in cells if c.text)
        key = name_key(text)
        for name, options in patterns.items():
            match = next((m for p in options if (m := p.search(key))), None)
            if match and name not in found:
                found[name] = Stated(_value(name, match.group("value")), text, f"dòng {number}")
    if sheet:
        for name, stated in _from_sheet_name(sheet).items():
            found.setdefault(name, stated)
    return found


def _from_sheet_name(sheet: str) -> dict[str, Stated]:
    """A sheet named like "Toan_6A1_HK1": its class, term and year tokens, and what remains as the
    subject unless it is a generic name ("Sheet1", "Bảng điểm")."""
    config = layouts().sheet_name
    key, found = name_key(sheet), {}
    for name in ("year", "term"):
        for pattern in layouts().title[name]:
            if match := pattern.search(key):
                found[name] = Stated(_value(name, match.group("value")), sheet, "tên trang")
                key = (key[: match.start()] + "_" + key[match.end() :]).strip("_")
                break
    tokens = [t for t in key.split("_") if t]
    classes = [t for t in tokens if re.fullmatch(config["class"], t)]
    if classes:
        found["class"] = Stated(classes[0].upper(), sheet, "tên trang")
    rest = "_".join(t for t in tokens if t not in classes)
    if rest and not any(re.fullmatch(p, rest) for p in config["not_a_subject"]):
        found["subject"] = Stated(rest, sheet, "tên trang")
    return found


def _value(name: str, raw: str) -> str:
    if name == "class":
        return raw.upper()
    if name == "term":
        return str(term_number(raw))
    if name == "year":
        return raw.replace("_", "-")
    return raw


def _identifier(cell: tables.Cell | None, length: int) -> str | None:
    """An identifier as the program stored it, its leading zeros given back when a spreadsheet kept it
    as a number ("1214000001" → "001214000001" for a 12-digit one)."""
    if cell is None or not cell.text:
        return None
    text = re.sub(r"[\s']", "", cell.text)
    return text.zfill(length) if text.isdigit() and len(text) < length else text


def _data_row(number: int, cells: list[tables.Cell], header: _Header, file: str, sheet_name: str) -> Row | str | None:
    """A row of values under the header; None for an empty row or one to leave aside, "footer" where
    the footer begins (nothing under it is read)."""
    by_letter = {c.letter: c for c in cells}
    lengths = header.layout.id_lengths
    ids = {role: _identifier(by_letter.get(letter), lengths.get(role, 0)) for role, letter in header.ids.items()}
    entered = [*header.ids.values(), *header.values]
    if ids.get("student") is None and ids.get("ministry_code") is None:
        if any(layouts().is_footer(c.text) for c in cells):
            return "footer"
        values = [by_letter[letter].text for letter in header.values if letter in by_letter]
        if not any(_SCORE_LIKE.match(v) or name_key(v) in ("d", "cd") for v in values):
            return None
        raise sheet_error(
            "gradebook.student",
            "dòng có điểm nhưng không có mã học sinh",
            "the row has values but no student identifier",
            file,
            sheet_name,
            number,
            header.ids.get("student") or header.ids.get("ministry_code"),
        )
    for letter in entered:
        if letter in by_letter and by_letter[letter].formula:
            raise sheet_error(
                "gradebook.formula",
                "ô chứa công thức, không phải giá trị; hãy xuất tệp với giá trị",
                "the cell holds a formula, not a value; export the file with values",
                file,
                sheet_name,
                number,
                letter,
            )
    name = by_letter.get(header.ids["full_name"])
    row = Row(number, ids.get("student"), ids.get("ministry_code"), name.text if name else "")
    for letter, (kind, slot) in header.values.items():
        if letter in by_letter and by_letter[letter].text:
            row.cells.append(Cell(number, letter, kind, slot, by_letter[letter].text))
    return row
