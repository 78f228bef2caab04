"""The public verification portal (the regulation's Điều 2.14, 31; DOMAIN §8). No account is needed;
every request is recorded in the access trail like any other, and each address (each IPv6 /64
network) is limited to PORTAL_REQUESTS requests per PORTAL_WINDOW.

- Verify: upload an XML or PDF học bạ and get the verification report (signatures, the ledger
  receipt), where the receipt's tree stands today against the school's live ledger and its
  witnesses (ledger.app.standing), and whether the school issued this very file, and later revoked
  or replaced it.
- Look up: a record by học bạ id, the student's name, date of birth, personal identifier and the
  verification code printed on the PDF học bạ (ledger.school.transcripts.verification); all five
  must match. The code of one issuance given before the PDF printed one still matches it.
- Send again: a guardian asks for lost files by personal identifier and registered phone number;
  the files go to that phone through the notifier (api.notify), and the answer never says whether
  the details matched.
"""

from __future__ import annotations

import hashlib
import ipaddress
import unicodedata
from datetime import timedelta
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, post
from litestar.datastructures import State
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED
from sqlalchemy import or_, select

from api.http.media import documented
from api.http.problems import ERRORS, UPLOAD_ERRORS, problem
from api.http.scope import PUBLIC, entry_of, runtime_of
from ledger.app.db import AUDITOR_ROLE
from ledger.app.limits import Limit, reserve
from ledger.app.runtime import Runtime
from ledger.app.standing import standing
from ledger.app.tokens import token_secret
from ledger.app.uploads import verified
from ledger.base.errors import TooLarge
from ledger.format.checkpoint import TreeRef
from ledger.format.envelope import SERVICE_CHAIN
from ledger.log.projection import read
from ledger.school.issuance.queries import lookup_code, stored_document
from ledger.school.issuance.tables import issued
from ledger.school.transcripts.verification import verification_code
from ledger.school.years.tables import students

V1 = "/api/v1"
PORTAL_REQUESTS = 30
PORTAL_WINDOW = timedelta(minutes=10)
MAX_UPLOAD = 10 * 1024 * 1024  # bytes


def counted_address(host: str | None) -> str:
    """Whose requests the portal's limit counts together: an IPv4 address, or an IPv6 address's /64
    network (one subscriber's, who may use any of its 2**64 addresses); an IPv4 address written as
    IPv6 counts as itself."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return host or "-"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


async def throttled(request: Request[Any, Any, Any], state: State) -> Response[Any] | None:
    """A 429 once this address (`counted_address`) has made PORTAL_REQUESTS portal requests within the
    current window of PORTAL_WINDOW. Every request is counted in the database before it is answered
    (ledger.app.limits), so simultaneous requests cannot all pass the limit."""
    runtime = runtime_of(state)
    client = request.client.host if request.client else None
    limits = [Limit(f"portal:address:{counted_address(client)}", PORTAL_REQUESTS)]
    reservation = await reserve(runtime.engine(), SERVICE_CHAIN, limits, PORTAL_WINDOW, runtime.clock.now())
    if reservation.over is not None:
        entry_of(request).reason = "portal.rate_limited"
        minutes = PORTAL_WINDOW.seconds // 60
        return problem(
            429,
            f"too many requests from this address: at most {PORTAL_REQUESTS} every {minutes} minutes",
            f"Quá nhiều yêu cầu từ địa chỉ này: tối đa {PORTAL_REQUESTS} lần mỗi {minutes} phút.",
            retry_after=reservation.retry_after,
        )
    return None


def _issued_out(row: dict[str, Any], school: str) -> dict[str, Any]:
    keep = (
        "issuance_id",
        "hocba_id",
        "year",
        "class_id",
        "status",
        "issued_on",
        "replaced_by",
        "replaces",
        "xml_sha256",
        "pdf_sha256",
    )
    return {"school": school, **{k: row[k] for k in keep}}


@post(
    f"{V1}/portal/verify",
    operation_id="portal_verify",
    operation_class=documented(takes=("application/xml", "application/pdf")),
    opt={"action": PUBLIC},
    status_code=HTTP_200_OK,
    responses=UPLOAD_ERRORS,
    request_max_body_size=MAX_UPLOAD,
    summary="Upload an XML or PDF học bạ (the request body, at most 10 MB and 50 signatures): its verification report",
)
async def portal_verify(request: Request[Any, Any, Any], state: State) -> Response[Any]:
    blocked = await throttled(request, state)
    if blocked is not None:
        return blocked
    body = await request.body()
    if not body:
        return problem(
            422,
            "send the XML or PDF file as the request body, at most 10 MB",
            "Hãy gửi tệp XML hoặc PDF trong thân yêu cầu, tối đa 10 MB.",
            field="body",
        )
    if len(body) > MAX_UPLOAD:
        raise upload_too_large()
    outcome = await verification(runtime_of(state), body)
    if outcome["issued"] is not None:
        entry_of(request).touch([outcome.pop("student")])
    outcome.pop("student", None)
    return Response(outcome)


def upload_too_large() -> TooLarge:
    return TooLarge(
        "upload.too_large",
        "Tệp lớn hơn giới hạn 10 MB.",
        "The file is larger than 10 MB.",
        field="body",
        rule="Điều 20",
    )


async def verification(runtime: Runtime, body: bytes) -> dict[str, Any]:
    """The report of an uploaded file (verified in a worker process, within the upload limits of
    ledger.app.uploads), and the issuance whose XML or PDF is exactly this file."""
    report = await verified(runtime, body)
    digest = hashlib.sha256(body).hexdigest()
    t = issued
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        query = select(t).where(or_(t.c.xml_sha256 == digest, t.c.pdf_sha256 == digest))
        rows = (await conn.execute(query)).mappings().all()
        row = next((r for r in rows if r["seq_to"] is None), None)
        if row is None and rows:
            # a PDF as issued before its document timestamp was renewed: its issuance as it stands now
            earlier = rows[0]
            current = select(t).where(
                t.c.school_id == earlier["school_id"],
                t.c.issuance_id == earlier["issuance_id"],
                t.c.seq_to.is_(None),
            )
            row = (await conn.execute(current)).mappings().first()
    found = _issued_out(dict(row), row["school_id"]) if row is not None else None
    held = report["receipt"]
    ledger = None
    if held is not None and held.get("ok"):
        tree = TreeRef(int(held["checkpoint_tree_size"]), bytes.fromhex(held["checkpoint_root"]))
        ledger = (await standing(runtime, held["school"], tree)).to_json()
    return {
        "report": report,
        "ledger": ledger,
        "issued": found,
        "revoked": found is not None and found["status"] == "revoked",
        "sha256": digest,
        "student": row["student_id"] if row is not None else None,
    }


class LookupIn(msgspec.Struct):
    school: Annotated[str, msgspec.Meta(min_length=2, max_length=63)]
    hocba_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    full_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    birth_date: Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    student_id: Annotated[str, msgspec.Meta(pattern=r"^\d{12}$")]
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]


def _name(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


@post(
    f"{V1}/portal/lookup",
    operation_id="portal_lookup",
    opt={"action": PUBLIC},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Look up an issued học bạ: id, name, date of birth, personal identifier and verification code",
)
async def portal_lookup(request: Request[Any, Any, Any], state: State, data: JSONBody[LookupIn]) -> Response[Any]:
    blocked = await throttled(request, state)
    if blocked is not None:
        return blocked
    found = await lookup(runtime_of(state), data)
    if found is None:
        entry_of(request).reason = "portal.no_match"
        return problem(404, "no issued học bạ matches all five details", "Không có học bạ nào khớp cả năm thông tin.")
    entry_of(request).touch([data.student_id])
    return Response({"issued": found})


def _code(text: str) -> str:
    """A verification code as people type it back: any case, with or without its hyphen or spaces."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


async def lookup(runtime: Runtime, data: LookupIn) -> dict[str, Any] | None:
    """The issued học bạ that matches all five details of Điều 2.14, or None."""
    secret = token_secret(runtime.settings)
    printed = _code(verification_code(secret, data.school, data.hocba_id))
    code = _code(data.code)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        rows = await read(conn, issued, data.school, hocba_id=data.hocba_id, student_id=data.student_id)
        people = await read(conn, students, data.school, student_id=data.student_id)
    person = people[0] if people else None
    matches = [
        r
        for r in rows
        if person is not None
        and _name(person["full_name"]) == _name(data.full_name)
        and person["date_of_birth"].isoformat() == data.birth_date
        and code in {printed, _code(lookup_code(secret, data.school, r["issuance_id"]))}
    ]
    return _issued_out(matches[-1], data.school) if matches else None


class ResendIn(msgspec.Struct):
    school: Annotated[str, msgspec.Meta(min_length=2, max_length=63)]
    student_id: Annotated[str, msgspec.Meta(pattern=r"^\d{12}$")]
    phone: Annotated[str, msgspec.Meta(min_length=9, max_length=15)]


def _digits(phone: str) -> str:
    digits = "".join(c for c in phone if c.isdigit())
    return "0" + digits[2:] if digits.startswith("84") else digits


@post(
    f"{V1}/portal/resend",
    operation_id="portal_resend",
    opt={"action": PUBLIC},
    status_code=HTTP_202_ACCEPTED,
    responses=ERRORS,
    summary="A guardian asks for lost files: sent to the registered phone if the details match",
)
async def portal_resend(request: Request[Any, Any, Any], state: State, data: JSONBody[ResendIn]) -> Response[Any]:
    blocked = await throttled(request, state)
    if blocked is not None:
        return blocked
    runtime = runtime_of(state)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        people = await read(conn, students, data.school, student_id=data.student_id)
        guardians = (people[0]["guardians"] or []) if people else []
        registered = {_digits(g.get("phone") or "") for g in guardians} - {""}
        documents = []
        if _digits(data.phone) in registered:
            for row in await read(conn, issued, data.school, student_id=data.student_id, status="issued"):
                for fmt in ("xml", "pdf"):
                    if row[f"{fmt}_sha256"]:
                        name = f"{row['hocba_id']}.{fmt}"
                        documents.append((name, await stored_document(conn, data.school, row[f"{fmt}_sha256"])))
    if documents:
        entry_of(request).touch([data.student_id])
        await state.notifier.send(data.school, data.student_id, _digits(data.phone), documents)
    else:
        entry_of(request).reason = "portal.resend_no_match"
    return Response(
        {
            "accepted": True,
            "message": "If the details match a registered guardian, the files are sent to that phone.",
            "message_vi": "Nếu thông tin khớp với người giám hộ đã đăng ký, tệp sẽ được gửi tới số điện thoại đó.",
        },
        status_code=HTTP_202_ACCEPTED,
    )


PORTAL_ROUTES = [portal_verify, portal_lookup, portal_resend]
