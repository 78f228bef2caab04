"""Class gradebooks from the school-management software, into the ledger (Điều 17.2, 17.3, 18.2).

- `import_sheet` compares every cell of a sheet (read by ledger.school.imports.sheets) with what the
  ledger holds: new, unchanged, or different. A dry run only reports. A commit appends, in one
  transaction, the new values as assessment events of the assigned subject teacher (marked with the
  file's SHA-256, sheet and row) and, for every different value, a correction request the leadership
  decides on: an import never overwrites (Điều 17.3). The calendar and locks apply as to typed entry.
  The same file again appends nothing.
- `reconcile` is the IT teacher's report against the source file (Điều 18.2): counts, missing
  assessments, students in the file but not in the class and the reverse, mismatches.

Every refusal names the file, the sheet, the row and the column, and nothing is appended."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base.errors import DomainError, Refused, ValidationError
from ledger.format.envelope import Actor, NewEvent
from ledger.log.append import Ledger, SchoolSession
from ledger.log.projection import read
from ledger.school.assessments.commands import SheetEntry, sheet_events
from ledger.school.assessments.tables import assessments, subject_comments
from ledger.school.calendar.checks import check_change
from ledger.school.calendar.model import Change
from ledger.school.corrections.commands import request_events
from ledger.school.corrections.model import assessment_target
from ledger.school.corrections.tables import corrections
from ledger.school.imports.sheets import Cell, Gradebook, Row, sheet_error, sheet_place
from ledger.school.imports.stated import check_stated
from ledger.school.rules import identity
from ledger.school.rules.roles import Role
from ledger.school.rules.tt22 import Kind, value_text
from ledger.school.years.queries import holds, known_class, known_year, subject_code
from ledger.school.years.tables import enrolments, students, subjects


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
    grade = await known_class(conn, school, year, class_id)
    listed = await read(conn, subjects, school, year=year, code=subject, grade=grade)
    if not listed:
        raise sheet_error(
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
        raise sheet_error(
            "gradebook.value", exc.vi, exc.en, ctx.book.file, ctx.book.sheet, cell.row, cell.column
        ) from None


def _cell(cell: Cell, student: str, value: str, recorded: str | None, **extra: Any) -> dict[str, Any]:
    """A cell as plans and reports show it: where, whose, which assessment, in the file, in the ledger."""
    return {
        "row": cell.row,
        "column": cell.column,
        "student": student,
        "kind": cell.kind,
        "slot": cell.slot,
        "file": value,
        "ledger": recorded,
        **extra,
    }


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
    plan: dict[str, Any] = {}

    async def decide(session: SchoolSession) -> list[NewEvent]:
        await known_year(session.conn, session.school, year)
        code = await subject_code(session.conn, session.school, year, subject)
        unstated = await check_stated(session.conn, session.school, book, year, class_id, code, term_no)
        ctx = await _context(session.conn, session.school, book, year, class_id, code, term_no)
        await _check_teacher_and_slots(session, actor, book, ctx, year, class_id, code, term_no)
        cells: list[dict[str, Any]] = []
        entries: list[SheetEntry] = []
        differing: list[tuple[str, Cell, str, str]] = []
        seen: dict[str, int] = {}
        for row in book.rows:
            student = _row_student(ctx, book, row, seen, class_id)
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
        proposals, requests = await _proposals(session, actor, book, differing, year, class_id, code, term_no, dry_run)
        events += requests
        counts = {status: sum(1 for c in cells if c["status"] == status) for status in ("new", "unchanged", "differs")}
        plan.update(
            {
                "file": book.file,
                "sha256": book.sha256,
                "sheet": book.sheet,
                "preset": book.preset,
                "stated": {name: vars(stated) for name, stated in book.stated.items()},
                "unstated": unstated,
                "left_aside": book.left_aside,
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


async def _check_teacher_and_slots(
    session: SchoolSession,
    actor: Actor,
    book: Gradebook,
    ctx: _Context,
    year: str,
    class_id: str,
    code: str,
    term: int,
) -> None:
    """The importer teaches this class × subject × term (Điều 17.2, 18.3), and the file has the
    subject's number of regular assessment columns."""
    where = sheet_place(book.file, book.sheet)
    today = session.now().date()
    assigned = await holds(
        session, str(actor.user), Role.SUBJECT_TEACHER, today, year=year, class_id=class_id, subject=code, term=term
    )
    if not assigned:
        raise Refused(
            "gradebook.not_assigned",
            f"{where}: {actor.user} không được phân công dạy môn {code} lớp {class_id} học kì {term}.",
            f"{where}: {actor.user} is not assigned to teach {code} in class {class_id}, term {term}.",
            field="file",
            rule="Điều 17.2, 18.3",
        )
    if book.regular_slots != ctx.regular_count:
        raise sheet_error(
            "gradebook.slots",
            f"môn {code} có {ctx.regular_count} lần ĐĐGtx theo số tiết; tệp có {book.regular_slots} cột",
            f"{code} has {ctx.regular_count} regular assessments by its periods; the file has "
            f"{book.regular_slots} columns",
            book.file,
            book.sheet,
            book.header_row,
        )


def _row_student(ctx: _Context, book: Gradebook, row: Row, seen: dict[str, int], class_id: str) -> str:
    """The student of a row: known to the school, enrolled in the class, and on no earlier row."""
    student = _student_of(ctx, row)
    named = row.student or row.ministry_code
    if student is None:
        raise sheet_error(
            "gradebook.unknown_student",
            f"học sinh {named} ({row.full_name}) không có trong hồ sơ trường",
            f"student {named} ({row.full_name}) is not in the school's records",
            book.file,
            book.sheet,
            row.row,
            book.id_column,
        )
    if student not in ctx.enrolled:
        raise sheet_error(
            "gradebook.not_enrolled",
            f"học sinh {named} ({row.full_name}) không học lớp {class_id}",
            f"student {named} ({row.full_name}) is not in class {class_id}",
            book.file,
            book.sheet,
            row.row,
            book.id_column,
        )
    if student in seen:
        raise sheet_error(
            "gradebook.duplicate",
            f"học sinh {named} đã có ở dòng {seen[student]}",
            f"student {named} is already on row {seen[student]}",
            book.file,
            book.sheet,
            row.row,
            book.id_column,
        )
    return student


async def _proposals(
    session: SchoolSession,
    actor: Actor,
    book: Gradebook,
    differing: list[tuple[str, Cell, str, str]],
    year: str,
    class_id: str,
    code: str,
    term: int,
    dry_run: bool,
) -> tuple[list[dict[str, Any]], list[NewEvent]]:
    """For every value that differs from the ledger, the correction it calls for (Điều 17.3): one
    already pending with the same new value, or, on a commit, a new request. Returns the proposals
    and the events of the new requests."""
    waiting = {
        (r["target"]["student"], r["target"]["kind"], r["target"]["slot"]): r
        for r in await read(session.conn, corrections, session.school, status="pending")
        if (r["target"].get("year"), r["target"].get("class"), r["target"].get("subject"), r["target"].get("term"))
        == (year, class_id, code, term)
    }
    proposals, events = [], []
    for student, cell, current, value in differing:
        slot = cell.slot if cell.kind == "regular" else None
        target = assessment_target(year, term, class_id, code, student, cell.kind, slot)
        pending = waiting.get((student, cell.kind, target.slot))  # a request's target has slot 0 but for ĐĐGtx
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
        reason = f"Khác với bảng điểm nhập từ {sheet_place(book.file, book.sheet, cell.row, cell.column)}."
        try:
            made = await request_events(session, actor, target, current, value, reason, book.sha256)
        except DomainError as exc:
            raise sheet_error(exc.code, exc.vi, exc.en, book.file, book.sheet, cell.row, cell.column) from None
        proposal["request"] = made[0].payload["request"]
        events += made
    return proposals, events


async def reconcile(
    conn: AsyncConnection, school: str, book: Gradebook, *, year: str, class_id: str, subject: str, term: Any
) -> dict[str, Any]:
    """The IT teacher's reconciliation of the ledger against the source file (Điều 18.2)."""
    year, class_id, term_no = identity.school_year(year), identity.class_id(class_id), identity.term(term)
    await known_year(conn, school, year)
    code = await subject_code(conn, school, year, subject)
    await check_stated(conn, school, book, year, class_id, code, term_no)
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
