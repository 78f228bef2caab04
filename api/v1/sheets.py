"""A class × subject × term sheet: read, entered, imported from the school-management software,
reconciled, and signed by its subject teacher (Điều 18.3)."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, get, post
from litestar.datastructures import State
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from api.http.media import SPREADSHEETS, documented
from api.http.problems import ERRORS, UPLOAD_ERRORS
from api.http.scope import actor_for, entry_of, ledger_of, principal_of, runtime_of
from api.v1.params import SCHOOL, ClassId, SchoolId, SubjectCode, Term, Year, appended
from api.v1.signatures import SignedIn, class_signature_answer, signed_body
from ledger.app.db import AUDITOR_ROLE
from ledger.app.uploads import gradebook
from ledger.log.projection import read
from ledger.school.assessments.commands import (
    SheetEntry,
    record_sheet,
)
from ledger.school.assessments.tables import assessments, subject_comments
from ledger.school.class_sheets.commands import prepare_sheet, submit_sheet
from ledger.school.class_sheets.queries import sheet_status
from ledger.school.imports.gradebook import import_sheet, reconcile


@get(
    f"{SCHOOL}/classes/{{class_id:str}}/sheets/{{subject:str}}/{{term:str}}",
    operation_id="sheet_read",
    opt={"action": "sheet.read"},
    responses=ERRORS,
    summary="The entries of one class × subject × term sheet",
)
async def sheet_read(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    class_id: ClassId,
    subject: SubjectCode,
    term: Term,
    year: Year,
) -> dict[str, Any]:
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        rows = await read(conn, assessments, school, year=year, subject=subject, term=term, class_id=class_id)
        comments = await read(conn, subject_comments, school, year=year, subject=subject, term=term, class_id=class_id)
    entry_of(request).touch(r["student_id"] for r in rows)
    entries = [
        {"student": r["student_id"], "kind": r["kind"], "slot": r["slot"] or None, "value": r["value"]} for r in rows
    ]
    entries += [{"student": r["student_id"], "kind": "comment", "slot": None, "value": r["text"]} for r in comments]
    return {"year": year, "class": class_id, "subject": subject, "term": term, "entries": entries}


class EntryIn(msgspec.Struct):
    student: str
    kind: Literal["regular", "midterm", "final", "comment"]
    value: str | float | int
    slot: int | None = None


class SheetIn(msgspec.Struct):
    entries: list[EntryIn]


@post(
    f"{SCHOOL}/classes/{{class_id:str}}/sheets/{{subject:str}}/{{term:str}}",
    operation_id="sheet_write",
    opt={"action": "sheet.write"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Enter assessments of a sheet; all or nothing (Điều 35)",
)
async def sheet_write(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    class_id: ClassId,
    subject: SubjectCode,
    term: Term,
    data: JSONBody[SheetIn],
    year: Year,
) -> dict[str, Any]:
    principal = principal_of(request)
    entries = [SheetEntry(e.student, e.kind, e.value, e.slot) for e in data.entries]
    entry_of(request).touch(e.student for e in data.entries)
    events = await record_sheet(
        ledger_of(state),
        school,
        actor_for(principal, "SUBJECT_TEACHER"),
        year=year,
        term=term,
        class_id=class_id,
        subject=subject,
        entries=entries,
    )
    return appended(events)


@post(
    f"{SCHOOL}/classes/{{class_id:str}}/sheets/{{subject:str}}/{{term:str}}/import",
    operation_id="sheet_import",
    operation_class=documented(takes=SPREADSHEETS),
    opt={"action": "sheet.write"},
    status_code=HTTP_200_OK,
    responses=UPLOAD_ERRORS,
    summary="Import the sheet exported by the school-management software (XLSX, CSV or XML, the request body, "
    "at most 5 MB): cell by cell what is new, unchanged or different; unless dry_run, the new values are "
    "appended and each different one becomes a correction request (Điều 17.2, 17.3)",
)
async def sheet_import(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    class_id: ClassId,
    subject: SubjectCode,
    term: Term,
    year: Year,
    filename: Annotated[
        str, QueryParameter(min_length=1, max_length=200, description="the file's name, e.g. 6A1.xlsx")
    ],
    dry_run: Annotated[bool, QueryParameter(description="only report what would change")] = False,
    sheet: Annotated[str | None, QueryParameter(max_length=100, description="the workbook's sheet")] = None,
    preset: Annotated[str | None, QueryParameter(description="smas, vnedu, emis or hocba (default: detected)")] = None,
) -> dict[str, Any]:
    target = {"year": year, "class_id": class_id, "subject": subject, "term": term}
    body = await request.body()
    return await imported(request, state, school, target, body, filename, dry_run=dry_run, sheet=sheet, preset=preset)


async def imported(
    request: Request[Any, Any, Any],
    state: State,
    school: str,
    target: dict[str, Any],
    data: bytes,
    filename: str,
    *,
    dry_run: bool,
    sheet: str | None = None,
    preset: str | None = None,
) -> dict[str, Any]:
    """A gradebook file imported into the sheet `target` (year, class_id, subject, term) by the
    signed-in subject teacher, as the API's import and the grade-sheet page do it: read in a worker
    process within the upload limits, compared with the ledger cell by cell, and, unless `dry_run`,
    appended (ledger.school.imports.gradebook.import_sheet). Returns the plan."""
    book = await gradebook(runtime_of(state), data, filename, sheet=sheet, preset=preset)
    plan = await import_sheet(
        ledger_of(state),
        school,
        actor_for(principal_of(request), "SUBJECT_TEACHER"),
        book,
        **target,
        dry_run=dry_run,
    )
    entry_of(request).touch(cell["student"] for cell in plan["cells"])
    return plan


@post(
    f"{SCHOOL}/classes/{{class_id:str}}/sheets/{{subject:str}}/{{term:str}}/reconcile",
    operation_id="sheet_reconcile",
    operation_class=documented(takes=SPREADSHEETS),
    opt={"action": "gradebook.reconcile"},
    status_code=HTTP_200_OK,
    responses=UPLOAD_ERRORS,
    summary="Reconcile the ledger against the source sheet (the request body): counts, missing assessments, "
    "students only in one of them, mismatches (Điều 18.2; the IT teacher)",
)
async def sheet_reconcile(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    class_id: ClassId,
    subject: SubjectCode,
    term: Term,
    year: Year,
    filename: Annotated[str, QueryParameter(min_length=1, max_length=200, description="the file's name")],
    sheet: Annotated[str | None, QueryParameter(max_length=100)] = None,
    preset: Annotated[str | None, QueryParameter()] = None,
) -> dict[str, Any]:
    book = await gradebook(runtime_of(state), await request.body(), filename, sheet=sheet, preset=preset)
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        report = await reconcile(conn, school, book, year=year, class_id=class_id, subject=subject, term=term)
    entry_of(request).touch(item["student"] for item in report["mismatches"] + report["missing"])
    return report


@get(
    f"{SCHOOL}/classes/{{class_id:str}}/sheets/{{subject:str}}/{{term:str}}/signature",
    operation_id="sheet_signature_status",
    opt={"action": "sheet.read"},
    responses=ERRORS,
    summary="Whether the class sheet is signed by its subject teacher, and whether it changed since (Điều 18.3)",
)
async def sheet_signature_status(
    state: State, school: SchoolId, class_id: ClassId, subject: SubjectCode, term: Term, year: Year
) -> dict[str, Any]:
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        return await sheet_status(conn, school, year, class_id, subject, term)


@post(
    f"{SCHOOL}/classes/{{class_id:str}}/sheets/{{subject:str}}/{{term:str}}/signature/prepare",
    operation_id="sheet_signature_prepare",
    opt={"action": "sheet.write"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="The class sheet for its subject teacher to sign on their side (Điều 18.3)",
)
async def sheet_signature_prepare(
    state: State, school: SchoolId, class_id: ClassId, subject: SubjectCode, term: Term, year: Year
) -> dict[str, Any]:
    runtime = runtime_of(state)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        document = await prepare_sheet(conn, school, year, class_id, subject, term, runtime.clock.now())
    return {"document": base64.b64encode(document).decode()}


@post(
    f"{SCHOOL}/classes/{{class_id:str}}/sheets/{{subject:str}}/{{term:str}}/signature",
    operation_id="sheet_signature_submit",
    opt={"action": "sheet.write"},
    responses=UPLOAD_ERRORS,
    summary="Submit the class sheet signed by the subject teacher; it is checked and the signature recorded",
)
async def sheet_signature_submit(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    class_id: ClassId,
    subject: SubjectCode,
    term: Term,
    year: Year,
    data: JSONBody[SignedIn],
) -> dict[str, Any]:
    runtime = runtime_of(state)
    signed = await signed_body(state, data)
    event = await submit_sheet(
        ledger_of(state),
        school,
        actor_for(principal_of(request), "SUBJECT_TEACHER"),
        year,
        class_id,
        subject,
        term,
        signed,
        runtime.trusted_roots(),
        runtime.crls(),
    )
    return class_signature_answer(event)
