"""Gradebook files as the school-management software exports them, for the page and browser tests of
the sheet import: a vnEdu-style CSV of the Toán sheet of 6A1, term I, of the page-test school."""

from __future__ import annotations

import csv
import io

from ledger.log.projection import read
from ledger.school.years.tables import subjects
from tests.support.web import TermSchool


async def regular_count(term: TermSchool, subject: str = "TOAN", grade: int = 6) -> int:
    """The number of ĐĐGtx columns of a subject, set by its periods (TT22 Đ.6)."""
    async with term.runtime.engine().connect() as conn:
        [row] = await read(conn, subjects, term.school, year=term.demo.year, code=subject, grade=grade)
    return int(row["regular_count"])


def sheet_csv(term: TermSchool, slots: int, values: dict[str, list[str]], title: str | None = None) -> bytes:
    """A CSV with an optional title line ("SỔ ĐIỂM MÔN TOÁN - LỚP 6A1 - HỌC KỲ I"), the header
    (Mã định danh, Họ và tên, TX1…, GK, CK) and one row per pupil of `values`: their ĐĐGtx, ĐĐGgk
    and ĐĐGck as typed in the software ("8,5")."""
    out = io.StringIO()
    writer = csv.writer(out)
    if title:
        writer.writerow([title])
    writer.writerow(["Mã định danh", "Họ và tên", *[f"TX{k}" for k in range(1, slots + 1)], "GK", "CK"])
    for student, marks in values.items():
        writer.writerow([student, term.demo.names[student], *marks])
    return out.getvalue().encode("utf-8-sig")
