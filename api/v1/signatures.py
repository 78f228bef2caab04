"""Signatures on the học bạ: what a role signs next, and what comes back (Điều 8, 15, 18, 24.5); the
school's time-stamping service and revocation list."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from api.http.problems import ERRORS, UPLOAD_ERRORS, problem
from api.http.scope import PUBLIC, actor_for, ledger_of, principal_of, runtime_of
from api.v1.params import SCHOOL, V1, SchoolId, StudentId, Year
from ledger.app.db import AUDITOR_ROLE
from ledger.app.uploads import within_limits
from ledger.base.errors import Forbidden, ValidationError
from ledger.format.envelope import Actor, Event
from ledger.school.issuance.queries import issued_pdf
from ledger.school.rules.identity import personal_id
from ledger.school.rules.policy import Principal
from ledger.school.signatures.commands import prepare_signature, submit_pdf, submit_signature
from ledger.school.signatures.queries import pdf_document
from ledger.school.signatures.queries import xml_document as signature_document
from ledger.school.signatures.substitutes import Substitution
from ledger.school.transcripts.views import load_student_year
from signing.xml import document as hocba_xml

SigningRole = Literal["SUBJECT_TEACHER", "HOMEROOM_TEACHER", "PRINCIPAL", "ORGANISATION"]


OnBehalfOf = (
    Annotated[
        str,
        msgspec.Meta(
            max_length=100, description="signing in a departed teacher's place: their staff id (Điều 18.5, 18.7)"
        ),
    ]
    | None
)
Decision = (
    Annotated[
        str, msgspec.Meta(max_length=300, description="the decision the substitute signs under (Điều 18.5, 18.7)")
    ]
    | None
)


class PrepareIn(msgspec.Struct):
    role: SigningRole
    subject: str | None = None
    on_behalf_of: OnBehalfOf = None
    decision: Decision = None


class SignedIn(msgspec.Struct):
    document: Annotated[str, msgspec.Meta(min_length=1, max_length=4_000_000, description="base64 of the signed XML")]


class SignedHocBaIn(msgspec.Struct):
    """A signed XML học bạ; in a departed teacher's place, as prepared (Điều 18.5, 18.7)."""

    document: Annotated[str, msgspec.Meta(min_length=1, max_length=4_000_000, description="base64 of the signed XML")]
    on_behalf_of: OnBehalfOf = None
    decision: Decision = None


def signer_of(request: Request[Any, Any, Any]) -> Actor:
    """The signed-in signer; the ledger checks which role they signed in."""
    principal = principal_of(request)
    return actor_for(principal, principal.grants[0].role.value if principal.grants else "STAFF")


def may_sign_as(
    principal: Principal, role: str, year: str, class_id: str, subject: str | None, in_place: bool = False
) -> bool:
    """The signer prepares only for a role they hold for this student, or, in a departed teacher's
    place, as the principal (Điều 18.7); the service checks it again, with the certificate and the
    assignments, when the signature comes back."""
    for grant in principal.grants:
        if in_place and role in ("SUBJECT_TEACHER", "HOMEROOM_TEACHER") and grant.role.value == "PRINCIPAL":
            return True
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
    request: Request[Any, Any, Any],
    state: State,
    school: str,
    year: str,
    student: str,
    role: str,
    subject: str | None,
    substitution: Substitution | None = None,
) -> dict[str, Any]:
    """What the signed-in signer signs next for this student in `role`: refused unless they hold the
    role for the student (the service checks it again, with the certificate, when it comes back); with
    `substitution`, in a departed teacher's place (Điều 18.5, 18.7)."""
    runtime = runtime_of(state)
    principal = principal_of(request)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        await check_signer(conn, principal, school, year, student, role, subject, substitution is not None)
        return await prepare_signature(
            conn,
            school,
            year,
            student,
            role,
            subject,
            runtime.clock.now(),
            substitution=substitution,
            signer=principal.staff_id,
        )


async def check_signer(
    conn: Any,
    principal: Principal,
    school: str,
    year: str,
    student: str,
    role: str,
    subject: str | None,
    in_place: bool = False,
) -> None:
    """Refuse a signer who does not hold `role` for this student's class (and subject) this year, nor,
    signing in a departed teacher's place, is the principal."""
    personal_id(student)
    class_id = (await load_student_year(conn, school, year, student)).class_id
    if not may_sign_as(principal, role, year, class_id, subject, in_place):
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
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    student: StudentId,
    year: Year,
    data: JSONBody[PrepareIn],
) -> dict[str, Any]:
    substitution = Substitution.of(data.on_behalf_of, data.decision)
    prepared = await prepare_for(request, state, school, year, student, data.role, data.subject, substitution)
    return {**prepared, "document": base64.b64encode(prepared["document"]).decode()}


async def submit_for(
    request: Request[Any, Any, Any],
    state: State,
    school: str,
    year: str,
    student: str,
    signed: bytes,
    substitution: Substitution | None = None,
) -> Event:
    """A signed học bạ from the signed-in signer, checked against the installation's roots and
    revocation lists and timestamped by the school's authority (the API's and the pages' one path);
    with `substitution`, signed in a departed teacher's place (Điều 18.5, 18.7)."""
    runtime = runtime_of(state)
    await within_limits(runtime, signed)
    async with runtime.revocation() as online:
        return await submit_signature(
            ledger_of(state),
            school,
            signer_of(request),
            year,
            student,
            signed,
            runtime.trusted_roots(),
            runtime.crls(),
            runtime.stamp(),
            substitution,
            online=online,
        )


@post(
    f"{SCHOOL}/students/{{student:str}}/signatures",
    operation_id="signature_submit",
    opt={"action": "signature.write"},
    responses=UPLOAD_ERRORS,
    summary="Submit a document signed on the signer's side; it is checked and its signature recorded",
)
async def signature_submit(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    student: StudentId,
    year: Year,
    data: JSONBody[SignedHocBaIn],
) -> dict[str, Any]:
    personal_id(student)
    substitution = Substitution.of(data.on_behalf_of, data.decision)
    event = await submit_for(request, state, school, year, student, base64_body(data.document), substitution)
    return {
        "seq": event.seq,
        "wrapper_id": event.payload["wrapper_id"],
        "role": event.payload["role"],
        "parts": event.payload["parts"],
        "signing_time": event.payload["signing_time"],
        "trusted_time": event.payload["trusted_time"],
        "on_behalf_of": event.payload.get("on_behalf_of"),
        "decision": event.payload.get("decision"),
    }


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
    runtime = runtime_of(state)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        # once issued, the PDF as issued: archived for the long term (PAdES-B-LTA)
        data = await issued_pdf(conn, school, year, student)
        if data is None:
            data, _ = await pdf_document(conn, school, year, student, runtime.verification())
    return Response(data, media_type="application/pdf")


@post(
    f"{SCHOOL}/students/{{student:str}}/signatures/pdf",
    operation_id="signature_submit_pdf",
    opt={"action": "signature.write"},
    responses=UPLOAD_ERRORS,
    summary="Submit the PDF học bạ signed on the signer's side: the principal, then the clerk's seal (Điều 13)",
)
async def signature_submit_pdf(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    student: StudentId,
    year: Year,
    data: JSONBody[SignedIn],
) -> dict[str, Any]:
    personal_id(student)
    event = await submit_pdf_for(request, state, school, year, student, base64_body(data.document))
    return {"seq": event.seq, "role": event.payload["role"], "signing_time": event.payload["signing_time"]}


async def submit_pdf_for(
    request: Request[Any, Any, Any], state: State, school: str, year: str, student: str, signed: bytes
) -> Event:
    """A signed PDF học bạ from the signed-in signer, checked against the installation's roots and
    revocation lists (the API's and the pages' one path)."""
    runtime = runtime_of(state)
    await within_limits(runtime, signed)
    return await submit_pdf(
        ledger_of(state),
        school,
        signer_of(request),
        year,
        student,
        signed,
        runtime.trusted_roots(),
        runtime.crls(),
        verification=runtime.verification(),
    )


async def signed_body(state: State, data: SignedIn) -> bytes:
    """The signed document a signer submits: base64, within the installation's upload limits."""
    signed = base64_body(data.document)
    await within_limits(runtime_of(state), signed)
    return signed


def class_signature_answer(event: Event) -> dict[str, Any]:
    """What the API answers when a class document's signature is recorded (Điều 18.3, 18.4)."""
    return {"seq": event.seq, "signing_time": event.payload["signing_time"], "digest": event.payload["digest"]}


def base64_body(text: str) -> bytes:
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

    runtime = runtime_of(state)
    if runtime.settings.production:
        return problem(404, "no time-stamping authority here", "Máy chủ này không cấp dấu thời gian.")
    body = await request.body()
    try:
        query = tsp.TimeStampReq.load(body)
        query.native  # noqa: B018 - parse it all now
    except (ValueError, TypeError):
        return problem(422, "not an RFC 3161 time-stamp request", "Không phải yêu cầu cấp dấu thời gian RFC 3161.")
    reply = await runtime.time_stamper().async_request_tsa_response(query)
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
