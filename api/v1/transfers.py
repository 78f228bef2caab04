"""Transfer records between schools (Điều 26)."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from api.http.problems import ERRORS, UPLOAD_ERRORS
from api.http.scope import ledger_of, runtime_of
from api.v1.params import SCHOOL, SchoolId, TransferId, appended
from api.v1.signatures import SignedIn, base64_body, signer_of
from ledger.app.db import AUDITOR_ROLE
from ledger.app.uploads import within_limits
from ledger.log.projection import read
from ledger.school.transfers.commands import open_paper, open_transfer, prepare_transfer, submit_transfer
from ledger.school.transfers.queries import sealed_record
from ledger.school.transfers.receiving import receive
from ledger.school.transfers.tables import transfers
from signing.transfer import Scan


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
        ledger_of(state),
        school,
        signer_of(request),
        data.student,
        departure=data.departure or _today(state),
        to_school=data.to_school,
        year=data.year,
    )
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
    scans = [Scan(scan.year, scan.media_type, base64_body(scan.content)) for scan in data.scans]
    event = await open_paper(
        ledger_of(state),
        school,
        signer_of(request),
        data.student,
        arrival=data.arrival or _today(state),
        from_school=data.from_school,
        scans=scans,
    )
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
    responses=UPLOAD_ERRORS,
    summary="Submit the transfer record signed on the signer's side; it is checked and the signature recorded",
)
async def transfer_submit(
    request: Request[Any, Any, Any], state: State, school: SchoolId, transfer: TransferId, data: JSONBody[SignedIn]
) -> dict[str, Any]:
    runtime = runtime_of(state)
    signed = base64_body(data.document)
    await within_limits(runtime, signed)
    event = await submit_transfer(
        ledger_of(state),
        school,
        signer_of(request),
        transfer,
        signed,
        runtime.trusted_roots(),
        runtime.crls(),
    )
    return {
        "seq": event.seq,
        "role": event.payload["role"],
        "signing_time": event.payload["signing_time"],
        "record_sha256": event.payload["record_sha256"],
    }


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
    responses=UPLOAD_ERRORS,
    summary="Receive a sealed transfer record: every signature and receipt is verified, then its history "
    "is inherited, not re-created (Điều 26.1c)",
)
async def transfer_receive(
    request: Request[Any, Any, Any], state: State, school: SchoolId, data: JSONBody[ReceiveIn]
) -> dict[str, Any]:
    runtime = runtime_of(state)
    record = base64_body(data.document)
    await within_limits(runtime, record)
    events = await receive(
        ledger_of(state),
        school,
        signer_of(request),
        record,
        year=data.year,
        class_id=data.class_id,
        since=data.since,
        trusted_roots=runtime.trusted_roots(),
        crls=runtime.crls(),
    )
    return appended(events)
