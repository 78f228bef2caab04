"""Leadership's progress board: for each class × subject × term, how much of the sheet is entered,
whether its teacher has signed it (Điều 18.3), whether it changed after signing, and whether the
entry window closed with cells still empty; for each class × term, whether the homeroom teacher has
signed the class's term (Điều 18.4) and whether anything it holds changed since (Điều 33: the
principal follows the school's data)."""

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
from api.pages.toolkit import SCHOOL_PAGE, class_order, may, page, principal_or_none, render
from api.v1.params import SchoolId
from ledger.app.db import AUDITOR_ROLE
from ledger.log.projection import read
from ledger.school.assessments.tables import absences, assessments, conduct, homeroom_comments, subject_comments
from ledger.school.calendar.model import Calendar
from ledger.school.calendar.tables import calendars
from ledger.school.class_sheets.tables import sheet_signatures, term_signatures
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
    terms_signed = await conn.execute(
        select(term_signatures.c.class_id, term_signatures.c.term, term_signatures.c.seq_from).where(
            term_signatures.c.school_id == school, term_signatures.c.year == year, term_signatures.c.seq_to.is_(None)
        )
    )
    return {
        "classes": await read(conn, classes, school, year=year),
        "subjects": await read(conn, subjects, school, year=year),
        "pupils": Counter(r["class_id"] for r in await read(conn, enrolments, school, year=year) if r["until"] is None),
        "entered": {(r[0], r[1], r[2]): (int(r[3]), int(r[4])) for r in entered},
        "signed": {(r[0], r[1], r[2]): int(r[3]) for r in signed},
        "calendar": Calendar.from_payload(calendar_rows[0]["calendar"]) if calendar_rows else None,
        "terms_signed": {(r[0], int(r[1])): int(r[2]) for r in terms_signed},
        "term_changes": await _term_changes(conn, school, year),
    }


async def _term_changes(conn: Any, school: str, year: str) -> dict[tuple[str, int], int]:
    """The seq of the last change, per class × term, to what the class's term record holds: its pupils,
    their assessments and subject comments, conduct, absences and homeroom comments."""
    e = enrolments
    now = (e.c.seq_to.is_(None), e.c.until.is_(None))
    changes: dict[tuple[str, int], int] = {}
    for table in (assessments, subject_comments, conduct, absences, homeroom_comments):
        term = table.c.term if "term" in table.c else table.c.period
        rows = await conn.execute(
            select(e.c.class_id, term, func.max(table.c.seq_from))
            .join(
                e,
                (e.c.school_id == table.c.school_id)
                & (e.c.year == table.c.year)
                & (e.c.student_id == table.c.student_id),
            )
            .where(table.c.school_id == school, table.c.year == year, table.c.seq_to.is_(None), *now)
            .group_by(e.c.class_id, term)
        )
        for class_id, period, seq in rows:
            key = (class_id, 1 if str(period) == "1" else 2)  # the year's comment is in term II's record
            changes[key] = max(changes.get(key, 0), int(seq))
    roster = await conn.execute(
        select(e.c.class_id, func.max(e.c.seq_from))
        .where(e.c.school_id == school, e.c.year == year)
        .group_by(e.c.class_id)
    )
    for class_id, seq in roster:
        for term_no in TERMS:
            changes[(class_id, term_no)] = max(changes.get((class_id, term_no), 0), int(seq))
    return changes


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
    homeroom = {
        key: ("changed" if facts["term_changes"].get(key, 0) > signed_at else "signed")
        for key, signed_at in facts["terms_signed"].items()
    }
    return {"rows": [c["class_id"] for c in class_rows], "columns": columns, "cells": cells, "homeroom": homeroom}


@get(SCHOOL_PAGE + "/tien-do", operation_id="page_progress", opt=page("progress.read"), include_in_schema=False)
async def progress_page(request: Request[Any, Any, Any], state: State, school: SchoolId) -> Template:
    runtime = runtime_of(state)
    year = need_year(request)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        facts = await _facts(conn, school, year)
    shown = board(facts, runtime.clock.now())
    principal = principal_or_none(request)

    def opens(class_id: str, subject: str, term: int) -> bool:
        """A cell links to its sheet only for those who may read it (the clerk reads the counts only)."""
        return may(principal, "sheet.read", year=year, class_id=class_id, subject=subject, term=term)

    return render(request, "progress.html", "progress", school=school, terms=TERMS, opens=opens, **shown)
