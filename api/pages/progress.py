"""Leadership's progress board: for each class × subject × term, how much of the sheet is entered,
whether its teacher has signed it (Điều 18.3), whether it changed after signing, and whether the
entry window closed with cells still empty (Điều 33: the principal follows the school's data)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.response import Template
from sqlalchemy import func, select

from api.http.scope import runtime_of
from api.pages.staff import need_year
from api.pages.toolkit import SCHOOL_PAGE, class_order, page, render
from api.v1.params import SchoolId
from ledger.app.db import AUDITOR_ROLE
from ledger.log.projection import read
from ledger.school.assessments.tables import assessments
from ledger.school.calendar.model import Calendar
from ledger.school.calendar.tables import calendars
from ledger.school.class_sheets.tables import sheet_signatures
from ledger.school.years.model import hocba_order
from ledger.school.years.tables import classes, enrolments, subjects

TERMS = (1, 2)


@dataclass(frozen=True)
class Cell:
    """One class × subject × term sheet on the board."""

    entered: int
    expected: int
    signed: bool
    changed_since: bool  # a value was recorded after the signature
    late: bool  # the entry window has closed and cells are still empty

    @property
    def complete(self) -> bool:
        return self.expected > 0 and self.entered >= self.expected


async def _facts(conn: Any, school: str, year: str) -> dict[str, Any]:
    t, s, e = assessments, sheet_signatures, enrolments
    # Only the scores of the pupils in the class now: one who left or moved takes theirs along.
    entered = await conn.execute(
        select(e.c.class_id, t.c.subject, t.c.term, func.count(), func.max(t.c.seq_from))
        .join(e, (e.c.school_id == t.c.school_id) & (e.c.year == t.c.year) & (e.c.student_id == t.c.student_id))
        .where(t.c.school_id == school, t.c.year == year, t.c.seq_to.is_(None))
        .where(e.c.seq_to.is_(None), e.c.until.is_(None))
        .group_by(e.c.class_id, t.c.subject, t.c.term)
    )
    signed = await conn.execute(
        select(s.c.class_id, s.c.subject, s.c.term, s.c.seq_from).where(
            s.c.school_id == school, s.c.year == year, s.c.seq_to.is_(None)
        )
    )
    calendar_rows = await read(conn, calendars, school, year=year)
    return {
        "classes": await read(conn, classes, school, year=year),
        "subjects": await read(conn, subjects, school, year=year),
        "pupils": Counter(r["class_id"] for r in await read(conn, enrolments, school, year=year) if r["until"] is None),
        "entered": {(r[0], r[1], r[2]): (int(r[3]), int(r[4])) for r in entered},
        "signed": {(r[0], r[1], r[2]): int(r[3]) for r in signed},
        "calendar": Calendar.from_payload(calendar_rows[0]["calendar"]) if calendar_rows else None,
    }


def board(facts: dict[str, Any], now: Any) -> dict[str, Any]:
    """The board's rows (classes in order), columns (subjects in the học bạ's order) and cells."""
    class_rows = sorted(facts["classes"], key=lambda c: (c["grade"], class_order(c["class_id"])))
    by_grade: dict[int, dict[str, Any]] = {}
    for subject in facts["subjects"]:
        by_grade.setdefault(subject["grade"], {})[subject["code"]] = subject
    columns = sorted(
        {(s["code"], s["name"]) for s in facts["subjects"]}, key=lambda item: hocba_order(item[0], item[1])
    )
    calendar = facts["calendar"]
    cells: dict[tuple[str, str, int], Cell] = {}
    for row in class_rows:
        for code, subject in by_grade.get(row["grade"], {}).items():
            for term in TERMS:
                key = (row["class_id"], code, term)
                entered, last_change = facts["entered"].get(key, (0, 0))
                expected = facts["pupils"][row["class_id"]] * (int(subject["regular_count"]) + 2)
                signed_at = facts["signed"].get(key)
                window = calendar.entry.get(term) if calendar is not None else None
                cells[key] = Cell(
                    entered=entered,
                    expected=expected,
                    signed=signed_at is not None,
                    changed_since=signed_at is not None and last_change > signed_at,
                    late=window is not None and now > window.closes and entered < expected,
                )
    return {"rows": [c["class_id"] for c in class_rows], "columns": columns, "cells": cells}


@get(SCHOOL_PAGE + "/tien-do", operation_id="page_progress", opt=page("progress.read"), include_in_schema=False)
async def progress_page(request: Request[Any, Any, Any], state: State, school: SchoolId) -> Template:
    runtime = runtime_of(state)
    year = need_year(request)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        facts = await _facts(conn, school, year)
    shown = board(facts, runtime.clock.now())
    return render(request, "progress.html", "progress", school=school, terms=TERMS, **shown)
