"""Routes under /api/v1. Thin: each authorizes through the one guard (its `action`), calls the
ledger, and notes which students it touched for the access trail."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE
from sqlalchemy import text

from api.security import (
    LOGIN_WINDOW,
    AuthenticationFailed,
    check_certificate_login,
    check_password,
    create_account,
    login_blocked,
    set_password,
    token_secret,
)
from api.web import ERRORS, PUBLIC, actor_for, entry_of, ledger_of, principal_of, problem, runtime_of
from audit.trail import query_access, query_alerts
from ledger.app.db import AUDITOR_ROLE
from ledger.base.errors import Forbidden, ValidationError
from ledger.format.envelope import Actor, Event
from ledger.log import store
from ledger.log.checkpointing import consistency_proof, make_checkpoint
from ledger.log.projection import read
from ledger.log.verify import verify
from ledger.school.assessments import (
    SheetEntry,
    assessments,
    record_absences,
    record_conduct,
    record_homeroom_comments,
    record_reassessments,
    record_sheet,
    record_summer_conduct,
    subject_comments,
)
from ledger.school.calendar import LockScope, calendar_from, calendars, locks, set_calendar, set_lock
from ledger.school.class_sheets import prepare as prepare_sheet
from ledger.school.class_sheets import status as sheet_status
from ledger.school.class_sheets import submit as submit_sheet
from ledger.school.corrections import (
    assessment_target,
    conduct_target,
    corrections,
    decide_request,
    file_request,
    value_history,
)
from ledger.school.imports import sector as importer
from ledger.school.imports.gradebook import import_sheet, read_gradebook, reconcile
from ledger.school.issuance import issue as issue_hocba
from ledger.school.issuance import issued, lookup_code
from ledger.school.issuance import revoke as revoke_hocba
from ledger.school.issuance import stored as stored_document
from ledger.school.rules.evaluation import evaluate
from ledger.school.rules.identity import personal_id
from ledger.school.rules.policy import AccountKind, Principal
from ledger.school.schools import schools
from ledger.school.signatures import certificates, pdf_document, register_certificate, revoke_certificate, submit_pdf
from ledger.school.signatures import document as signature_document
from ledger.school.signatures import prepare as prepare_signature
from ledger.school.signatures import submit as submit_signature
from ledger.school.transcripts import class_summary, load_student_year
from ledger.school.transfers import open_paper, open_transfer, receive, sealed_record, transfers
from ledger.school.transfers import prepare as prepare_transfer
from ledger.school.transfers import submit as submit_transfer
from signing.jws import sign as sign_jws
from signing.transfer import Scan
from signing.xml import document as hocba_xml

V1 = "/api/v1"
SCHOOL = V1 + "/schools/{school:str}"
SchoolId = Annotated[str, PathParameter(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$", description="school id")]
StudentId = Annotated[str, PathParameter(pattern=r"^\d{12}$", description="12-digit personal identifier")]
ClassId = Annotated[str, PathParameter(pattern=r"^[6-9][A-Za-z0-9]{1,7}$", description="class, e.g. 6A1")]
SubjectCode = Annotated[str, PathParameter(pattern=r"^[A-Z][A-Z0-9_]{0,31}$", description="catalogue code, e.g. TOAN")]
Term = Annotated[int, PathParameter(ge=1, le=2, description="term 1 or 2")]
Period = Annotated[Literal["1", "2", "year"], PathParameter(description="term 1, term 2 or the year")]
ImportKind = Annotated[Literal["staff", "students", "assignments"], PathParameter()]
IssuanceId = Annotated[str, PathParameter(pattern=r"^[a-z0-9-]{2,120}$", description="an issued học bạ's id")]
TransferId = Annotated[str, PathParameter(pattern=r"^[a-z0-9-]{2,120}$", description="a transfer record's id")]
Fingerprint = Annotated[str, PathParameter(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the certificate, hex")]
YearPath = Annotated[str, PathParameter(pattern=r"^\d{4}-\d{4}$", description="school year, e.g. 2025-2026")]
Year = Annotated[str, QueryParameter(pattern=r"^\d{4}-\d{4}$", description="school year, e.g. 2025-2026")]
AsOf = Annotated[int | None, QueryParameter(ge=1, description="read as of this seq")]


def _appended(events: list[Event]) -> dict[str, Any]:
    return {"appended": len(events), "seqs": [e.seq for e in events], "event_ids": [str(e.event_id) for e in events]}


# --- service ---------------------------------------------------------------------------------


@get(f"{V1}/health", operation_id="health", opt={"action": PUBLIC}, summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@get(f"{V1}/ready", operation_id="ready", opt={"action": PUBLIC}, summary="Readiness: the database answers")
async def ready(state: State) -> Response[dict[str, str]]:
    try:
        async with runtime_of(state).engine().connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return Response({"status": "unavailable"}, status_code=HTTP_503_SERVICE_UNAVAILABLE)
    return Response({"status": "ready"})


# --- authentication ----------------------------------------------------------------------------


SCHOOL_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._@-]{1,63}$"
SchoolField = Annotated[str, msgspec.Meta(pattern=SCHOOL_PATTERN)]
UsernameField = Annotated[str, msgspec.Meta(pattern=USERNAME_PATTERN)]


class Login(msgspec.Struct):
    school: SchoolField
    username: UsernameField
    password: Annotated[str, msgspec.Meta(max_length=200)]


class TokenOut(msgspec.Struct):
    access_token: str
    token_type: str
    expires_at: str


class ChallengeIn(msgspec.Struct):
    school: SchoolField
    username: UsernameField


class CertificateLogin(msgspec.Struct):
    school: SchoolField
    username: UsernameField
    challenge: str
    certificate: str  # base64 DER
    signature: str  # base64, over the challenge's UTF-8 bytes


async def refused_logins(request: Request[Any, Any, Any], state: State, school: str, username: str) -> int:
    """How many recent refused logins block this attempt (0: none); the attempt's access entry names
    the account, and goes to the school's chain when the school exists."""
    entry = entry_of(request)
    entry.username = username
    runtime = runtime_of(state)
    since = runtime.clock.now() - LOGIN_WINDOW
    async with runtime.engine().connect() as conn:
        if await read(conn, schools, school):
            entry.school = school  # logins to a school that does not exist stay in the service chain
        failures = await login_blocked(conn, school, username, entry.client, since)
    if failures:
        entry.reason = "login.rate_limited"
    return failures


async def _guard_login(
    request: Request[Any, Any, Any], state: State, school: str, username: str
) -> Response[Any] | None:
    failures = await refused_logins(request, state, school, username)
    if failures:
        return problem(
            429,
            f"{failures} refused logins in {LOGIN_WINDOW.seconds // 60} minutes; retry later",
            retry_after=LOGIN_WINDOW.seconds,
            request_id=entry_of(request).request_id,
        )
    return None


def _token(state: State, school: str, username: str, kind: AccountKind) -> TokenOut:
    token, expires = state.tokens.issue(username, school, kind)
    return TokenOut(token, "Bearer", expires.isoformat())


@post(
    f"{V1}/auth/token",
    operation_id="auth_token",
    opt={"action": PUBLIC},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Sign in with a password; returns a short-lived access token",
)
async def auth_token(request: Request[Any, Any, Any], state: State, data: JSONBody[Login]) -> Response[Any]:
    refused = await _guard_login(request, state, data.school, data.username)
    if refused is not None:
        return refused
    try:
        kind = await check_password(runtime_of(state).engine(), data.school, data.username, data.password)
    except AuthenticationFailed as failure:
        entry_of(request).reason = failure.reason
        return problem(401, "the username or password is not right", "Tên đăng nhập hoặc mật khẩu không đúng.")
    return Response(_token(state, data.school, data.username, kind))


@post(
    f"{V1}/auth/challenge",
    operation_id="auth_challenge",
    opt={"action": PUBLIC},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="A challenge to sign with a personal certificate (Điều 10.2)",
)
async def auth_challenge(request: Request[Any, Any, Any], state: State, data: JSONBody[ChallengeIn]) -> dict[str, str]:
    entry_of(request).username = data.username
    return {"challenge": state.challenges.issue(data.school, data.username)}


@post(
    f"{V1}/auth/certificate",
    operation_id="auth_certificate",
    opt={"action": PUBLIC},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Sign in with a signed challenge and a personal certificate (Điều 10.2)",
)
async def auth_certificate(
    request: Request[Any, Any, Any], state: State, data: JSONBody[CertificateLogin]
) -> Response[Any]:
    refused = await _guard_login(request, state, data.school, data.username)
    if refused is not None:
        return refused
    runtime = runtime_of(state)
    try:
        state.challenges.check(data.challenge, data.school, data.username)
        async with runtime.engine().connect() as conn:
            from api.security import _account

            account = await _account(conn, data.school, data.username)
        if account is None or account["disabled"] or account["kind"] != AccountKind.STAFF.value:
            raise AuthenticationFailed("login.unknown")
        check_certificate_login(
            base64.b64decode(data.certificate, validate=True),
            data.challenge,
            base64.b64decode(data.signature, validate=True),
            data.school,
            account["staff_id"],
            runtime.trusted_roots(),
            runtime.clock.now(),
        )
    except (AuthenticationFailed, ValueError) as failure:
        entry_of(request).reason = getattr(failure, "reason", "certificate.malformed")
        return problem(401, "the certificate login was not accepted", "Đăng nhập bằng chứng thư số không thành công.")
    return Response(_token(state, data.school, data.username, AccountKind.STAFF))


class PasswordChange(msgspec.Struct):
    current: str
    new: str


@get(
    f"{V1}/me", operation_id="me", opt={"action": "account.me"}, responses=ERRORS, summary="Who am I, with my roles now"
)
async def me(request: Request[Any, Any, Any]) -> dict[str, Any]:
    principal = principal_of(request)
    return {
        "username": principal.username,
        "school": principal.school,
        "kind": principal.kind.value,
        "staff_id": principal.staff_id,
        "student_id": principal.student_id,
        "grants": [
            msgspec.structs.asdict(msgspec.convert(g, GrantOut, from_attributes=True)) for g in principal.grants
        ],
    }


class GrantOut(msgspec.Struct):
    role: str
    year: str | None
    class_id: str | None
    subject: str | None
    term: int | None


@post(
    f"{V1}/me/password",
    operation_id="me_password",
    opt={"action": "account.me"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Change my password",
)
async def me_password(request: Request[Any, Any, Any], state: State, data: JSONBody[PasswordChange]) -> Response[Any]:
    principal = principal_of(request)
    runtime = runtime_of(state)
    try:
        await check_password(runtime.engine(), principal.school, principal.username, data.current)
    except AuthenticationFailed:
        return problem(403, "the current password is not right", "Mật khẩu hiện tại không đúng.")
    await set_password(runtime.engine(), principal.school, principal.username, data.new, runtime.clock.now())
    return Response({"changed": True})


# --- assessment --------------------------------------------------------------------------------


@post(
    f"{V1}/assessment/evaluate",
    operation_id="assessment_evaluate",
    opt={"action": "assessment.evaluate"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Evaluate one student's year (docs/ASSESSMENT.md)",
)
async def assessment_evaluate(data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    return evaluate(data)


@get(
    f"{SCHOOL}/students/{{student:str}}/transcript",
    operation_id="student_transcript",
    opt={"action": "student.read"},
    responses=ERRORS,
    summary="One student's year, evaluated with the TT22 rules",
)
async def student_transcript(
    state: State, school: SchoolId, student: StudentId, year: Year, as_of: AsOf = None
) -> dict[str, Any]:
    personal_id(student)
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        view = await load_student_year(conn, school, year, student, as_of)
    return view.to_json()


@get(
    f"{SCHOOL}/classes/{{class_id:str}}/summary",
    operation_id="class_summary",
    opt={"action": "class.read"},
    responses=ERRORS,
    summary="A class's promotion and award lists (Điều 33.6, 34.4)",
)
async def get_class_summary(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    class_id: ClassId,
    year: Year,
    as_of: AsOf = None,
) -> dict[str, Any]:
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        summary = await class_summary(conn, school, year, class_id, as_of)
    entry_of(request).touch(v.student["student_id"] for v in summary.views)
    return summary.to_json()


@get(
    f"{SCHOOL}/classes/{{class_id:str}}/sheets/{{subject:str}}/{{term:int}}",
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
    f"{SCHOOL}/classes/{{class_id:str}}/sheets/{{subject:str}}/{{term:int}}",
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
    return _appended(events)


@post(
    f"{SCHOOL}/classes/{{class_id:str}}/sheets/{{subject:str}}/{{term:int}}/import",
    operation_id="sheet_import",
    opt={"action": "sheet.write"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
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
    preset: Annotated[str | None, QueryParameter(description="smas, vnedu or hocba (default: detected)")] = None,
) -> dict[str, Any]:
    book = read_gradebook(await request.body(), filename, sheet=sheet, preset=preset)
    plan = await import_sheet(
        ledger_of(state), school, actor_for(principal_of(request), "SUBJECT_TEACHER"), book, year=year,
        class_id=class_id, subject=subject, term=term, dry_run=dry_run,
    )  # fmt: skip
    entry_of(request).touch(cell["student"] for cell in plan["cells"])
    return plan


@post(
    f"{SCHOOL}/classes/{{class_id:str}}/sheets/{{subject:str}}/{{term:int}}/reconcile",
    operation_id="sheet_reconcile",
    opt={"action": "gradebook.reconcile"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
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
    book = read_gradebook(await request.body(), filename, sheet=sheet, preset=preset)
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        report = await reconcile(conn, school, book, year=year, class_id=class_id, subject=subject, term=term)
    entry_of(request).touch(item["student"] for item in report["mismatches"] + report["missing"])
    return report


@get(
    f"{SCHOOL}/classes/{{class_id:str}}/sheets/{{subject:str}}/{{term:int}}/signature",
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
    f"{SCHOOL}/classes/{{class_id:str}}/sheets/{{subject:str}}/{{term:int}}/signature/prepare",
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
        document = await prepare_sheet(conn, school, year, class_id, subject, term, runtime.clock.now().date())
    return {"document": base64.b64encode(document).decode()}


@post(
    f"{SCHOOL}/classes/{{class_id:str}}/sheets/{{subject:str}}/{{term:int}}/signature",
    operation_id="sheet_signature_submit",
    opt={"action": "sheet.write"},
    responses=ERRORS,
    summary="Submit the class sheet signed by the subject teacher; it is checked and the signature recorded",
)
async def sheet_signature_submit(
    request: Request[Any, Any, Any], state: State, school: SchoolId, class_id: ClassId, subject: SubjectCode,
    term: Term, year: Year, data: JSONBody[SignedIn],
) -> dict[str, Any]:  # fmt: skip
    runtime = runtime_of(state)
    event = await submit_sheet(
        ledger_of(state), school, actor_for(principal_of(request), "SUBJECT_TEACHER"), year, class_id, subject, term,
        _base64(data.document), runtime.trusted_roots(), runtime.crls(),
    )  # fmt: skip
    return {"seq": event.seq, "signing_time": event.payload["signing_time"], "digest": event.payload["digest"]}


class ConductIn(msgspec.Struct):
    student: str
    level: str


class AbsencesIn(msgspec.Struct):
    student: str
    excused: int
    unexcused: int


class CommentIn(msgspec.Struct):
    student: str
    text: str


class ResultIn(msgspec.Struct):
    student: str
    value: str | float | int


class ConductEntries(msgspec.Struct):
    entries: list[ConductIn]


class AbsencesEntries(msgspec.Struct):
    entries: list[AbsencesIn]


class CommentEntries(msgspec.Struct):
    entries: list[CommentIn]


class ResultEntries(msgspec.Struct):
    entries: list[ResultIn]


@post(
    f"{SCHOOL}/classes/{{class_id:str}}/conduct/{{term:int}}",
    operation_id="conduct_write",
    opt={"action": "homeroom.write"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Conduct per term, by the homeroom teacher (Điều 34; TT22 Đ.8)",
)
async def conduct_write(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    class_id: ClassId,
    term: Term,
    data: JSONBody[ConductEntries],
    year: Year,
) -> dict[str, Any]:
    entry_of(request).touch(e.student for e in data.entries)
    events = await record_conduct(
        ledger_of(state),
        school,
        actor_for(principal_of(request), "HOMEROOM_TEACHER"),
        year=year,
        term=term,
        class_id=class_id,
        entries=[(e.student, e.level) for e in data.entries],
    )
    return _appended(events)


@post(
    f"{SCHOOL}/classes/{{class_id:str}}/absences/{{term:int}}",
    operation_id="absences_write",
    opt={"action": "homeroom.write"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Sessions absent per term (Điều 34)",
)
async def absences_write(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    class_id: ClassId,
    term: Term,
    data: JSONBody[AbsencesEntries],
    year: Year,
) -> dict[str, Any]:
    entry_of(request).touch(e.student for e in data.entries)
    events = await record_absences(
        ledger_of(state),
        school,
        actor_for(principal_of(request), "HOMEROOM_TEACHER"),
        year=year,
        term=term,
        class_id=class_id,
        entries=[(e.student, e.excused, e.unexcused) for e in data.entries],
    )
    return _appended(events)


@post(
    f"{SCHOOL}/classes/{{class_id:str}}/homeroom-comments/{{period:str}}",
    operation_id="homeroom_comments_write",
    opt={"action": "homeroom.write"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="The homeroom teacher's comments for term 1, 2 or the year (Điều 34.6)",
)
async def homeroom_comments_write(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    class_id: ClassId,
    period: Period,
    data: JSONBody[CommentEntries],
    year: Year,
) -> dict[str, Any]:
    entry_of(request).touch(e.student for e in data.entries)
    events = await record_homeroom_comments(
        ledger_of(state),
        school,
        actor_for(principal_of(request), "HOMEROOM_TEACHER"),
        year=year,
        period=period,
        class_id=class_id,
        entries=[(e.student, e.text) for e in data.entries],
    )
    return _appended(events)


@post(
    f"{SCHOOL}/classes/{{class_id:str}}/reassessments/{{subject:str}}",
    operation_id="reassessments_write",
    opt={"action": "reassessment.write"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Summer re-assessment results (TT22 Đ.12–14)",
)
async def reassessments_write(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    class_id: ClassId,
    subject: SubjectCode,
    data: JSONBody[ResultEntries],
    year: Year,
) -> dict[str, Any]:
    entry_of(request).touch(e.student for e in data.entries)
    events = await record_reassessments(
        ledger_of(state),
        school,
        actor_for(principal_of(request), "SUBJECT_TEACHER"),
        year=year,
        class_id=class_id,
        subject=subject,
        entries=[(e.student, e.value) for e in data.entries],
    )
    return _appended(events)


@post(
    f"{SCHOOL}/classes/{{class_id:str}}/summer-conduct",
    operation_id="summer_conduct_write",
    opt={"action": "summer_conduct.write"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="The principal's conduct re-assessment after summer training (TT22 Đ.12–14)",
)
async def summer_conduct_write(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    class_id: ClassId,
    data: JSONBody[ConductEntries],
    year: Year,
) -> dict[str, Any]:
    entry_of(request).touch(e.student for e in data.entries)
    events = await record_summer_conduct(
        ledger_of(state),
        school,
        actor_for(principal_of(request), "PRINCIPAL"),
        year=year,
        class_id=class_id,
        entries=[(e.student, e.level) for e in data.entries],
    )
    return _appended(events)


# --- the calendar, locks and corrections (Điều 17.3, 25, 33.3c, 36.2) -------------------------------


class WindowIn(msgspec.Struct):
    opens: str
    closes: str


class TermIn(msgspec.Struct):
    starts: str
    ends: str


class CalendarIn(msgspec.Struct):
    order: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    terms: dict[str, TermIn] | None = None
    entry: dict[str, WindowIn] | None = None
    close: str | None = None
    final: str | None = None


@post(
    f"{SCHOOL}/calendar/{{year:str}}",
    operation_id="calendar_set",
    opt={"action": "calendar.set"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Set the year's calendar: terms, entry windows, the close and the final date (the principal)",
)
async def calendar_set(
    request: Request[Any, Any, Any], state: State, school: SchoolId, year: YearPath, data: JSONBody[CalendarIn]
) -> dict[str, Any]:
    supplied = {k: v for k, v in msgspec.to_builtins(data).items() if v is not None and k != "order"}
    calendar = calendar_from(year, data.order, supplied)
    events = await set_calendar(ledger_of(state), school, actor_for(principal_of(request), "PRINCIPAL"), calendar)
    return {**_appended(events), "calendar": calendar.payload()}


@get(
    f"{SCHOOL}/calendar/{{year:str}}",
    operation_id="calendar_read",
    opt={"action": "calendar.read"},
    responses=ERRORS,
    summary="The year's calendar and its locks",
)
async def calendar_read(state: State, school: SchoolId, year: YearPath) -> Response[Any]:
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        rows = await read(conn, calendars, school, year=year)
        lock_rows = await read(conn, locks, school, year=year)
    if not rows:
        return problem(404, f"no calendar has been set for {year}", f"Chưa có lịch năm học {year}.")
    return Response({"calendar": rows[0]["calendar"], "locks": lock_rows})


class LockIn(msgspec.Struct):
    year: Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{4}$")]
    state: Literal["closed", "open"]
    order: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    ordered_by: UsernameField
    class_id: str = "*"
    subject: str = "*"
    term: Annotated[int, msgspec.Meta(ge=0, le=2)] = 0


@post(
    f"{SCHOOL}/locks",
    operation_id="lock_set",
    opt={"action": "lock.set"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Close or open entry for the school, a class, a subject or a term, on the principal's order (the admin)",
)
async def lock_set(
    request: Request[Any, Any, Any], state: State, school: SchoolId, data: JSONBody[LockIn]
) -> dict[str, Any]:
    scope = LockScope(data.year, data.class_id, data.subject, data.term)
    events = await set_lock(
        ledger_of(state),
        school,
        actor_for(principal_of(request), "ADMIN"),
        scope,
        closed=data.state == "closed",
        order=data.order,
        ordered_by=data.ordered_by,
    )
    return _appended(events)


class CorrectionIn(msgspec.Struct):
    student: str
    new_value: str | float | int
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    old_value: str | float | int | None = None
    kind: Literal["regular", "midterm", "final"] | None = None
    slot: int | None = None
    attachment_sha256: str | None = None


async def file_correction(
    request: Request[Any, Any, Any], state: State, school: str, role: str, target: Any, data: CorrectionIn
) -> dict[str, Any]:
    event = await file_request(
        ledger_of(state),
        school,
        actor_for(principal_of(request), role),
        target,
        old_value=data.old_value,
        new_value=data.new_value,
        reason=data.reason,
        attachment_sha256=data.attachment_sha256,
    )
    return {"request": event.payload["request"], "seq": event.seq}


def _correction_out(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in row.items()}


@post(
    f"{SCHOOL}/classes/{{class_id:str}}/sheets/{{subject:str}}/{{term:int}}/corrections",
    operation_id="correction_file_sheet",
    opt={"action": "correction.file.sheet"},
    responses=ERRORS,
    summary="File a written correction request for an assessment of this sheet (Điều 17.3)",
)
async def correction_file_sheet(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    class_id: ClassId,
    subject: SubjectCode,
    term: Term,
    data: JSONBody[CorrectionIn],
    year: Year,
) -> dict[str, Any]:
    entry_of(request).touch([data.student])
    target = assessment_target(year, term, class_id, subject, data.student, data.kind, data.slot)
    return await file_correction(request, state, school, "SUBJECT_TEACHER", target, data)


@post(
    f"{SCHOOL}/classes/{{class_id:str}}/conduct/{{term:int}}/corrections",
    operation_id="correction_file_conduct",
    opt={"action": "correction.file.conduct"},
    responses=ERRORS,
    summary="File a written correction request for a conduct rating of this class (Điều 17.3)",
)
async def correction_file_conduct(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    class_id: ClassId,
    term: Term,
    data: JSONBody[CorrectionIn],
    year: Year,
) -> dict[str, Any]:
    entry_of(request).touch([data.student])
    target = conduct_target(year, term, class_id, data.student)
    return await file_correction(request, state, school, "HOMEROOM_TEACHER", target, data)


@get(
    f"{SCHOOL}/corrections",
    operation_id="correction_list",
    opt={"action": "correction.read"},
    responses=ERRORS,
    summary="Correction requests, newest first (the leadership inbox)",
)
async def correction_list(
    state: State,
    school: SchoolId,
    status: FromQuery[Literal["pending", "approved", "rejected", "expired"] | None] = None,
) -> dict[str, Any]:
    filters: dict[str, Any] = {"status": status} if status else {}
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        rows = await read(conn, corrections, school, order_by=["requested_at"], **filters)
    return {"items": [_correction_out(r) for r in reversed(rows)]}


@get(
    f"{SCHOOL}/corrections/{{request_id:uuid}}",
    operation_id="correction_read",
    opt={"action": "correction.read"},
    responses=ERRORS,
    summary="One correction request, with the history of the value it concerns",
)
async def correction_read(
    request: Request[Any, Any, Any], state: State, school: SchoolId, request_id: FromPath[uuid.UUID]
) -> Response[Any]:
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        rows = await read(conn, corrections, school, request_id=request_id)
        if not rows:
            return problem(404, "no such correction request", "Không có đề nghị điều chỉnh này.")
        target = rows[0]["target"]
        entry_of(request).touch([target["student"]])
        versions = await value_history(conn, school, target)
    return Response({**_correction_out(rows[0]), "history": versions})


class DecisionIn(msgspec.Struct):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


async def decide_correction(
    request: Request[Any, Any, Any], state: State, school: str, request_id: uuid.UUID, approve: bool, reason: str
) -> dict[str, Any]:
    principal = principal_of(request)
    role = "PRINCIPAL" if any(g.role.value == "PRINCIPAL" for g in principal.grants) else "LEADERSHIP"
    events = await decide_request(
        ledger_of(state), school, actor_for(principal, role), request_id, approve=approve, reason=reason
    )
    touched = [e.payload.get("student") for e in events]
    entry_of(request).touch(t for t in touched if t)
    return _appended(events)


@post(
    f"{SCHOOL}/corrections/{{request_id:uuid}}/approve",
    operation_id="correction_approve",
    opt={"action": "correction.decide"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Approve a correction request; the change is appended with it (four eyes, Điều 17.3)",
)
async def correction_approve(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    request_id: FromPath[uuid.UUID],
    data: JSONBody[DecisionIn],
) -> dict[str, Any]:
    return await decide_correction(request, state, school, request_id, True, data.reason)


@post(
    f"{SCHOOL}/corrections/{{request_id:uuid}}/reject",
    operation_id="correction_reject",
    opt={"action": "correction.decide"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Reject a correction request, with a reason",
)
async def correction_reject(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    request_id: FromPath[uuid.UUID],
    data: JSONBody[DecisionIn],
) -> dict[str, Any]:
    return await decide_correction(request, state, school, request_id, False, data.reason)


# --- signatures ----------------------------------------------------------------------------------


SigningRole = Literal["SUBJECT_TEACHER", "HOMEROOM_TEACHER", "PRINCIPAL", "ORGANISATION"]


class PrepareIn(msgspec.Struct):
    role: SigningRole
    subject: str | None = None


class SignedIn(msgspec.Struct):
    document: Annotated[str, msgspec.Meta(min_length=1, max_length=4_000_000, description="base64 of the signed XML")]


def signer_of(request: Request[Any, Any, Any]) -> Actor:
    """The signed-in signer; the ledger checks which role they signed in."""
    principal = principal_of(request)
    return actor_for(principal, principal.grants[0].role.value if principal.grants else "STAFF")


def _may_sign_as(principal: Principal, role: str, year: str, class_id: str, subject: str | None) -> bool:
    """The signer prepares only for a role they hold for this student (the service checks it again,
    with the certificate, when the signature comes back)."""
    for grant in principal.grants:
        scoped = (grant.year, grant.class_id) == (year, class_id)
        if role == "SUBJECT_TEACHER" and grant.role.value == role and scoped and grant.subject == subject:
            return True
        if role == "HOMEROOM_TEACHER" and grant.role.value == role and scoped:
            return True
        if role == "PRINCIPAL" and grant.role.value in ("PRINCIPAL", "LEADERSHIP"):
            return True
        if role == "ORGANISATION" and grant.role.value == "CLERK":
            return True
    return False


async def prepare_for(
    request: Request[Any, Any, Any], state: State, school: str, year: str, student: str, role: str,
    subject: str | None,
) -> dict[str, Any]:  # fmt: skip
    """What the signed-in signer signs next for this student in `role`: refused unless they hold the
    role for the student (the service checks it again, with the certificate, when it comes back)."""
    runtime = runtime_of(state)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        await check_signer(conn, principal_of(request), school, year, student, role, subject)
        return await prepare_signature(conn, school, year, student, role, subject, runtime.clock.now().date())


async def check_signer(
    conn: Any, principal: Principal, school: str, year: str, student: str, role: str, subject: str | None
) -> None:
    """Refuse a signer who does not hold `role` for this student's class (and subject) this year."""
    personal_id(student)
    class_id = (await load_student_year(conn, school, year, student)).class_id
    if not _may_sign_as(principal, role, year, class_id, subject):
        raise Forbidden(
            "signature.role",
            f"Bạn không giữ vai trò {role} cho học sinh này.",
            f"You do not hold {role} for this student.",
            field="role",
        )


@get(
    f"{SCHOOL}/students/{{student:str}}/hocba.xml",
    operation_id="hocba_xml",
    opt={"action": "student.read"},
    media_type="application/xml",
    responses=ERRORS,
    summary="The XML học bạ of one student's year as it stands, with its current signatures",
)
async def hocba_xml_read(state: State, school: SchoolId, student: StudentId, year: Year) -> Response[bytes]:
    personal_id(student)
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        root, _ = await signature_document(conn, school, year, student)
    return Response(hocba_xml.to_bytes(root), media_type="application/xml")


@post(
    f"{SCHOOL}/students/{{student:str}}/signatures/prepare",
    operation_id="signature_prepare",
    opt={"action": "signature.write"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="What a signer signs next for this student's year: the document and the references (Điều 18)",
)
async def signature_prepare(
    request: Request[Any, Any, Any], state: State, school: SchoolId, student: StudentId, year: Year,
    data: JSONBody[PrepareIn],
) -> dict[str, Any]:  # fmt: skip
    prepared = await prepare_for(request, state, school, year, student, data.role, data.subject)
    return {**prepared, "document": base64.b64encode(prepared["document"]).decode()}


@post(
    f"{SCHOOL}/students/{{student:str}}/signatures",
    operation_id="signature_submit",
    opt={"action": "signature.write"},
    responses=ERRORS,
    summary="Submit a document signed on the signer's side; it is checked and its signature recorded",
)
async def signature_submit(
    request: Request[Any, Any, Any], state: State, school: SchoolId, student: StudentId, year: Year,
    data: JSONBody[SignedIn],
) -> dict[str, Any]:  # fmt: skip
    personal_id(student)
    signed = _base64(data.document)
    runtime = runtime_of(state)
    event = await submit_signature(
        ledger_of(state), school, signer_of(request), year, student, signed, runtime.trusted_roots(), runtime.crls()
    )
    return {"seq": event.seq, "wrapper_id": event.payload["wrapper_id"], "role": event.payload["role"],
            "parts": event.payload["parts"], "signing_time": event.payload["signing_time"]}  # fmt: skip


@get(
    f"{SCHOOL}/students/{{student:str}}/hocba.pdf",
    operation_id="hocba_pdf",
    opt={"action": "student.read"},
    media_type="application/pdf",
    responses=ERRORS,
    summary="The PDF học bạ of one student's year as it stands, with its current signatures",
)
async def hocba_pdf_read(state: State, school: SchoolId, student: StudentId, year: Year) -> Response[bytes]:
    personal_id(student)
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        data, _ = await pdf_document(conn, school, year, student)
    return Response(data, media_type="application/pdf")


@post(
    f"{SCHOOL}/students/{{student:str}}/signatures/pdf",
    operation_id="signature_submit_pdf",
    opt={"action": "signature.write"},
    responses=ERRORS,
    summary="Submit the PDF học bạ signed on the signer's side: the principal, then the clerk's seal (Điều 13)",
)
async def signature_submit_pdf(
    request: Request[Any, Any, Any], state: State, school: SchoolId, student: StudentId, year: Year,
    data: JSONBody[SignedIn],
) -> dict[str, Any]:  # fmt: skip
    personal_id(student)
    signed = _base64(data.document)
    runtime = runtime_of(state)
    event = await submit_pdf(
        ledger_of(state), school, signer_of(request), year, student, signed, runtime.trusted_roots(), runtime.crls()
    )
    return {"seq": event.seq, "role": event.payload["role"], "signing_time": event.payload["signing_time"]}


def _base64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise ValidationError(
            "document.base64", "tài liệu phải mã hóa base64", "the document is base64", field="document"
        ) from None


@post(
    f"{V1}/tsa",
    operation_id="time_stamp",
    opt={"action": PUBLIC},
    status_code=HTTP_200_OK,
    summary="The demo RFC 3161 time-stamping authority (application/timestamp-query → timestamp-reply)",
    include_in_schema=False,
)
async def time_stamp(request: Request[Any, Any, Any], state: State) -> Response[Any]:
    from asn1crypto import tsp

    from signing.pdf.document import local_time_stamper

    runtime = runtime_of(state)
    if runtime.settings.production:
        return problem(404, "no time-stamping authority here", "Máy chủ này không cấp dấu thời gian.")
    body = await request.body()
    try:
        query = tsp.TimeStampReq.load(body)
        query.native  # noqa: B018 - parse it all now
    except (ValueError, TypeError):
        return problem(422, "not an RFC 3161 time-stamp request", "Không phải yêu cầu cấp dấu thời gian RFC 3161.")
    reply = await local_time_stamper(runtime.pki).async_request_tsa_response(query)
    return Response(reply.dump(), media_type="application/timestamp-reply")


@get(
    f"{V1}/pki/crl",
    operation_id="pki_crl",
    opt={"action": PUBLIC},
    media_type="application/pkix-crl",
    responses=ERRORS,
    summary="The trusted issuer's current certificate revocation list (DER)",
)
async def pki_crl(state: State) -> Response[Any]:
    from cryptography.hazmat.primitives.serialization import Encoding

    crls = runtime_of(state).crls()
    if not crls:
        return problem(404, "no revocation list is kept here", "Máy chủ không lưu danh sách thu hồi.")
    return Response(crls[0].public_bytes(Encoding.DER), media_type="application/pkix-crl")


class RevocationIn(msgspec.Struct):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


@post(
    f"{SCHOOL}/students/{{student:str}}/issue",
    operation_id="hocba_issue",
    opt={"action": "issuance.write"},
    responses=ERRORS,
    summary="Issue the student's signed học bạ for the year; its XML and PDF are kept as they are (the clerk)",
)
async def hocba_issue(
    request: Request[Any, Any, Any], state: State, school: SchoolId, student: StudentId, year: Year
) -> dict[str, Any]:
    personal_id(student)
    runtime = runtime_of(state)
    event = await issue_hocba(
        ledger_of(state), school, actor_for(principal_of(request), "CLERK"), year, student,
        runtime.trusted_roots(), runtime.crls(), runtime.signer(school),
    )  # fmt: skip
    code = lookup_code(token_secret(runtime.settings), school, event.payload["issuance"])
    return {"seq": event.seq, **event.payload, "lookup_code": code}


@get(
    f"{SCHOOL}/issued",
    operation_id="issued_list",
    opt={"action": "issuance.read"},
    responses=ERRORS,
    summary="The học bạ issued by the school, with their status",
)
async def issued_list(state: State, school: SchoolId) -> dict[str, Any]:
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        rows = await read(conn, issued, school, order_by=["issuance_id"])
    return {
        "items": [
            {"id": r.pop("issuance_id"), **{k: v for k, v in r.items() if k not in ("school_id", "seq_from", "seq_to")}}
            for r in rows
        ]
    }


@post(
    f"{SCHOOL}/issued/{{issuance:str}}/revoke",
    operation_id="issued_revoke",
    opt={"action": "issuance.revoke"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Revoke an issued học bạ before the close, to replace it (Điều 25.3; the principal)",
)
async def issued_revoke(
    request: Request[Any, Any, Any], state: State, school: SchoolId, issuance: IssuanceId, data: JSONBody[RevocationIn]
) -> dict[str, Any]:
    event = await revoke_hocba(
        ledger_of(state), school, actor_for(principal_of(request), "PRINCIPAL"), issuance, data.reason
    )
    return _appended([event])


# --- transfers (Điều 26) -----------------------------------------------------------------------


class TransferIn(msgspec.Struct):
    student: str
    departure: str | None = None  # default: today
    to_school: str | None = None
    year: str | None = None  # mid-year: the current year, whose results so far move too


class ScanIn(msgspec.Struct):
    year: str
    media_type: str
    content: Annotated[str, msgspec.Meta(min_length=1, max_length=40_000_000, description="base64 of the file")]


class PaperIn(msgspec.Struct):
    student: str
    from_school: str
    scans: list[ScanIn]
    arrival: str | None = None  # default: today


class TransferSignIn(msgspec.Struct):
    role: Literal["PRINCIPAL", "ORGANISATION"]


class ReceiveIn(msgspec.Struct):
    document: Annotated[str, msgspec.Meta(min_length=1, max_length=60_000_000, description="base64 of the record")]
    year: str
    class_id: str
    since: str | None = None  # default: the record's date


def _today(state: State) -> str:
    return runtime_of(state).clock.now().date().isoformat()


@post(
    f"{SCHOOL}/transfers",
    operation_id="transfer_open",
    opt={"action": "transfer.write"},
    responses=ERRORS,
    summary="Open the record of a student leaving for another school: the issued học bạ, and mid-year the "
    "results so far (Điều 26.2)",
)
async def transfer_open(
    request: Request[Any, Any, Any], state: State, school: SchoolId, data: JSONBody[TransferIn]
) -> dict[str, Any]:
    event = await open_transfer(
        ledger_of(state), school, signer_of(request), data.student, departure=data.departure or _today(state),
        to_school=data.to_school, year=data.year,
    )  # fmt: skip
    return {"seq": event.seq, **event.payload}


@post(
    f"{SCHOOL}/transfers/paper",
    operation_id="transfer_paper",
    opt={"action": "transfer.write"},
    responses=ERRORS,
    summary="Open the record of a student arriving from a paper-based school, with the scanned pages (Điều 26.3a)",
)
async def transfer_paper(
    request: Request[Any, Any, Any], state: State, school: SchoolId, data: JSONBody[PaperIn]
) -> dict[str, Any]:
    scans = [Scan(scan.year, scan.media_type, _base64(scan.content)) for scan in data.scans]
    event = await open_paper(
        ledger_of(state), school, signer_of(request), data.student, arrival=data.arrival or _today(state),
        from_school=data.from_school, scans=scans,
    )  # fmt: skip
    return {"seq": event.seq, **event.payload}


@get(
    f"{SCHOOL}/transfers",
    operation_id="transfer_list",
    opt={"action": "transfer.read"},
    responses=ERRORS,
    summary="The school's transfer records, outgoing, received and from paper, with their status",
)
async def transfer_list(state: State, school: SchoolId) -> dict[str, Any]:
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        rows = await read(conn, transfers, school)
    hidden = ("school_id", "seq_from", "seq_to", "signatures", "transfer_id")
    return {"items": [{"id": r["transfer_id"], **{k: v for k, v in r.items() if k not in hidden}} for r in rows]}


@post(
    f"{SCHOOL}/transfers/{{transfer:str}}/prepare",
    operation_id="transfer_prepare",
    opt={"action": "transfer.sign"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="The transfer record with room for the next signature: the principal's, then the seal",
)
async def transfer_prepare(
    state: State, school: SchoolId, transfer: TransferId, data: JSONBody[TransferSignIn]
) -> dict[str, Any]:
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        document = await prepare_transfer(conn, school, transfer, data.role)
    return {"transfer": transfer, "role": data.role, "document": base64.b64encode(document).decode()}


@post(
    f"{SCHOOL}/transfers/{{transfer:str}}/signatures",
    operation_id="transfer_submit",
    opt={"action": "transfer.sign"},
    responses=ERRORS,
    summary="Submit the transfer record signed on the signer's side; it is checked and the signature recorded",
)
async def transfer_submit(
    request: Request[Any, Any, Any], state: State, school: SchoolId, transfer: TransferId, data: JSONBody[SignedIn]
) -> dict[str, Any]:
    runtime = runtime_of(state)
    event = await submit_transfer(
        ledger_of(state), school, signer_of(request), transfer, _base64(data.document), runtime.trusted_roots(),
        runtime.crls(),
    )  # fmt: skip
    return {"seq": event.seq, "role": event.payload["role"], "signing_time": event.payload["signing_time"],
            "record_sha256": event.payload["record_sha256"]}  # fmt: skip


@get(
    f"{SCHOOL}/transfers/{{transfer:str}}/record.xml",
    operation_id="transfer_record",
    opt={"action": "transfer.read"},
    media_type="application/xml",
    responses=ERRORS,
    summary="The sealed transfer record, byte for byte, for the receiving school",
)
async def transfer_record(state: State, school: SchoolId, transfer: TransferId) -> Response[bytes]:
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        data = await sealed_record(conn, school, transfer)
    return Response(data, media_type="application/xml")


@post(
    f"{SCHOOL}/transfers/received",
    operation_id="transfer_receive",
    opt={"action": "transfer.write"},
    responses=ERRORS,
    summary="Receive a sealed transfer record: every signature and receipt is verified, then its history "
    "is inherited, not re-created (Điều 26.1c)",
)
async def transfer_receive(
    request: Request[Any, Any, Any], state: State, school: SchoolId, data: JSONBody[ReceiveIn]
) -> dict[str, Any]:
    runtime = runtime_of(state)
    events = await receive(
        ledger_of(state), school, signer_of(request), _base64(data.document), year=data.year, class_id=data.class_id,
        since=data.since, trusted_roots=runtime.trusted_roots(), crls=runtime.crls(),
    )  # fmt: skip
    return _appended(events)


# --- integration --------------------------------------------------------------------------------


@get(
    f"{SCHOOL}/feed",
    operation_id="integration_feed",
    opt={"action": "integration.read"},
    responses=ERRORS,
    summary="Events after a seq, with the latest signed checkpoint and a consistency proof from the one you hold",
)
async def integration_feed(
    state: State,
    school: SchoolId,
    after: Annotated[int, QueryParameter(ge=0)] = 0,
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 500,
    known: Annotated[int | None, QueryParameter(ge=0, description="the tree size of the checkpoint you hold")] = None,
) -> dict[str, Any]:
    async with runtime_of(state).engine(AUDITOR_ROLE).begin() as conn:
        latest = await store.latest_checkpoint(conn, school)
        size = latest.checkpoint.tree_size if latest else 0
        events = await store.select_events(conn, school, after=after, upto=size, limit=limit)
        proof = None
        if known is not None:
            if known > size:
                raise ValidationError(
                    "feed.known", f"sổ cái mới có {size} sự kiện đã ký", f"the signed ledger holds {size} events",
                    field="known",
                )  # fmt: skip
            proof = [node.hex() for node in await consistency_proof(conn, school, known, size)]
    return {
        "events": [
            {
                "seq": e.seq,
                "hash": e.hash.hex(),
                "prev_hash": e.prev_hash.hex(),
                "body": base64.b64encode(e.body).decode(),
            }
            for e in events
        ],
        "next": events[-1].seq if len(events) == limit and events[-1].seq < size else None,
        "checkpoint": latest.checkpoint.to_json() if latest else None,
        "consistency": None if proof is None else {"from": known, "to": size, "proof": proof},
    }


@get(
    f"{SCHOOL}/students/{{student:str}}/issued",
    operation_id="student_issued",
    opt={"action": "issued.document"},
    responses=ERRORS,
    summary="The học bạ issued for a student (by personal identifier)",
)
async def student_issued(state: State, school: SchoolId, student: StudentId) -> dict[str, Any]:
    personal_id(student)
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        rows = await read(conn, issued, school, student_id=student, order_by=["issuance_id"])
    keep = ("issuance_id", "hocba_id", "year", "class_id", "status", "issued_on", "xml_sha256", "pdf_sha256",
            "replaces", "replaced_by")  # fmt: skip
    return {"items": [{k: r[k] for k in keep} for r in rows]}


@get(
    f"{SCHOOL}/students/{{student:str}}/issued/{{issuance:str}}",
    operation_id="student_issued_document",
    opt={"action": "issued.document"},
    responses=ERRORS,
    summary="The exact bytes of an issued học bạ: format=xml (with its ledger receipt) or pdf",
)
async def student_issued_document(
    state: State, school: SchoolId, student: StudentId, issuance: IssuanceId,
    format: FromQuery[Literal["xml", "pdf"]] = "xml",
) -> Response[Any]:  # fmt: skip
    personal_id(student)
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        rows = await read(conn, issued, school, issuance_id=issuance, student_id=student)
        digest = rows[0][f"{format}_sha256"] if rows else None
        if digest is None:
            return problem(404, "no such issued học bạ", "Không có học bạ đã ban hành này.")
        content = await stored_document(conn, school, digest)
    return Response(content, media_type="application/pdf" if format == "pdf" else "application/xml")


@get(
    f"{SCHOOL}/students/{{student:str}}/record.jws",
    operation_id="student_record_signed",
    opt={"action": "record.signed"},
    responses=ERRORS,
    summary="A student's year as JSON, signed by the school's ledger service (JWS), naming the checkpoint read",
)
async def student_record_signed(state: State, school: SchoolId, student: StudentId, year: Year) -> Response[Any]:
    personal_id(student)
    runtime = runtime_of(state)
    signer = runtime.signer(school)
    checkpoint = await make_checkpoint(runtime.engine(), school, signer, runtime.clock)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        size = checkpoint.tree_size if checkpoint else 0
        view = await load_student_year(conn, school, year, student, size)
    payload = {
        "school": school, "student": student, "year": year, "record": view.to_json(),
        "checkpoint": None if checkpoint is None else {
            "log": checkpoint.log, "tree_size": checkpoint.tree_size, "root": checkpoint.root.hex(),
            "time": checkpoint.signed_at,
        },
        "iat": int(runtime.clock.now().timestamp()),
    }  # fmt: skip
    return Response(sign_jws(payload, signer), media_type="application/jose")


class CertificateIn(msgspec.Struct):
    certificate: Annotated[str, msgspec.Meta(min_length=1, max_length=20_000, description="PEM, or base64 DER")]


@get(
    f"{SCHOOL}/certificates",
    operation_id="certificate_list",
    opt={"action": "certificate.read"},
    responses=ERRORS,
    summary="The certificates registered with the school, and their revocations",
)
async def certificate_list(state: State, school: SchoolId) -> dict[str, Any]:
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        rows = await read(conn, certificates, school, order_by=["fingerprint"])
    keep = ("fingerprint", "holder", "serial", "subject", "not_before", "not_after", "approved_by", "revoked_at",
            "revocation_reason")  # fmt: skip
    return {"items": [{k: row[k] for k in keep} for row in rows]}


@post(
    f"{SCHOOL}/certificates",
    operation_id="certificate_register",
    opt={"action": "certificate.manage"},
    responses=ERRORS,
    summary="Register a personal or organisation certificate, approved by the principal (Điều 9.4)",
)
async def certificate_register(
    request: Request[Any, Any, Any], state: State, school: SchoolId, data: JSONBody[CertificateIn]
) -> dict[str, Any]:
    from cryptography import x509

    raw = data.certificate.strip().encode()
    try:
        cert = (
            x509.load_pem_x509_certificate(raw)
            if raw.startswith(b"-----")
            else x509.load_der_x509_certificate(base64.b64decode(raw, validate=True))
        )
    except ValueError:
        raise ValidationError("certificate.invalid", "chứng thư số không đọc được", "the certificate is unreadable",
                              field="certificate") from None  # fmt: skip
    runtime = runtime_of(state)
    events = await register_certificate(
        ledger_of(state), school, actor_for(principal_of(request), "PRINCIPAL"), cert, runtime.trusted_roots()
    )
    return _appended(events)


@post(
    f"{SCHOOL}/certificates/{{fingerprint:str}}/revoke",
    operation_id="certificate_revoke",
    opt={"action": "certificate.manage"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Record that a certificate is revoked (the principal)",
)
async def certificate_revoke(
    request: Request[Any, Any, Any], state: State, school: SchoolId, fingerprint: Fingerprint,
    data: JSONBody[RevocationIn],
) -> dict[str, Any]:  # fmt: skip
    events = await revoke_certificate(
        ledger_of(state), school, actor_for(principal_of(request), "PRINCIPAL"), fingerprint, data.reason
    )
    return _appended(events)


# --- administration ----------------------------------------------------------------------------


class ImportIn(msgspec.Struct):
    rows: list[dict[str, Any]]
    year: str | None = None


@post(
    f"{SCHOOL}/imports/{{kind:str}}",
    operation_id="import_rows",
    opt={"action": "school.admin"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Import staff, students or assignments as the sector database exports them (docs/IMPORT.md)",
)
async def import_rows(
    request: Request[Any, Any, Any], state: State, school: SchoolId, kind: ImportKind, data: JSONBody[ImportIn]
) -> dict[str, Any]:
    actor = actor_for(principal_of(request), "ADMIN")
    ledger = ledger_of(state)
    if kind == "students":
        report = await importer.import_students(ledger, school, actor, data.rows, data.year)
    elif kind == "staff":
        report = await importer.import_staff(ledger, school, actor, data.rows)
    else:
        report = await importer.import_assignments(ledger, school, actor, data.rows)
    return report.to_json()


class AccountIn(msgspec.Struct):
    username: UsernameField
    kind: Literal["STAFF", "AUDITOR", "INTEGRATION", "GUARDIAN", "STUDENT"]
    staff_id: str | None = None
    student_id: str | None = None
    password: str | None = None


@post(
    f"{SCHOOL}/accounts",
    operation_id="account_create",
    opt={"action": "school.admin"},
    responses=ERRORS,
    summary="Create an account; a generated password or API key is shown once",
)
async def account_create(state: State, school: SchoolId, data: JSONBody[AccountIn]) -> dict[str, Any]:
    runtime = runtime_of(state)
    made = await create_account(
        runtime.engine(),
        school,
        data.username,
        AccountKind(data.kind),
        staff_id=data.staff_id,
        student_id=data.student_id,
        password=data.password,
        now=runtime.clock.now(),
    )
    return {"username": made.username, "kind": made.kind.value, "password": made.password, "api_key": made.api_key}


# --- the ledger and the audit trail ------------------------------------------------------------


@get(
    f"{SCHOOL}/ledger/checkpoint",
    operation_id="ledger_checkpoint",
    opt={"action": "ledger.read"},
    responses=ERRORS,
    summary="The school's latest signed checkpoint (docs/LEDGER-FORMAT.md §6)",
)
async def ledger_checkpoint(state: State, school: SchoolId) -> Response[Any]:
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        latest = await store.latest_checkpoint(conn, school)
    if latest is None:
        return problem(404, "no checkpoint has been signed yet", "Chưa có điểm kiểm (checkpoint) nào được ký.")
    return Response(latest.checkpoint.to_json())


@get(
    f"{SCHOOL}/ledger/verify",
    operation_id="ledger_verify",
    opt={"action": "ledger.verify"},
    responses=ERRORS,
    summary="Verify the school's chain and checkpoints now",
)
async def ledger_verify(state: State, school: SchoolId) -> dict[str, Any]:
    runtime = runtime_of(state)
    report = await verify(runtime.engine(AUDITOR_ROLE), runtime.trusted_roots(), [school])
    return report.to_json()


def _page(rows: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    items = [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()} for row in rows]
    cursor = str(rows[-1]["entry"]) if len(rows) == limit else None
    return {"items": items, "next": cursor}


@get(
    f"{SCHOOL}/audit/access",
    operation_id="audit_access",
    opt={"action": "audit.read"},
    responses=ERRORS,
    summary="Access entries: who accessed a student, what a user did, refused attempts",
)
async def audit_access(
    state: State,
    school: SchoolId,
    student: FromQuery[str | None] = None,
    user: FromQuery[str | None] = None,
    outcome: FromQuery[Literal["allowed", "denied", "refused", "failed"] | None] = None,
    cursor: Annotated[int | None, QueryParameter(ge=1)] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        rows = await query_access(
            conn, school, student=student, username=user, outcome=outcome, before_entry=cursor, limit=limit
        )
    return _page(rows, limit)


@get(
    f"{SCHOOL}/audit/alerts",
    operation_id="audit_alerts",
    opt={"action": "audit.read"},
    responses=ERRORS,
    summary="Alerts raised by the unusual-access rules (Điều 20.3)",
)
async def audit_alerts(state: State, school: SchoolId) -> dict[str, Any]:
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        rows = await query_alerts(conn, school)
    return {
        "items": [
            {k: (str(v) if not isinstance(v, dict | list | int | None) else v) for k, v in r.items()} for r in rows
        ]
    }


@get(
    f"{SCHOOL}/students/{{student:str}}/viewers",
    operation_id="student_viewers",
    opt={"action": "student.viewers"},
    responses=ERRORS,
    summary="Who viewed this student's record, and when (for guardians)",
)
async def student_viewers(
    state: State,
    school: SchoolId,
    student: StudentId,
    cursor: Annotated[int | None, QueryParameter(ge=1)] = None,
) -> dict[str, Any]:
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        rows = await query_access(conn, school, student=student, outcome="allowed", before_entry=cursor, limit=100)
    viewers = [
        {"entry": r["entry"], "at": r["at"], "username": r["username"], "roles": r["roles"], "action": r["action"]}
        for r in rows
    ]
    return _page(viewers, 100)


ROUTES = [
    health,
    ready,
    auth_token,
    auth_challenge,
    auth_certificate,
    me,
    me_password,
    assessment_evaluate,
    student_transcript,
    hocba_xml_read,
    signature_prepare,
    signature_submit,
    hocba_pdf_read,
    signature_submit_pdf,
    time_stamp,
    pki_crl,
    certificate_list,
    hocba_issue,
    integration_feed,
    student_issued,
    student_issued_document,
    student_record_signed,
    issued_list,
    issued_revoke,
    transfer_open,
    transfer_paper,
    transfer_list,
    transfer_prepare,
    transfer_submit,
    transfer_record,
    transfer_receive,
    certificate_register,
    certificate_revoke,
    get_class_summary,
    sheet_read,
    sheet_write,
    sheet_import,
    sheet_reconcile,
    sheet_signature_status,
    sheet_signature_prepare,
    sheet_signature_submit,
    conduct_write,
    absences_write,
    homeroom_comments_write,
    reassessments_write,
    summer_conduct_write,
    import_rows,
    account_create,
    ledger_checkpoint,
    ledger_verify,
    audit_access,
    audit_alerts,
    student_viewers,
    calendar_set,
    calendar_read,
    lock_set,
    correction_file_sheet,
    correction_file_conduct,
    correction_list,
    correction_read,
    correction_approve,
    correction_reject,
]
