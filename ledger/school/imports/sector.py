"""Bulk import of staff, students and assignments from CSV or JSON, as the sector database (CSDL
ngành) exports them. Column names are matched without regard to case or Vietnamese diacritics, so
"Họ và tên", "ho_va_ten" and "HO VA TEN" are one column; docs/IMPORT.md lists them. Importing the same
file again appends nothing: only records that differ from the current state become events.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.base.errors import DomainError, ValidationError
from ledger.format.envelope import Actor, Event
from ledger.log.append import Ledger
from ledger.log.projection import read
from ledger.school.rules import identity, names
from ledger.school.rules.roles import Role
from ledger.school.years.commands import enrol, make_assignments, open_classes, register_staff, register_students
from ledger.school.years.model import Assignment, parse_assignment
from ledger.school.years.tables import school_years, subjects

MAX_BYTES = 20 * 1024 * 1024


def column_key(header: str) -> str:
    """'Họ và tên' → 'ho_va_ten': no diacritics, lowercase, words joined by '_'."""
    return names.name_key(header)


STUDENT_COLUMNS = {
    "student": (
        "student",
        "so_dinh_danh_ca_nhan",
        "ma_dinh_danh",
        "so_dinh_danh",
        "ma_dinh_danh_ca_nhan",
        "cccd",
        "so_cccd",
    ),
    "ministry_code": ("ministry_code", "ma_hoc_sinh", "ma_hs"),
    "full_name": ("full_name", "ho_va_ten", "ho_ten"),
    "gender": ("gender", "gioi_tinh"),
    "date_of_birth": ("date_of_birth", "ngay_sinh"),
    "birthplace": ("birthplace", "noi_sinh"),
    "ethnicity": ("ethnicity", "dan_toc"),
    "residence": ("residence", "noi_o_hien_nay", "noi_o", "cho_o_hien_nay", "dia_chi"),
    "class": ("class", "lop"),
    "father_name": ("father_name", "ho_ten_cha"),
    "father_phone": ("father_phone", "sdt_cha", "so_dien_thoai_cha"),
    "mother_name": ("mother_name", "ho_ten_me"),
    "mother_phone": ("mother_phone", "sdt_me", "so_dien_thoai_me"),
    "guardian_name": ("guardian_name", "ho_ten_nguoi_giam_ho", "nguoi_giam_ho"),
    "guardian_phone": ("guardian_phone", "sdt_nguoi_giam_ho", "so_dien_thoai_nguoi_giam_ho"),
}
STUDENT_REQUIRED = ("student", "ministry_code", "full_name", "gender", "date_of_birth")
STAFF_COLUMNS = {
    "staff": ("staff", "ma_can_bo", "ma_cb", "tai_khoan"),
    "full_name": ("full_name", "ho_va_ten", "ho_ten"),
    "email": ("email", "thu_dien_tu"),
    "phone": ("phone", "so_dien_thoai", "dien_thoai", "sdt"),
}
STAFF_REQUIRED = ("staff", "full_name")
ASSIGNMENT_COLUMNS = {
    "staff": ("staff", "ma_can_bo", "ma_cb", "tai_khoan"),
    "role": ("role", "vai_tro", "chuc_vu", "loai_phan_cong"),
    "year": ("year", "nam_hoc"),
    "class": ("class", "lop"),
    "subject": ("subject", "mon_hoc", "mon", "ma_mon"),
    "term": ("term", "hoc_ky", "hoc_ki"),
    "valid_from": ("valid_from", "tu_ngay"),
    "valid_to": ("valid_to", "den_ngay"),
    # the appointing decision of a principal (Điều 24.3, 33.2), or the decision a grant cites
    "decision_number": ("decision_number", "so_quyet_dinh"),
    "decision_issuer": ("decision_issuer", "co_quan_ban_hanh", "noi_ban_hanh"),
    "decision_date": ("decision_date", "ngay_quyet_dinh"),
    "decision_sha256": ("decision_sha256", "ma_bam_quyet_dinh"),
    "decision_signature": ("decision_signature", "chu_ky_quyet_dinh"),
}
ASSIGNMENT_REQUIRED = ("staff", "role", "valid_from")
ROLE_NAMES = {
    "hieu_truong": Role.PRINCIPAL,
    "pho_hieu_truong": Role.LEADERSHIP,
    "can_bo_quan_ly": Role.LEADERSHIP,
    "lanh_dao": Role.LEADERSHIP,
    "gvbm": Role.SUBJECT_TEACHER,
    "giao_vien_bo_mon": Role.SUBJECT_TEACHER,
    "gvcn": Role.HOMEROOM_TEACHER,
    "giao_vien_chu_nhiem": Role.HOMEROOM_TEACHER,
    "van_thu": Role.CLERK,
    "quan_tri": Role.ADMIN,
    "quan_tri_vien": Role.ADMIN,
    "quan_tri_he_thong": Role.ADMIN,
    "gv_cntt": Role.IT_REVIEWER,
    "giao_vien_cntt": Role.IT_REVIEWER,
    "giao_vien_tin_hoc": Role.IT_REVIEWER,
}


@dataclass
class ImportReport:
    file: str
    rows: int
    events: list[Event] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for event in self.events:
            counts[event.type] = counts.get(event.type, 0) + 1
        return {"file": self.file, "rows": self.rows, "appended": len(self.events), "by_type": counts}


def _file_error(path: Path, vi: str, en: str, **details: Any) -> ValidationError:
    return ValidationError("import.file", vi, en, field=str(path.name), **details)


def read_rows(path: Path, columns: Mapping[str, Sequence[str]], required: Sequence[str]) -> list[dict[str, Any]]:
    """Rows of a CSV or JSON file, keyed by canonical column names; row numbers as in a spreadsheet."""
    if path.stat().st_size > MAX_BYTES:
        raise _file_error(
            path,
            f"tệp lớn hơn {MAX_BYTES // (1024 * 1024)} MB",
            f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB",
        )
    data = path.read_bytes()
    suffix = path.suffix.lower()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _file_error(path, "tệp không phải văn bản UTF-8", "the file is not UTF-8 text") from None
    raw_rows: list[Mapping[str, Any]]
    if suffix == ".json":
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise _file_error(path, f"JSON không hợp lệ: {exc}", f"invalid JSON: {exc}") from None
        doc = doc.get("rows") if isinstance(doc, dict) else doc
        if not isinstance(doc, list) or not all(isinstance(r, Mapping) for r in doc):
            raise _file_error(path, "JSON phải là một danh sách các đối tượng", "the JSON must be a list of objects")
        raw_rows, first_row = doc, 1
    elif suffix == ".csv":
        sample = text[:4096]
        delimiter = ";" if sample.count(";") > sample.count(",") else ","
        raw_rows, first_row = list(csv.DictReader(io.StringIO(text), delimiter=delimiter)), 2
    else:
        raise _file_error(path, "chỉ nhận tệp .csv hoặc .json", "only .csv and .json files are accepted")
    return parse_rows(raw_rows, columns, required, first_row, path.name)


def parse_rows(
    raw_rows: Sequence[Mapping[str, Any]],
    columns: Mapping[str, Sequence[str]],
    required: Sequence[str],
    first_row: int = 1,
    source: str = "rows",
) -> list[dict[str, Any]]:
    """Rows keyed by canonical column names, with their row numbers; refuses missing columns."""
    aliases = {column_key(alias): name for name, names in columns.items() for alias in names}
    rows = []
    for offset, raw in enumerate(raw_rows):
        row: dict[str, Any] = {"_row": first_row + offset}
        for header, value in raw.items():
            name = aliases.get(column_key(str(header))) if header is not None else None
            if name is not None:
                row[name] = value.strip() if isinstance(value, str) else value
        rows.append(row)
    present = set().union(*(set(r) for r in rows)) if rows else set()
    missing = [f"{c} ({columns[c][1]})" for c in required if c not in present]
    if missing:
        raise ValidationError(
            "import.columns",
            f"thiếu cột bắt buộc: {', '.join(missing)}; xem docs/IMPORT.md",
            f"missing required columns: {', '.join(missing)}; see docs/IMPORT.md",
            field=source,
        )
    return rows


def _at_row(source: str, rows: Sequence[Mapping[str, Any]], error: DomainError) -> DomainError:
    """Say which file row an indexed field (students[3].gender) came from."""
    match = re.match(r"^\w+\[(\d+)\]\.?(.*)$", error.field or "")
    if match and int(match[1]) < len(rows):
        error.field = f"{source}: row {rows[int(match[1])]['_row']}, column {match[2] or '?'}"
    return error


def _guardians(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    guardians = []
    for prefix, relation in (("father", "Cha"), ("mother", "Mẹ"), ("guardian", "Người giám hộ")):
        if row.get(f"{prefix}_name"):
            guardians.append(
                {"full_name": row[f"{prefix}_name"], "relation": relation, "phone": row.get(f"{prefix}_phone") or None}
            )
    return guardians


def _load(
    source: Path | Sequence[Mapping[str, Any]], columns: Mapping[str, Sequence[str]], required: Sequence[str]
) -> tuple[str, list[dict[str, Any]]]:
    if isinstance(source, Path):
        return source.name, read_rows(source, columns, required)
    return "rows", parse_rows(source, columns, required)


async def import_students(
    ledger: Ledger, school: str, actor: Actor, source: Path | Sequence[Mapping[str, Any]], year: str | None = None
) -> ImportReport:
    name, rows = _load(source, STUDENT_COLUMNS, STUDENT_REQUIRED)
    report = ImportReport(name, len(rows))
    profiles = [
        {
            **{k: v for k, v in row.items() if k in STUDENT_REQUIRED or k in ("birthplace", "ethnicity", "residence")},
            "guardians": _guardians(row),
        }
        for row in rows
    ]
    try:
        report.events += await register_students(ledger, school, actor, profiles)
        if year is not None and any(row.get("class") for row in rows):
            year = identity.school_year(year)
            placed = [
                (row, identity.class_id(row["class"], f"students[{i}].class"))
                for i, row in enumerate(rows)
                if row.get("class")
            ]
            wanted = sorted({(c, int(c[0])) for _, c in placed})
            report.events += await open_classes(ledger, school, actor, year, wanted)
            starts = await _year_start(ledger.engine, school, year)
            report.events += await enrol(ledger, school, actor, year, [(r["student"], c, starts) for r, c in placed])
    except DomainError as error:
        raise _at_row(name, rows, error) from None
    return report


async def _year_start(engine: AsyncEngine, school: str, year: str) -> str:
    async with engine.connect() as conn:
        found = await read(conn, school_years, school, year=year)
    if not found:
        raise ValidationError(
            "year.unknown", f"năm học {year} chưa được mở", f"school year {year} is not open", field="year"
        )
    return str(found[0]["starts"].isoformat())


async def import_staff(
    ledger: Ledger, school: str, actor: Actor, source: Path | Sequence[Mapping[str, Any]]
) -> ImportReport:
    name, rows = _load(source, STAFF_COLUMNS, STAFF_REQUIRED)
    report = ImportReport(name, len(rows))
    try:
        report.events += await register_staff(ledger, school, actor, rows)
    except DomainError as error:
        raise _at_row(name, rows, error) from None
    return report


async def import_assignments(
    ledger: Ledger, school: str, actor: Actor, source: Path | Sequence[Mapping[str, Any]]
) -> ImportReport:
    name, rows = _load(source, ASSIGNMENT_COLUMNS, ASSIGNMENT_REQUIRED)
    report = ImportReport(name, len(rows))
    catalogues: dict[str, dict[str, str]] = {}
    async with ledger.engine.connect() as conn:
        for row in await read(conn, subjects, school):
            catalogues.setdefault(row["year"], {})[row["code"]] = row["name"]
    wanted: list[Assignment] = []
    try:
        for index, row in enumerate(rows):
            role_text = str(row.get("role") or "")
            normalised = dict(row)
            normalised["role"] = ROLE_NAMES.get(column_key(role_text), role_text)
            if row.get("term") not in (None, ""):
                normalised["term"] = names.term_number(str(row["term"]))
            if row.get("subject") and str(row.get("year")) in catalogues:
                normalised["subject"] = names.subject_code(row["subject"], catalogues[str(row["year"])])
            wanted.append(parse_assignment(normalised, f"assignments[{index}]"))
        report.events += await make_assignments(ledger, school, actor, wanted)
    except DomainError as error:
        raise _at_row(name, rows, error) from None
    return report
