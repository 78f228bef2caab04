"""The teacher's grade sheet of a class × subject × term: entry checked as it is typed and again by the
ledger, refusals explained with a correction request offered, the import of the sheet the school's
software exports (a dry run shown first, then written on confirmation, as the API and the CLI do it),
and the teacher's signatures."""

from __future__ import annotations

import base64
import binascii
from decimal import Decimal
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.response import Redirect, Template
from sqlalchemy import select

from api.http.scope import actor_for, entry_of, ledger_of, principal_of, runtime_of
from api.pages.keys import by_remote_key, remote_offered, sign_class_remotely, signed_one, token_batch
from api.pages.staff import SHEET_PAGE, class_subjects, need_year, roster_names, sign_hocba, student_names
from api.pages.toolkit import (
    confirmation,
    counted,
    form_of,
    here,
    may,
    page,
    principal_or_none,
    refusal_message,
    render,
    roman,
    staff_names,
    text_of,
)
from api.v1.corrections import CorrectionIn, file_correction
from api.v1.params import ClassId, SchoolId, SubjectCode, Term
from api.v1.sheets import imported
from ledger.app.db import AUDITOR_ROLE
from ledger.base.errors import Conflict, DomainError, NotFound
from ledger.log.projection import read
from ledger.school.assessments.commands import SheetEntry, record_sheet
from ledger.school.assessments.tables import assessments, subject_comments
from ledger.school.calendar.checks import refusal_now
from ledger.school.calendar.model import Calendar, Change
from ledger.school.calendar.tables import calendars
from ledger.school.class_sheets.commands import prepare_sheet, submit_sheet
from ledger.school.class_sheets.queries import sheet_status
from ledger.school.corrections.model import assessment_target
from ledger.school.corrections.tables import corrections
from ledger.school.imports.sheets import MAX_BYTES
from ledger.school.rules.tt22 import Kind, term_average, value_text
from ledger.school.signatures.commands import signing_refusals

NO_CORRECTION = {"deadline.final"}  # refusals that no correction request can get past
# A request carrying a gradebook file, as uploaded or carried back in base64 to be confirmed: a file
# past MAX_BYTES is still received, to be refused with the reader's own message.
IMPORT_BODY = 2 * MAX_BYTES


def _cells(subject: dict[str, Any]) -> list[tuple[str, int]]:
    """The columns of a sheet: each regular assessment, the midterm and the final (TT22 Đ.6, Đ.7)."""
    return [("regular", n) for n in range(1, int(subject["regular_count"]) + 1)] + [("midterm", 0), ("final", 0)]


def _averages(names: dict[str, str], cells: list[tuple[str, int]], recorded: dict[str, str]) -> dict[str, Decimal]:
    """ĐTBmhk of each student whose every column is recorded (TT22 Đ.9.1)."""
    found = {}
    for student in names:
        values = [recorded.get(_field(student, kind, slot)) for kind, slot in cells]
        if all(values):
            scores = [Decimal(str(v)) for v in values]
            found[student] = term_average(scores[:-2], scores[-2], scores[-1])
    return found


def _column(cell: dict[str, Any], text: dict[str, str]) -> str:
    """A sheet's column as the teacher reads it: ĐĐGtx 2, ĐĐGgk, ĐĐGck."""
    return text[cell["kind"]] + (f" {cell['slot']}" if cell["slot"] else "")


def _sheet_path(school: str, class_id: str, subject: str, term: int) -> str:
    return f"/truong/{school}/lop/{class_id}/mon/{subject}/hoc-ky/{term}"


def _field(student: str, kind: str, slot: int) -> str:
    return f"c-{student}-{kind}-{slot}"


async def _sheet_facts(
    request: Request[Any, Any, Any], state: State, school: str, class_id: str, subject: str, term: int
) -> dict[str, Any]:
    runtime = runtime_of(state)
    year = need_year(request)
    catalogue = {s["code"]: s for s in await class_subjects(runtime, school, year, class_id)}
    if subject not in catalogue:
        raise NotFound("subject.unknown", f"lớp {class_id} không học môn {subject}", f"{class_id} has no {subject}")
    names = await roster_names(runtime, school, year, class_id)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        rows = await read(conn, assessments, school, year=year, subject=subject, term=term, class_id=class_id)
        comments = await read(conn, subject_comments, school, year=year, subject=subject, term=term, class_id=class_id)
        calendar_rows = await read(conn, calendars, school, year=year)
        signed = await sheet_status(conn, school, year, class_id, subject, term)
        codes = await student_names(conn, school, list(names), "ministry_code")
    recorded = {_field(r["student_id"], r["kind"], r["slot"] or 0): r["value"] for r in rows}
    cells = _cells(catalogue[subject])
    entry_of(request).touch(names)
    window = Calendar.from_payload(calendar_rows[0]["calendar"]).entry.get(term) if calendar_rows else None

    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        refused = await refusal_now(
            conn,
            school,
            runtime.clock,
            Change.ENTRY,
            year=year,
            term=term,
            class_id=class_id,
            subject=subject,
            students=list(names),
        )
        requests = await _requests(conn, school, year, class_id, subject, term)
    refusal = refusal_message(request, refused)["error"] if refused is not None else None
    if signed.get("signer"):  # the teacher who signed, by name (the ledger keeps the account)
        signed = {**signed, "signer": (await staff_names(runtime, school)).get(signed["signer"], signed["signer"])}
    principal = principal_or_none(request)
    target = {"year": year, "class_id": class_id, "subject": subject, "term": term}
    return {
        "school": school,
        "year": year,
        "class_id": class_id,
        "subject": catalogue[subject],
        "term": term,
        "names": names,
        "cells": cells,
        "recorded": recorded,
        "codes": codes,
        "averages": _averages(names, cells, recorded) if catalogue[subject]["kind"] == Kind.SCORE.value else {},
        "comments": {r["student_id"]: r["text"] for r in comments},
        # the correction requests of the sheet, newest first, and each cell's newest (Điều 17.3)
        "requests": requests,
        "requested": {r["cell"]: r for r in reversed(requests)},
        "window": window,
        "refusal": refusal,
        "signed": signed,
        "now": runtime.clock.now(),
        "can_write": may(principal, "sheet.write", **target),
        # after the final date nothing can be typed or imported (Điều 25.3): the grid is only read
        "final_passed": refused is not None and refused.code in NO_CORRECTION,
        "can_sign": may(principal, "signature.write", **target),
        "scored": catalogue[subject]["kind"] == Kind.SCORE.value,
        "field": _field,
        # The forms' address: this page's, also when it is shown in answer to one of its forms.
        "sheet_path": _sheet_path(school, class_id, subject, term),
    }


async def _requests(conn: Any, school: str, year: str, class_id: str, subject: str, term: int) -> list[dict[str, Any]]:
    """The correction requests filed on this sheet's cells, newest first, each with its cell's field."""
    target = corrections.c.target
    rows = await conn.execute(
        select(corrections)
        .where(
            corrections.c.school_id == school,
            corrections.c.seq_to.is_(None),
            target["what"].astext == "assessment",
            target["year"].astext == year,
            target["class"].astext == class_id,
            target["subject"].astext == subject,
            target["term"].as_integer() == term,
        )
        .order_by(corrections.c.requested_at.desc())
    )
    return [
        {**r, "cell": _field(r["target"]["student"], r["target"]["kind"], r["target"]["slot"] or 0)}
        for r in rows.mappings()
    ]


def _title(facts: dict[str, Any], text: dict[str, str]) -> str:
    subject = facts["subject"]["name"]
    return f"{text['sheet']} — {text['class']} {facts['class_id']}, {subject}, {text['term']} {roman(facts['term'])}"


async def _sheet(
    request: Request[Any, Any, Any],
    state: State,
    school: str,
    class_id: str,
    subject: str,
    term: int,
    status: int = 200,
    *,
    facts: dict[str, Any] | None = None,
    **extra: Any,
) -> Template:
    """The sheet page; `facts` when the caller has just read them and nothing was appended since."""
    facts = facts or await _sheet_facts(request, state, school, class_id, subject, term)
    return render(
        request,
        "sheet.html",
        "sheet",
        status,
        heading=_title(facts, text_of(request)),
        **{
            **facts,
            "typed": {},
            "invalid": {},
            "proposals": [],
            "unsaved": set(),
            "unsaved_note": None,
            "dry_run": None,
            **extra,
        },
    )


@get(SHEET_PAGE, operation_id="page_sheet", opt=page("sheet.read"), include_in_schema=False)
async def sheet_page(
    request: Request[Any, Any, Any], state: State, school: SchoolId, class_id: ClassId, subject: SubjectCode, term: Term
) -> Template:
    text = text_of(request)
    query = request.query_params
    saved, signed = counted(request, "luu"), counted(request, "ky")
    written, requested = counted(request, "nhap"), counted(request, "de-nghi")
    notice = (
        text["saved"] % saved
        if saved is not None
        else text["filed"]
        if "dieu-chinh" in query
        else text["signed_count"] % signed
        if signed is not None
        else text["imported"] % (written, requested or "0")
        if written is not None
        else None
    )
    return await _sheet(request, state, school, class_id, subject, term, notice=notice)


@post(SHEET_PAGE, operation_id="page_sheet_save", opt=page("sheet.write"), status_code=303, include_in_schema=False)
async def sheet_save(
    request: Request[Any, Any, Any], state: State, school: SchoolId, class_id: ClassId, subject: SubjectCode, term: Term
) -> Response[Any]:
    """Record the cells that changed, all or nothing, as the API's sheet write does. Values are
    checked first, cell by cell; a refusal (a lock, the deadline, a recorded value) is shown with
    its reason and a correction request for each changed cell."""
    form = await form_of(request)
    facts = await _sheet_facts(request, state, school, class_id, subject, term)
    kind = Kind(facts["subject"]["kind"])
    typed: dict[str, str] = {}
    invalid: dict[str, str] = {}
    entries: list[SheetEntry] = []
    proposals: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []  # every cell typed differently, in the grid's order
    for student in facts["names"]:
        for cell_kind, slot in facts["cells"]:
            name = _field(student, cell_kind, slot)
            value, before = form.get(name, ""), facts["recorded"].get(name)
            typed[name] = value
            if not value or value == before:
                continue
            cell = {"student": student, "name": facts["names"][student], "kind": cell_kind, "slot": slot}
            try:
                stored = value_text(kind, value, name)
            except DomainError as error:
                invalid[name] = refusal_message(request, error)["error"]
                changed.append(cell)
                continue
            if stored == before:
                continue
            entries.append(SheetEntry(student, cell_kind, value, slot or None))
            proposals.append({**cell, "old": before or "", "new": value})
            changed.append(cell)
    entry_of(request).touch(e.student for e in entries)
    if invalid:  # all or nothing: the valid cells typed beside a wrong one are not saved either
        text = text_of(request)
        return await _sheet(
            request,
            state,
            school,
            class_id,
            subject,
            term,
            422,
            facts=facts,
            typed=typed,
            invalid=invalid,
            unsaved={_field(c["student"], c["kind"], c["slot"]) for c in changed},
            unsaved_note=text["nothing_saved"] % ", ".join(f"{c['name']} ({_column(c, text)})" for c in changed),
            error=text["invalid_value"],
        )
    if not entries:
        return await _sheet(
            request, state, school, class_id, subject, term, facts=facts, notice=text_of(request)["nothing_changed"]
        )
    year = need_year(request)
    actor = actor_for(principal_of(request), "SUBJECT_TEACHER")

    async def record(chosen: list[SheetEntry]) -> int:
        events = await record_sheet(
            ledger_of(state), school, actor, year=year, term=term, class_id=class_id, subject=subject, entries=chosen
        )
        return len(events)

    try:
        saved = await record(entries)
    except DomainError as error:
        refusal = error
    else:
        return Redirect(here(request, luu=str(saved)), status_code=303)
    # A recorded value is changed only by a correction (Điều 17.3); a new one typed inside the window
    # is an entry: it is saved, and only the changed cells are left for correction requests.
    fresh = [entry for entry, cell in zip(entries, proposals, strict=True) if not cell["old"]]
    saved = 0
    if refusal.code == "assessment.already_recorded" and fresh and len(fresh) < len(entries):
        try:
            saved = await record(fresh)
        except DomainError as error:
            refusal = error
        else:
            proposals = [cell for cell in proposals if cell["old"]]
            facts = await _sheet_facts(request, state, school, class_id, subject, term)
    text = text_of(request)
    unsaved = {_field(cell["student"], cell["kind"], cell["slot"]) for cell in proposals}
    listed = ", ".join(f"{cell['name']} ({_column(cell, text)})" for cell in proposals)
    return await _sheet(
        request,
        state,
        school,
        class_id,
        subject,
        term,
        refusal.status,
        facts=facts,
        typed={name: value for name, value in typed.items() if name in unsaved},
        unsaved=unsaved,
        unsaved_note=(text["saved_some"] % (saved, listed)) if saved else text["nothing_saved"] % listed,
        # After the final date nothing changes, not even by a correction (Điều 25.3): no form is offered.
        proposals=[] if refusal.code in NO_CORRECTION else proposals,
        **refusal_message(request, refusal),
    )


@post(
    SHEET_PAGE + "/dieu-chinh",
    operation_id="page_sheet_correction",
    opt=page("correction.file.sheet"),
    status_code=303,
    include_in_schema=False,
)
async def sheet_correction(
    request: Request[Any, Any, Any], state: State, school: SchoolId, class_id: ClassId, subject: SubjectCode, term: Term
) -> Response[Any]:
    form = await form_of(request)
    year = need_year(request)
    slot = form.get("slot", "0")
    try:
        data = CorrectionIn(
            student=form.get("student", ""),
            new_value=form.get("new_value", ""),
            reason=form.get("reason", ""),
            old_value=form.get("old_value") or None,
            kind=form.get("kind"),  # type: ignore[arg-type]
            slot=int(slot) if slot.isdigit() and slot != "0" else None,
        )
        entry_of(request).touch([data.student])
        target = assessment_target(year, term, class_id, subject, data.student, data.kind, data.slot)
        await file_correction(request, state, school, "SUBJECT_TEACHER", target, data)
    except DomainError as error:
        return await _sheet(
            request, state, school, class_id, subject, term, error.status, **refusal_message(request, error)
        )
    return Redirect(f"{_sheet_path(school, class_id, subject, term)}?year={year}&dieu-chinh=1", status_code=303)


@post(
    SHEET_PAGE + "/ky-bang-diem",
    operation_id="page_sheet_sign",
    opt=page("sheet.write"),
    status_code=303,
    include_in_schema=False,
)
async def sheet_sign(
    request: Request[Any, Any, Any], state: State, school: SchoolId, class_id: ClassId, subject: SubjectCode, term: Term
) -> Response[Any]:
    """The subject teacher signs the class sheet (Điều 18.3): prepare → demo signer → submit. The first
    press says what will be signed, or why it cannot be yet; only the confirmation signs."""
    form = await form_of(request)
    runtime = runtime_of(state)
    year = need_year(request)
    principal = principal_of(request)
    try:
        async with runtime.engine(AUDITOR_ROLE).connect() as conn:
            prepared = await prepare_sheet(conn, school, year, class_id, subject, term, runtime.clock.now())
        if form.get("confirm") != "1":
            facts = await _sheet_facts(request, state, school, class_id, subject, term)
            text = text_of(request)
            what = text["confirm_sheet"] % (facts["subject"]["name"], class_id, roman(term), len(facts["names"]))
            confirming = _confirming(
                facts, "ky-bang-diem", what, text["confirm_sheet_button"], remote=remote_offered(runtime)
            )
            return await _sheet(request, state, school, class_id, subject, term, facts=facts, confirming=confirming)
        signed = await signed_one(request, state, school, form, prepared)
        await submit_sheet(
            ledger_of(state),
            school,
            actor_for(principal, "SUBJECT_TEACHER"),
            year,
            class_id,
            subject,
            term,
            signed,
            runtime.trusted_roots(),
            runtime.crls(),
        )
    except DomainError as error:
        return await _sheet(
            request, state, school, class_id, subject, term, error.status, **refusal_message(request, error)
        )
    return Redirect(f"{_sheet_path(school, class_id, subject, term)}?year={year}&ky=1", status_code=303)


@post(
    SHEET_PAGE + "/ky-hoc-ba",
    operation_id="page_sheet_sign_hocba",
    opt=page("signature.write"),
    status_code=303,
    include_in_schema=False,
)
async def sheet_sign_hocba(
    request: Request[Any, Any, Any], state: State, school: SchoolId, class_id: ClassId, subject: SubjectCode, term: Term
) -> Response[Any]:
    """The subject teacher signs their subject in every học bạ of the class that may be signed now
    (Điều 18.3): the first press names them, or says why none can be yet; the confirmation signs."""
    form = await form_of(request)
    year = need_year(request)
    runtime = runtime_of(state)
    names = await roster_names(runtime, school, year, class_id)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        refusals = await signing_refusals(
            conn, school, year, list(names), "SUBJECT_TEACHER", subject, runtime.clock.now()
        )
    waiting = {s: e for s, e in refusals.items() if e is None or e.code != "signature.done"}
    ready = [s for s, e in waiting.items() if e is None]
    if not ready:
        first = next((e for e in waiting.values() if e is not None), None)
        if first is None:
            return Redirect(f"{_sheet_path(school, class_id, subject, term)}?year={year}&ky=0", status_code=303)
        return await _sheet(
            request, state, school, class_id, subject, term, first.status, **refusal_message(request, first)
        )
    if form.get("confirm") != "1":
        facts = await _sheet_facts(request, state, school, class_id, subject, term)
        text = text_of(request)
        what = text["confirm_hocba_subject"] % (facts["subject"]["name"], year, len(ready), class_id)
        chosen = [names[s] for s in ready]
        button = text["confirm_button"] % len(ready)
        confirming = _confirming(
            facts,
            "ky-hoc-ba",
            what,
            button,
            names=chosen,
            left_out=len(waiting) - len(ready),
            remote=remote_offered(runtime),
            token=token_batch(school, year, class_id, "SUBJECT_TEACHER", subject, ready),
        )
        return await _sheet(request, state, school, class_id, subject, term, facts=facts, confirming=confirming)
    if by_remote_key(form):  # the whole batch under one authorisation at the remote-signing service
        try:
            count = await sign_class_remotely(
                request, state, school, year, class_id, "SUBJECT_TEACHER", subject, ready, form
            )
        except DomainError as error:
            return await _sheet(
                request, state, school, class_id, subject, term, error.status, **refusal_message(request, error)
            )
        return Redirect(f"{_sheet_path(school, class_id, subject, term)}?year={year}&ky={count}", status_code=303)
    count = 0
    for student in ready:
        try:
            await sign_hocba(request, state, school, year, student, "SUBJECT_TEACHER", subject)
            count += 1
        except Conflict:
            continue  # signed meanwhile
        except DomainError as error:
            return await _sheet(
                request, state, school, class_id, subject, term, error.status, **refusal_message(request, error)
            )
    return Redirect(f"{_sheet_path(school, class_id, subject, term)}?year={year}&ky={count}", status_code=303)


def _confirming(facts: dict[str, Any], action: str, what: str, button: str, **more: Any) -> dict[str, Any]:
    """The confirmation a sign button of this sheet asks for first (toolkit.confirmation)."""
    path, year = facts["sheet_path"], facts["year"]
    return confirmation(what, button, f"{path}/{action}?year={year}", f"{path}?year={year}", **more)


def _dry_run(plan: dict[str, Any], facts: dict[str, Any], text: dict[str, str], data: bytes) -> dict[str, Any]:
    """The dry run as the page shows it: what the file says it is, and the file laid out as the grid,
    a row per pupil by name and a column per assessment by its name, each cell new, the same as the
    ledger, or different from it (a correction request on confirmation, Điều 17.3); and the file
    itself, to be sent back on confirmation."""
    pending = {(p["row"], p["column"]) for p in plan["proposals"] if p["request"]}
    shown = list(facts["cells"])
    if any(cell["kind"] == "comment" for cell in plan["cells"]):
        shown.append(("comment", 0))
    pupils: dict[str, dict[str, Any]] = {}
    for cell in plan["cells"]:
        pupil = pupils.setdefault(
            cell["student"],
            {"name": facts["names"].get(cell["student"], cell["student"]), "row": cell["row"], "cells": {}},
        )
        outcome = "pending" if (cell["row"], cell["column"]) in pending else cell["status"]
        pupil["cells"][(cell["kind"], cell["slot"] or 0)] = {**cell, "outcome": outcome}
    fields = {name: text[f"field_{name}"] for name in ("subject", "class", "term", "year")}
    counts = plan["counts"]
    requests = len(plan["proposals"]) - len(pending)
    deadline = plan["deadline"]
    return {
        "file": plan["file"],
        "data": base64.b64encode(data).decode(),
        "stated": [f"{fields[name]} {s['text']} ({s['where']})" for name, s in plan["stated"].items()],
        "unstated": ", ".join(fields[name] for name in plan["unstated"]),
        "left_aside": ", ".join(plan["left_aside"]),
        "counts": counts,
        "columns": [((kind, slot), _column({"kind": kind, "slot": slot}, text)) for kind, slot in shown],
        "pupils": list(pupils.values()),
        "deadline": deadline,
        # Past the entry window a new value is refused on confirmation as it is when typed (Điều 33.3c).
        "can_confirm": bool(counts["new"] or requests) and not (deadline and counts["new"]),
    }


async def _import(
    request: Request[Any, Any, Any],
    state: State,
    school: str,
    class_id: str,
    subject: str,
    term: int,
    data: bytes,
    file: str,
    *,
    dry_run: bool,
) -> Response[Any]:
    """The API's import of a gradebook file into this sheet: the dry run shown on the sheet page, or
    the file written and the sheet shown again with what was written."""
    year = need_year(request)
    target = {"year": year, "class_id": class_id, "subject": subject, "term": term}
    try:
        plan = await imported(request, state, school, target, data, file, dry_run=dry_run)
    except DomainError as error:  # the file is refused whole, naming its row and column: nothing is written
        return await _sheet(
            request, state, school, class_id, subject, term, error.status, **refusal_message(request, error)
        )
    if not dry_run:
        written, requests = plan["counts"]["new"], len(plan["proposals"])
        counts = f"nhap={written}&de-nghi={requests}"
        return Redirect(f"{_sheet_path(school, class_id, subject, term)}?year={year}&{counts}", status_code=303)
    facts = await _sheet_facts(request, state, school, class_id, subject, term)
    return await _sheet(
        request,
        state,
        school,
        class_id,
        subject,
        term,
        facts=facts,
        dry_run=_dry_run(plan, facts, text_of(request), data),
    )


@post(
    SHEET_PAGE + "/nhap-tep",
    operation_id="page_sheet_import_check",
    opt=page("sheet.write"),
    status_code=200,
    include_in_schema=False,
    request_max_body_size=IMPORT_BODY,
)
async def sheet_import_check(
    request: Request[Any, Any, Any], state: State, school: SchoolId, class_id: ClassId, subject: SubjectCode, term: Term
) -> Response[Any]:
    """A dry run of the uploaded file against this sheet: nothing is written."""
    await form_of(request)
    upload = (await request.form()).get("file")
    data = await upload.read() if isinstance(upload, UploadFile) else b""
    if not data or not isinstance(upload, UploadFile):
        entry_of(request).reason = "import.no_file"
        error = text_of(request)["import_no_file"]
        return await _sheet(request, state, school, class_id, subject, term, 422, error=error)
    file = upload.filename.replace("\\", "/").rsplit("/", 1)[-1][:200] or "tep"
    return await _import(request, state, school, class_id, subject, term, data, file, dry_run=True)


@post(
    SHEET_PAGE + "/nhap-vao-so",
    operation_id="page_sheet_import",
    opt=page("sheet.write"),
    status_code=303,
    include_in_schema=False,
    request_max_body_size=IMPORT_BODY,
)
async def sheet_import(
    request: Request[Any, Any, Any], state: State, school: SchoolId, class_id: ClassId, subject: SubjectCode, term: Term
) -> Response[Any]:
    """The file of the dry run, sent back by its page, written: checked again from the start, all or
    nothing."""
    form = await form_of(request)
    try:
        data = base64.b64decode(form.get("data", ""), validate=True)
    except binascii.Error:
        data = b""
    if not data:
        entry_of(request).reason = "import.no_file"
        error = text_of(request)["import_lost"]
        return await _sheet(request, state, school, class_id, subject, term, 422, error=error)
    file = form.get("file", "")[:200] or "tep"
    return await _import(request, state, school, class_id, subject, term, data, file, dry_run=False)
