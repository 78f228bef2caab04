"""Pages of the school's daily work: leadership's inbox of correction requests (Điều 17.3), the
calendar and entry locks (Điều 33.3c, 36.2), the signing board of a class (Điều 18, 24.5), and the
teacher's grade-entry sheet with its sign buttons. Each page calls the same ledger commands as the
API, so every rule of the regulation applies unchanged; a refusal is shown with its reason and, for
a grade, the way forward (a correction request)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import select

from api.pages import (
    SCHOOL_PAGE,
    form_of,
    here,
    lang_of,
    may,
    page,
    principal_or_none,
    render,
    staff_names,
    text_of,
)
from api.routes import (
    ClassId,
    CorrectionIn,
    SchoolId,
    SubjectCode,
    Term,
    check_signer,
    decide_correction,
    file_correction,
    prepare_for,
    signer_of,
)
from api.web import actor_for, entry_of, ledger_of, principal_of, runtime_of, year_of
from ledger.app.db import AUDITOR_ROLE
from ledger.app.runtime import Runtime
from ledger.base.errors import Conflict, DomainError, NotFound, Refused, ValidationError
from ledger.format.envelope import Event
from ledger.log.projection import read
from ledger.school.assessments import SheetEntry, assessments, record_sheet, subject_comments, value_text
from ledger.school.calendar import Calendar, Change, LockScope, calendars, locks, refusal_now, set_lock
from ledger.school.class_sheets import prepare as prepare_sheet
from ledger.school.class_sheets import status as sheet_status
from ledger.school.class_sheets import submit as submit_sheet
from ledger.school.corrections import assessment_target, corrections, value_history
from ledger.school.rules.policy import Principal
from ledger.school.rules.tt22 import Kind
from ledger.school.signatures import pdf_document, signatures, submit_pdf
from ledger.school.signatures import submit as submit_signature
from ledger.school.years import classes, enrolments, students, subjects
from signing.x509.pki import PkiError, ServiceSigner
from signing.xml import document as hocba_xml

CLASS_PAGE = SCHOOL_PAGE + "/lop/{class_id:str}"
SHEET_PAGE = CLASS_PAGE + "/mon/{subject:str}/hoc-ky/{term:int}"
STATUSES = ("pending", "approved", "rejected", "expired")


def _need_year(request: Request[Any, Any, Any]) -> str:
    year = year_of(request)
    if year is None:
        raise NotFound("year.unknown", "trường chưa mở năm học nào", "the school has opened no school year")
    return year


async def student_names(conn: Any, school: str, ids: list[str]) -> dict[str, str]:
    rows = await conn.execute(
        select(students.c.student_id, students.c.full_name).where(
            students.c.school_id == school, students.c.student_id.in_(ids), students.c.seq_to.is_(None)
        )
    )
    return {row[0]: row[1] for row in rows}


async def roster_names(runtime: Runtime, school: str, year: str, class_id: str) -> dict[str, str]:
    """The students enrolled in the class now, by personal identifier, with their names, in order."""
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        enrolled = [r["student_id"] for r in await read(conn, enrolments, school, year=year, class_id=class_id)
                    if r["until"] is None]  # fmt: skip
        names = await student_names(conn, school, enrolled)
    return {sid: names.get(sid, sid) for sid in sorted(enrolled, key=lambda s: (_given_name(names.get(s) or s), s))}


def _given_name(full_name: str) -> tuple[str, str]:
    """Vietnamese class lists are ordered by given name, then family name."""
    parts = full_name.split()
    return (parts[-1] if parts else "", full_name)


async def class_subjects(runtime: Runtime, school: str, year: str, class_id: str) -> list[dict[str, Any]]:
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        found = await read(conn, classes, school, year=year, class_id=class_id)
        if not found:
            raise NotFound("class.unknown", f"không có lớp {class_id} năm học {year}", f"no class {class_id} in {year}")
        return await read(conn, subjects, school, year=year, grade=found[0]["grade"], order_by=["code"])


# --- the demo signer -------------------------------------------------------------------------------


def demo_keys(runtime: Runtime, school: str, holder: str | None) -> ServiceSigner:
    """The signer's demo key and certificate (`hocba demo` writes one for every signer). A school in
    production signs on the signer's own token (`hocba signing prepare/submit`), never on the server."""
    if runtime.settings.production:
        raise Refused(
            "signing.demo_only",
            "Ký trên trang chỉ dùng trong bản thử nghiệm; hãy ký bằng thiết bị ký số của bạn (hocba signing).",
            "Signing on the page is for the demo only; sign with your own token (hocba signing).",
            rule="Điều 8",
        )
    try:
        return runtime.pki.load_holder(school, holder or "")
    except (OSError, ValueError, PkiError):
        raise NotFound(
            "signing.no_demo_key",
            f"Không có khóa ký thử nghiệm của {holder}.",
            f"There is no demo signing key for {holder}.",
        ) from None


def _sign(runtime: Runtime, school: str, holder: str | None, prepared: bytes) -> bytes:
    keys = demo_keys(runtime, school, holder)
    return hocba_xml.sign_prepared(prepared, keys.key, keys.certificate, signing_time=runtime.clock.now())


async def sign_hocba(
    request: Request[Any, Any, Any], state: State, school: str, year: str, student: str, role: str,
    subject: str | None,
) -> Event:  # fmt: skip
    """One học bạ signature through prepare → sign (the demo signer) → submit, as a signer's own
    software does it; the service checks the signed document exactly as it checks any other."""
    runtime = runtime_of(state)
    prepared = await prepare_for(request, state, school, year, student, role, subject)
    principal = principal_of(request)
    holder = "organisation" if role == "ORGANISATION" else principal.staff_id
    signed = _sign(runtime, school, holder, prepared["document"])
    return await submit_signature(
        ledger_of(state), school, signer_of(request), year, student, signed, runtime.trusted_roots(), runtime.crls()
    )


async def sign_pdf_hocba(request: Request[Any, Any, Any], state: State, school: str, year: str, student: str,
                         role: str) -> Event:  # fmt: skip
    """The principal's signature or the school's seal on the PDF học bạ (Điều 13), with a timestamp of
    the demo time-stamping authority; checked by the service like any other signed PDF."""
    from signing.pdf.document import local_time_stamper, sign_pdf

    runtime = runtime_of(state)
    principal = principal_of(request)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        await check_signer(conn, principal, school, year, student, role, None)
        current, done = await pdf_document(conn, school, year, student)
    if role in {r["role"] for r in done}:
        raise Conflict("signature.done", "Phần này đã được ký và chưa thay đổi.",
                       "This part is already signed and has not changed since.")  # fmt: skip
    keys = demo_keys(runtime, school, "organisation" if role == "ORGANISATION" else principal.staff_id)
    try:
        stamper = local_time_stamper(runtime.pki)
    except (OSError, PkiError):
        raise NotFound("signing.no_tsa", "Không có đơn vị cấp dấu thời gian thử nghiệm.",
                       "There is no demo time-stamping authority.") from None  # fmt: skip
    signed = await sign_pdf(
        current, keys.key, keys.certificate, chain=runtime.trusted_roots(),
        appearance="principal" if role == "PRINCIPAL" else "seal", role=role,
        signer_name=keys.certificate.subject.rfc4514_string(), signing_time=runtime.clock.now(),
        time_stamper=stamper, field_name=f"ky-{role.lower()}",
    )  # fmt: skip
    return await submit_pdf(
        ledger_of(state), school, signer_of(request), year, student, signed, runtime.trusted_roots(), runtime.crls()
    )


# --- leadership: the inbox of correction requests ------------------------------------------------


def _describe(target: dict[str, Any], subject_names: dict[str, str], text: dict[str, str]) -> str:
    if target["what"] == "conduct":
        return f"{text['what_conduct']}, {text['term'].lower()} {target['term']}"
    slot = f" {target['slot']}" if target.get("slot") else ""
    name = subject_names.get(target["subject"], target["subject"])
    return f"{name}, {text['term'].lower()} {target['term']}, {text[target['kind']]}{slot}"


async def _inbox(
    request: Request[Any, Any, Any], state: State, school: str, status: int = 200, **extra: Any
) -> Template:
    runtime = runtime_of(state)
    shown = request.query_params.get("trang-thai", "pending")
    filters: dict[str, Any] = {"status": shown} if shown in STATUSES else {}
    text = text_of(request)
    names = await staff_names(runtime, school)
    items = []
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        rows = await read(conn, corrections, school, order_by=["requested_at"], **filters)
        rows = list(reversed(rows))[:100]
        subject_names = {r["code"]: r["name"] for r in await read(conn, subjects, school)}
        student_ids = sorted({r["target"]["student"] for r in rows})
        names_of = await student_names(conn, school, student_ids)
        for row in rows:
            target = row["target"]
            items.append({
                **row, "id": str(row["request_id"]), "what": _describe(target, subject_names, text),
                "student_name": names_of.get(target["student"], target["student"]),
                "requester": names.get(row["requested_by"], row["requested_by"]),
                "decider": names.get(row["decided_by"] or "", row["decided_by"]),
                "history": await value_history(conn, school, target),
            })  # fmt: skip
    entry_of(request).touch(r["target"]["student"] for r in rows)
    return render(
        request, "inbox.html", "inbox", status, school=school, items=items, shown=shown, statuses=STATUSES,
        names=names, can_decide=may(principal_or_none(request), "correction.decide"), **extra,
    )  # fmt: skip


def _message(request: Request[Any, Any, Any], error: DomainError) -> dict[str, Any]:
    entry_of(request).reason = error.code
    return {"error": error.vi if lang_of(request) == "vi" else error.en, "rule": error.rule}


@get(SCHOOL_PAGE + "/dieu-chinh", operation_id="page_inbox", opt=page("correction.read"), include_in_schema=False)
async def inbox(request: Request[Any, Any, Any], state: State, school: SchoolId) -> Template:
    done = request.query_params.get("xong")
    notice = text_of(request).get(f"done_{done}") if done in ("approved", "rejected") else None
    return await _inbox(request, state, school, notice=notice)


@post(
    SCHOOL_PAGE + "/dieu-chinh/{request_id:uuid}", operation_id="page_decide", opt=page("correction.decide"),
    status_code=303, include_in_schema=False,
)  # fmt: skip
async def decide(
    request: Request[Any, Any, Any], state: State, school: SchoolId, request_id: FromPath[uuid.UUID]
) -> Response[Any]:
    form = await form_of(request)
    decision = form.get("decision")
    try:
        if decision not in ("approve", "reject"):
            raise ValidationError("decision.kind", "hãy chọn phê duyệt hoặc từ chối", "choose approve or reject")
        await decide_correction(request, state, school, request_id, decision == "approve", form.get("reason", ""))
    except DomainError as error:
        return await _inbox(request, state, school, error.status, **_message(request, error))
    outcome = "approved" if decision == "approve" else "rejected"
    return Redirect(f"/truong/{school}/dieu-chinh?xong={outcome}", status_code=303)


# --- the calendar and the locks ------------------------------------------------------------------


def _window_state(now: Any, opens: Any, closes: Any) -> str:
    return "not_yet" if now < opens else "closed_now" if now > closes else "open_now"


async def _calendar(
    request: Request[Any, Any, Any], state: State, school: str, status: int = 200, **extra: Any
) -> Template:
    runtime = runtime_of(state)
    year = _need_year(request)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        rows = await read(conn, calendars, school, year=year)
        lock_rows = await read(conn, locks, school, year=year)
    calendar = Calendar.from_payload(rows[0]["calendar"]) if rows else None
    now = runtime.clock.now()
    windows = (
        [(term, w, _window_state(now, w.opens, w.closes)) for term, w in sorted(calendar.entry.items())]
        if calendar else []
    )  # fmt: skip
    shown_locks = [{**row, "scope": LockScope(year, row["class_id"], row["subject"], row["term"]).describe()}
                   for row in lock_rows]  # fmt: skip
    return render(
        request, "calendar.html", "calendar", status, school=school, calendar=calendar, windows=windows,
        locks=shown_locks, can_lock=may(principal_or_none(request), "lock.set"), now=now,
        class_ids=sorted(await _class_ids(runtime, school, year)), **extra,
    )  # fmt: skip


async def _class_ids(runtime: Runtime, school: str, year: str) -> list[str]:
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        return [r["class_id"] for r in await read(conn, classes, school, year=year)]


@get(SCHOOL_PAGE + "/lich", operation_id="page_calendar", opt=page("calendar.read"), include_in_schema=False)
async def calendar_page(request: Request[Any, Any, Any], state: State, school: SchoolId) -> Template:
    done = text_of(request)["lock_done"] if request.query_params.get("xong") else None
    return await _calendar(request, state, school, notice=done)


@post(SCHOOL_PAGE + "/lich/khoa", operation_id="page_lock", opt=page("lock.set"), status_code=303,
      include_in_schema=False)  # fmt: skip
async def lock_page(request: Request[Any, Any, Any], state: State, school: SchoolId) -> Response[Any]:
    form = await form_of(request)
    year = _need_year(request)
    try:
        term = form.get("term") or "0"
        if not term.isdigit():
            raise ValidationError("lock.term", "học kì là 1 hoặc 2", "the term is 1 or 2", field="term")
        scope = LockScope(year, form.get("class_id") or "*", (form.get("subject") or "*").upper(), int(term))
        await set_lock(
            ledger_of(state), school, actor_for(principal_of(request), "ADMIN"), scope,
            closed=form.get("state") != "open", order=form.get("order", ""), ordered_by=form.get("ordered_by", ""),
        )  # fmt: skip
    except DomainError as error:
        return await _calendar(request, state, school, error.status, **_message(request, error))
    return Redirect(f"/truong/{school}/lich?year={year}&xong=1", status_code=303)


# --- the grade-entry sheet -----------------------------------------------------------------------


def _cells(subject: dict[str, Any]) -> list[tuple[str, int]]:
    """The columns of a sheet: each regular assessment, the midterm and the final (TT22 Đ.6, Đ.7)."""
    return [("regular", n) for n in range(1, int(subject["regular_count"]) + 1)] + [("midterm", 0), ("final", 0)]


def _field(student: str, kind: str, slot: int) -> str:
    return f"c-{student}-{kind}-{slot}"


async def _sheet_facts(
    request: Request[Any, Any, Any], state: State, school: str, class_id: str, subject: str, term: int
) -> dict[str, Any]:
    runtime = runtime_of(state)
    year = _need_year(request)
    catalogue = {s["code"]: s for s in await class_subjects(runtime, school, year, class_id)}
    if subject not in catalogue:
        raise NotFound("subject.unknown", f"lớp {class_id} không học môn {subject}", f"{class_id} has no {subject}")
    names = await roster_names(runtime, school, year, class_id)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        rows = await read(conn, assessments, school, year=year, subject=subject, term=term, class_id=class_id)
        comments = await read(conn, subject_comments, school, year=year, subject=subject, term=term, class_id=class_id)
        calendar_rows = await read(conn, calendars, school, year=year)
        signed = await sheet_status(conn, school, year, class_id, subject, term)
    recorded = {_field(r["student_id"], r["kind"], r["slot"] or 0): r["value"] for r in rows}
    entry_of(request).touch(names)
    window = Calendar.from_payload(calendar_rows[0]["calendar"]).entry.get(term) if calendar_rows else None

    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        refused = await refusal_now(conn, school, runtime.clock, Change.ENTRY, year=year, term=term,
                                    class_id=class_id, subject=subject, students=list(names))  # fmt: skip
    refusal = _message(request, refused)["error"] if refused is not None else None
    principal = principal_or_none(request)
    target = {"year": year, "class_id": class_id, "subject": subject, "term": term}
    return {
        "school": school, "class_id": class_id, "subject": catalogue[subject], "term": term, "names": names,
        "cells": _cells(catalogue[subject]), "recorded": recorded, "comments": {r["student_id"]: r["text"] for r
        in comments}, "window": window, "refusal": refusal, "signed": signed, "now": runtime.clock.now(),
        "can_write": may(principal, "sheet.write", **target), "can_sign": may(principal, "signature.write", **target),
        "scored": catalogue[subject]["kind"] == Kind.SCORE.value, "field": _field,
    }  # fmt: skip


def _title(facts: dict[str, Any], text: dict[str, str]) -> str:
    subject = facts["subject"]["name"]
    return f"{text['sheet']} — {text['class']} {facts['class_id']}, {subject}, {text['term']} {facts['term']}"


async def _sheet(
    request: Request[Any, Any, Any], state: State, school: str, class_id: str, subject: str, term: int,
    status: int = 200, *, facts: dict[str, Any] | None = None, **extra: Any,
) -> Template:  # fmt: skip
    """The sheet page; `facts` when the caller has just read them and nothing was appended since."""
    facts = facts or await _sheet_facts(request, state, school, class_id, subject, term)
    return render(request, "sheet.html", "sheet", status, heading=_title(facts, text_of(request)),
                  **{**facts, "typed": {}, "invalid": {}, "proposals": [], **extra})  # fmt: skip


@get(SHEET_PAGE, operation_id="page_sheet", opt=page("sheet.read"), include_in_schema=False)
async def sheet_page(
    request: Request[Any, Any, Any], state: State, school: SchoolId, class_id: ClassId, subject: SubjectCode, term: Term
) -> Template:
    text = text_of(request)
    query = request.query_params
    notice = (text["saved"] % query["luu"] if "luu" in query else text["filed"] if "dieu-chinh" in query
              else text["signed_count"] % query["ky"] if "ky" in query else None)  # fmt: skip
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
    for student in facts["names"]:
        for cell_kind, slot in facts["cells"]:
            name = _field(student, cell_kind, slot)
            value, before = form.get(name, ""), facts["recorded"].get(name)
            typed[name] = value
            if not value or value == before:
                continue
            try:
                stored = value_text(kind, value, name)
            except DomainError as error:
                invalid[name] = _message(request, error)["error"]
                continue
            if stored == before:
                continue
            entries.append(SheetEntry(student, cell_kind, value, slot or None))
            proposals.append({"student": student, "name": facts["names"][student], "kind": cell_kind,
                              "slot": slot, "old": before or "", "new": value})  # fmt: skip
    entry_of(request).touch(e.student for e in entries)
    if invalid:
        return await _sheet(request, state, school, class_id, subject, term, 422, facts=facts, typed=typed,
                            invalid=invalid, error=text_of(request)["invalid_value"])  # fmt: skip
    if not entries:
        return await _sheet(request, state, school, class_id, subject, term, facts=facts,
                            notice=text_of(request)["nothing_changed"])  # fmt: skip
    try:
        events = await record_sheet(
            ledger_of(state), school, actor_for(principal_of(request), "SUBJECT_TEACHER"), year=_need_year(request),
            term=term, class_id=class_id, subject=subject, entries=entries,
        )  # fmt: skip
    except DomainError as error:
        return await _sheet(request, state, school, class_id, subject, term, error.status, facts=facts, typed=typed,
                            proposals=proposals, **_message(request, error))  # fmt: skip
    return Redirect(here(request, luu=str(len(events))), status_code=303)


@post(SHEET_PAGE + "/dieu-chinh", operation_id="page_sheet_correction", opt=page("correction.file.sheet"),
      status_code=303, include_in_schema=False)  # fmt: skip
async def sheet_correction(
    request: Request[Any, Any, Any], state: State, school: SchoolId, class_id: ClassId, subject: SubjectCode, term: Term
) -> Response[Any]:
    form = await form_of(request)
    year = _need_year(request)
    slot = form.get("slot", "0")
    try:
        data = CorrectionIn(
            student=form.get("student", ""), new_value=form.get("new_value", ""), reason=form.get("reason", ""),
            old_value=form.get("old_value") or None, kind=form.get("kind"),  # type: ignore[arg-type]
            slot=int(slot) if slot.isdigit() and slot != "0" else None,
        )  # fmt: skip
        entry_of(request).touch([data.student])
        target = assessment_target(year, term, class_id, subject, data.student, data.kind, data.slot)
        await file_correction(request, state, school, "SUBJECT_TEACHER", target, data)
    except DomainError as error:
        return await _sheet(request, state, school, class_id, subject, term, error.status, **_message(request, error))
    return Redirect(f"/truong/{school}/lop/{class_id}/mon/{subject}/hoc-ky/{term}?year={year}&dieu-chinh=1",
                    status_code=303)  # fmt: skip


@post(SHEET_PAGE + "/ky-bang-diem", operation_id="page_sheet_sign", opt=page("sheet.write"), status_code=303,
      include_in_schema=False)  # fmt: skip
async def sheet_sign(
    request: Request[Any, Any, Any], state: State, school: SchoolId, class_id: ClassId, subject: SubjectCode, term: Term
) -> Response[Any]:
    """The subject teacher signs the class sheet (Điều 18.3): prepare → demo signer → submit."""
    await form_of(request)
    runtime = runtime_of(state)
    year = _need_year(request)
    principal = principal_of(request)
    try:
        async with runtime.engine(AUDITOR_ROLE).connect() as conn:
            prepared = await prepare_sheet(conn, school, year, class_id, subject, term, runtime.clock.now().date())
        signed = _sign(runtime, school, principal.staff_id, prepared)
        await submit_sheet(
            ledger_of(state), school, actor_for(principal, "SUBJECT_TEACHER"), year, class_id, subject, term, signed,
            runtime.trusted_roots(), runtime.crls(),
        )  # fmt: skip
    except DomainError as error:
        return await _sheet(request, state, school, class_id, subject, term, error.status, **_message(request, error))
    return Redirect(f"/truong/{school}/lop/{class_id}/mon/{subject}/hoc-ky/{term}?year={year}&ky=1", status_code=303)


@post(SHEET_PAGE + "/ky-hoc-ba", operation_id="page_sheet_sign_hocba", opt=page("signature.write"),
      status_code=303, include_in_schema=False)  # fmt: skip
async def sheet_sign_hocba(
    request: Request[Any, Any, Any], state: State, school: SchoolId, class_id: ClassId, subject: SubjectCode, term: Term
) -> Response[Any]:
    """The subject teacher signs their subject in every học bạ of the class that still lacks it."""
    await form_of(request)
    year = _need_year(request)
    names = await roster_names(runtime_of(state), school, year, class_id)
    count = 0
    for student in names:
        try:
            await sign_hocba(request, state, school, year, student, "SUBJECT_TEACHER", subject)
            count += 1
        except Conflict:
            continue  # already signed and unchanged
        except DomainError as error:
            return await _sheet(request, state, school, class_id, subject, term, error.status,
                                **_message(request, error))  # fmt: skip
    return Redirect(
        f"/truong/{school}/lop/{class_id}/mon/{subject}/hoc-ky/{term}?year={year}&ky={count}", status_code=303
    )


# --- the signing board of a class ----------------------------------------------------------------

# What the board signs: role value sent by the form -> (document, signing role, the grid column).
BOARD_ROLES = {
    "HOMEROOM_TEACHER": ("xml", "HOMEROOM_TEACHER", "HOMEROOM_TEACHER:"),
    "PRINCIPAL": ("xml", "PRINCIPAL", "PRINCIPAL:"),
    "ORGANISATION": ("xml", "ORGANISATION", "ORGANISATION:"),
    "PDF_PRINCIPAL": ("pdf", "PRINCIPAL", "pdf:PRINCIPAL"),
    "PDF_ORGANISATION": ("pdf", "ORGANISATION", "pdf:ORGANISATION"),
}


def _board_cell(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The state of one signature: the newest one made, and whether a change came after it."""
    if not rows:
        return {"state": "unsigned"}
    newest = max(rows, key=lambda r: r["position"])
    return {"state": "stale" if newest["stale"] else "signed", "signer": newest["signer"],
            "at": newest["signing_time"]}  # fmt: skip


def _own_roles(principal: Principal | None, year: str, class_id: str) -> list[str]:
    """The board roles the signed-in person signs in for this class."""
    if principal is None:
        return []
    held = {g.role.value for g in principal.grants if g.role.value != "HOMEROOM_TEACHER" or
            (g.year, g.class_id) == (year, class_id)}  # fmt: skip
    wanted = {"HOMEROOM_TEACHER": ["HOMEROOM_TEACHER"], "PRINCIPAL": ["PRINCIPAL", "PDF_PRINCIPAL"],
              "CLERK": ["ORGANISATION", "PDF_ORGANISATION"]}  # fmt: skip
    return [role for held_role, roles in wanted.items() if held_role in held for role in roles]


async def _board(
    request: Request[Any, Any, Any], state: State, school: str, class_id: str, status: int = 200, **extra: Any
) -> Template:
    runtime = runtime_of(state)
    year = _need_year(request)
    subject_rows = await class_subjects(runtime, school, year, class_id)
    names = await roster_names(runtime, school, year, class_id)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        rows = await conn.execute(
            select(signatures).where(
                signatures.c.school_id == school, signatures.c.year == year,
                signatures.c.student_id.in_(list(names)), signatures.c.seq_to.is_(None),
            )
        )  # fmt: skip
        made = [dict(r) for r in rows.mappings()]
        sheets = {(s["code"], term): await sheet_status(conn, school, year, class_id, s["code"], term)
                  for s in subject_rows for term in (1, 2)}  # fmt: skip
    entry_of(request).touch(names)
    grid: dict[str, dict[str, Any]] = {}
    columns = [(f"SUBJECT_TEACHER:{s['code']}", s["name"]) for s in subject_rows]
    columns += [("HOMEROOM_TEACHER:", "homeroom"), ("PRINCIPAL:", "principal"), ("ORGANISATION:", "seal"),
                ("pdf:PRINCIPAL", "pdf_principal"), ("pdf:ORGANISATION", "pdf_seal")]  # fmt: skip
    for student in names:
        mine = [r for r in made if r["student_id"] == student]
        grid[student] = {}
        for key, _ in columns:
            role, _, subject = key.partition(":")
            if role == "pdf":
                found = [r for r in mine if r["format"] == "pdf" and r["role"] == subject]
            else:
                found = [
                    r for r in mine if r["format"] == "xml" and r["role"] == role and (r["subject"] or "") == subject
                ]
            grid[student][key] = _board_cell(found)
    own_roles = _own_roles(principal_or_none(request), year, class_id)
    pending = {role: any(grid[s][BOARD_ROLES[role][2]]["state"] != "signed" for s in names) for role in own_roles}
    return render(
        request, "board.html", "board", status, heading=f"{text_of(request)['board']} — {class_id}",
        school=school, class_id=class_id, names=names, columns=columns, grid=grid, sheets=sheets,
        subjects=subject_rows, own_roles=own_roles, pending=pending, board_roles=BOARD_ROLES,
        staff=await staff_names(runtime, school), **extra,
    )  # fmt: skip


@get(CLASS_PAGE + "/ky-so", operation_id="page_board", opt=page("class.read"), include_in_schema=False)
async def board(request: Request[Any, Any, Any], state: State, school: SchoolId, class_id: ClassId) -> Template:
    signed = request.query_params.get("ky")
    notice = text_of(request)["signed_count"] % signed if signed else None
    return await _board(request, state, school, class_id, notice=notice)


@post(CLASS_PAGE + "/ky-so", operation_id="page_board_sign", opt=page("signature.write"), status_code=303,
      include_in_schema=False)  # fmt: skip
async def board_sign(
    request: Request[Any, Any, Any], state: State, school: SchoolId, class_id: ClassId
) -> Response[Any]:
    form = await form_of(request)
    year = _need_year(request)
    role = form.get("role", "")
    names = await roster_names(runtime_of(state), school, year, class_id)
    chosen = [form["student"]] if form.get("student") else list(names)
    count = 0
    try:
        if role not in BOARD_ROLES:
            raise ValidationError("signature.role", "vai trò ký không hợp lệ", "unknown signing role", field="role")
        for student in chosen:
            if student not in names:
                raise NotFound("student.not_enrolled", f"học sinh không học lớp {class_id}",
                               f"the student is not in {class_id}")  # fmt: skip
            document, signing_role, _ = BOARD_ROLES[role]
            try:
                if document == "pdf":
                    await sign_pdf_hocba(request, state, school, year, student, signing_role)
                else:
                    await sign_hocba(request, state, school, year, student, signing_role, None)
                count += 1
            except Conflict:
                continue
    except DomainError as error:
        return await _board(request, state, school, class_id, error.status, **_message(request, error))
    return Redirect(f"/truong/{school}/lop/{class_id}/ky-so?year={year}&ky={count}", status_code=303)


STAFF_PAGES = [inbox, decide, calendar_page, lock_page, sheet_page, sheet_save, sheet_correction, sheet_sign,
               sheet_sign_hocba, board, board_sign]  # fmt: skip
