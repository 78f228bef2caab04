"""The sending side: opening a transfer record (or a paper one), and the principal's signature and the
clerk's seal on it (Điều 26)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import date
from typing import Any

from cryptography import x509
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base.clock import VN_TZ
from ledger.base.errors import Conflict, NotFound, Refused, ValidationError
from ledger.format.envelope import Actor, Event, NewEvent
from ledger.log.append import Ledger, SchoolSession
from ledger.log.projection import read
from ledger.school.assessments.tables import (
    absences,
    assessments,
    conduct,
    subject_comments,
)
from ledger.school.issuance.commands import store_document
from ledger.school.issuance.queries import stored_document
from ledger.school.issuance.tables import issued
from ledger.school.rules import identity
from ledger.school.rules.roles import Role
from ledger.school.signatures.certificates import registered_certificate
from ledger.school.signatures.commands import checked_signing_time, parse_submitted, signing_actor
from ledger.school.transcripts.hocba import school_part, student_part
from ledger.school.transfers.queries import record_as_it_stands
from ledger.school.transfers.tables import ORDER, RULE, TRANSFER_OPENED, TRANSFER_SIGNED, WITHDRAWAL_REASON, transfers
from ledger.school.years.commands import withdrawal
from ledger.school.years.queries import holds, year_row
from ledger.school.years.tables import classes, students
from signing import transfer as record_xml
from signing.xml import document as hocba_xml
from signing.xml import verify as xml_verify


def transfer_refusal(code: str, vi: str, en: str, field: str = "transfer") -> Refused:
    return Refused(code, vi, en, field=field, rule=RULE)


async def require_handler(session: SchoolSession, actor: Actor, *roles: Role) -> None:
    today = session.now().astimezone(VN_TZ).date()
    for role in roles:
        if await holds(session, str(actor.user), role, today):
            return
    raise transfer_refusal(
        "transfer.role",
        "Chỉ hiệu trưởng hoặc văn thư của trường xử lý hồ sơ chuyển trường.",
        "Only the principal or the clerk of the school handles transfer records.",
        field="actor",
    )


async def _profile(conn: AsyncConnection, school: str, student: str) -> dict[str, Any]:
    rows = await read(conn, students, school, student_id=student)
    if not rows:
        raise NotFound("student.unknown", "học sinh chưa có hồ sơ", "the student has no record", field="student")
    return rows[0]


async def _issued_copies(conn: AsyncConnection, school: str, student: str) -> list[record_xml.IssuedCopy]:
    """Every học bạ of the student that stands here: issued by this school or inherited by it."""
    copies = []
    for row in await read(conn, issued, school, student_id=student, order_by=["year", "issuance_id"]):
        if row["status"] not in ("issued", "inherited") or row["xml_sha256"] is None:
            continue
        xml = await stored_document(conn, school, row["xml_sha256"])
        truong = hocba_xml.parse(xml).find(f"{hocba_xml.tag('HoSo')}/{hocba_xml.tag('Truong')}")
        name = truong.get("Ten", "") if truong is not None else ""
        copies.append(
            record_xml.IssuedCopy(
                row["issuance_id"], row["year"], name, xml, await stored_document(conn, school, row["pdf_sha256"])
            )
        )
    return copies


async def _results_so_far(
    conn: AsyncConnection, school: str, year: str, student: str, class_id: str
) -> record_xml.Results:
    [opened] = await read(conn, classes, school, year=year, class_id=class_id)
    results = record_xml.Results(year, class_id, int(opened["grade"]))
    keys: dict[str, Any] = {"year": year, "student_id": student}
    for r in await read(conn, assessments, school, **keys):
        results.assessments.append(
            {"subject": r["subject"], "term": r["term"], "kind": r["kind"], "slot": r["slot"], "value": r["value"]}
        )
    for r in await read(conn, subject_comments, school, **keys):
        results.comments.append({"subject": r["subject"], "term": r["term"], "text": r["text"]})
    results.conduct = {r["term"]: r["level"] for r in await read(conn, conduct, school, **keys)}
    results.absences = {r["term"]: (r["excused"], r["unexcused"]) for r in await read(conn, absences, school, **keys)}
    return results


async def _open(
    ledger: Ledger,
    school: str,
    actor: Actor,
    student: str,
    kind: str,
    departure: date,
    *,
    year: str | None = None,
    other_school: str | None = None,
    scans: Sequence[record_xml.Scan] = (),
) -> Event:
    async def decide(session: SchoolSession) -> list[NewEvent]:
        conn = session.conn
        await require_handler(session, actor, Role.CLERK, Role.PRINCIPAL)
        profile = await _profile(conn, session.school, student)
        earlier = await read(conn, transfers, session.school, student_id=student)
        pending = [r for r in earlier if r["status"] in ("opened", "signed")]
        if pending:
            raise Conflict(
                "transfer.pending",
                "Học sinh đã có một hồ sơ chuyển trường đang chờ ký.",
                "The student already has a transfer record waiting for signatures.",
                field="student",
                transfer=pending[0]["transfer_id"],
            )
        events: list[NewEvent] = []
        results = None
        if kind == "mid_year":
            assert year is not None
            await year_row(session, year)
            leaving = await withdrawal(session, actor, year, student, departure, WITHDRAWAL_REASON)
            results = await _results_so_far(conn, session.school, year, student, leaving.payload["class"])
            events.append(leaving)
        transfer_id = f"{session.school}-ct-{student}-{len(earlier) + 1}"
        root = record_xml.build(
            transfer_id,
            await school_part(conn, session.school),
            student_part(student, profile),
            kind=kind,
            departure=departure.isoformat(),
            ministry_code=profile["ministry_code"],
            guardians=profile["guardians"] or [],
            to_school=other_school if kind != "paper" else None,
            from_school=other_school if kind == "paper" else None,
            issued=await _issued_copies(conn, session.school, student) if kind != "paper" else (),
            results=results,
            scans=scans,
        )
        unsigned = await store_document(conn, session.school, hocba_xml.to_bytes(root), "application/xml")
        payload = {
            "transfer": transfer_id,
            "student": student,
            "kind": kind,
            "departure": departure.isoformat(),
            "year": year,
            "other_school": other_school,
            "unsigned_sha256": unsigned,
            "direction": "paper" if kind == "paper" else "out",
        }
        return [*events, NewEvent(TRANSFER_OPENED, payload, actor)]

    events = await ledger.decide(school, decide)
    return events[-1]


async def open_transfer(
    ledger: Ledger,
    school: str,
    actor: Actor,
    student: Any,
    *,
    departure: Any,
    to_school: str | None = None,
    year: str | None = None,
) -> Event:
    """Open the record of a student leaving for another school: before the school year starts
    (`year` None: the issued years move) or mid-year (`year`: its results up to `departure` move too)."""
    kind = "mid_year" if year else "before_year"
    return await _open(
        ledger,
        school,
        actor,
        identity.personal_id(student),
        kind,
        identity.parse_date(departure, "departure"),
        year=identity.school_year(year) if year else None,
        other_school=identity.text(to_school, "to_school", required=False),
    )


async def open_paper(
    ledger: Ledger,
    school: str,
    actor: Actor,
    student: Any,
    *,
    arrival: Any,
    from_school: str,
    scans: Sequence[record_xml.Scan],
) -> Event:
    """Open the record of a student arriving from a paper-based school: the scanned pages of the paper
    học bạ, for this school's principal to sign and its clerk to seal (Điều 26.3a)."""
    if not scans:
        raise ValidationError("transfer.scans", "cần ít nhất một trang quét", "at least one scanned page", field="scan")
    for index, scan in enumerate(scans):
        identity.school_year(scan.year, f"scan[{index}].year")
        if scan.media_type not in ("application/pdf", "image/png", "image/jpeg") or not scan.content:
            raise ValidationError(
                "transfer.scan_type",
                "trang quét phải là tệp PDF, PNG hoặc JPEG",
                "a scanned page is a PDF, PNG or JPEG file",
                field=f"scan[{index}]",
            )
    return await _open(
        ledger,
        school,
        actor,
        identity.personal_id(student),
        "paper",
        identity.parse_date(arrival, "arrival"),
        other_school=identity.text(from_school, "from_school"),
        scans=scans,
    )


def _next_role(row: dict[str, Any]) -> str:
    if len(row["signatures"]) >= len(ORDER):
        raise Conflict(
            "transfer.sealed", "Hồ sơ chuyển trường đã được ký và đóng dấu.", "The transfer record is already sealed."
        )
    return ORDER[len(row["signatures"])]


async def prepare_transfer(conn: AsyncConnection, school: str, transfer_id: str, role: str) -> bytes:
    """The record with room for the next signature: the principal's, then the organisation seal."""
    root, row = await record_as_it_stands(conn, school, transfer_id)
    expected = _next_role(row)
    if role != expected:
        raise transfer_refusal(
            "signature.order",
            f"Chưa đến lượt ký của {role}: cần chữ ký của {expected}.",
            f"Not {role}'s turn: {expected} signs next.",
            field="role",
        )
    hocba_xml.add_placeholder(
        root, f"ck-{row['transfer_id'][-12:]}-{role.lower()}", role, hocba_xml.references_for(root, role)
    )
    return hocba_xml.to_bytes(root)


async def submit_transfer(
    ledger: Ledger,
    school: str,
    actor: Actor,
    transfer_id: str,
    signed: bytes,
    trusted_roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
) -> Event:
    """Check the next signature, made on the signer's side, in the record rebuilt here, and record it.
    The organisation seal completes the record, which is then stored as it will be sent."""
    submitted = parse_submitted(signed)

    async def decide(session: SchoolSession) -> list[NewEvent]:
        root, row = await record_as_it_stands(session.conn, session.school, transfer_id)
        role = _next_role(row)
        known = {s["wrapper_id"] for s in row["signatures"]}
        new = [w for w in hocba_xml.wrappers(submitted) if w.get("Id") not in known]
        if len(new) != 1 or new[0].get("VaiTro") != role:
            raise transfer_refusal(
                "signature.count",
                f"Cần đúng một chữ ký mới, của {role}.",
                f"Exactly one new signature is expected, by {role}.",
                field="document",
            )
        wrapper = new[0]
        if (wrapper.get("ThamChieu") or "").split() != hocba_xml.references_for(root, role):
            raise transfer_refusal(
                "signature.references",
                "Chữ ký không tham chiếu đúng các phần của hồ sơ.",
                "The signature does not reference exactly the parts of the record.",
                field="document",
            )
        container = root.find(hocba_xml.tag("ChuKySo"))
        assert container is not None
        container.append(wrapper)
        data = hocba_xml.to_bytes(root)
        report = await xml_verify.verify_signature(data, len(row["signatures"]), trusted_roots, crls)
        signed_at = checked_signing_time(session, report, RULE)
        certificate = await registered_certificate(session, wrapper, signed_at)
        day = signed_at.astimezone(VN_TZ).date()
        user = str(actor.user)
        if role == "PRINCIPAL":
            allowed = certificate["holder"] == user and await holds(session, user, Role.PRINCIPAL, day)
        else:
            allowed = certificate["holder"] == "organisation" and await holds(session, user, Role.CLERK, day)
        if not allowed:
            raise transfer_refusal(
                "signature.not_assigned",
                f"{user} không giữ vai trò {role} vào ngày {day.isoformat()}, "
                "hoặc chứng thư số không phải của người này.",
                f"{user} does not hold {role} on {day.isoformat()}, or the certificate is not theirs.",
                field="actor",
            )
        payload: dict[str, Any] = {
            "transfer": transfer_id,
            "role": role,
            "wrapper_id": wrapper.get("Id"),
            "element": base64.b64encode(hocba_xml.canonical(wrapper)).decode(),
            "signer": certificate["holder"],
            "fingerprint": certificate["fingerprint"],
            "signing_time": report.signing_time,
            "record_sha256": None,
        }
        if role == ORDER[-1]:
            payload["record_sha256"] = await store_document(session.conn, session.school, data, "application/xml")
        return [NewEvent(TRANSFER_SIGNED, payload, signing_actor(actor, role))]

    [event] = await ledger.decide(school, decide)
    return event
