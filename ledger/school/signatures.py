"""Certificates and signatures in the ledger (the regulation's Điều 7–15, 18, 24.5; DOMAIN §6–7).

- Certificates are registered as events approved by the principal (Điều 9.4), and revoked the same
  way. A signature counts only with a registered certificate that was not revoked when it signed.
- Signing keys never reach the service. `prepare` builds the XML học bạ as it stands, with room for
  the next signature and the references that role must sign; the signer signs on their side
  (`hocba sign`, signing.xml.sign_prepared) and `submit` checks the result against a document the
  service rebuilds itself, then appends `signature.added` with the signature element.
- Signing order: every subject teacher, then the homeroom teacher, then the principal, then the
  clerk with the organisation certificate (Điều 18, 24.5).
- A correction or a summer result marks stale the signature over the changed part and every later
  one (they cover it); stale signatures leave the document and must be made again (Điều 17.3).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import BigInteger, Boolean, Column, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base.clock import VN_TZ, format_time, parse_time
from ledger.base.errors import Conflict, NotFound, Refused, ValidationError
from ledger.format.envelope import Actor, Event, NewEvent
from ledger.log.append import Ledger, SchoolSession
from ledger.log.projection import Projection, ProjectionWriter, read
from ledger.log.schema import projection_table
from ledger.school.assessments import REASSESSMENT_RECORDED, SUMMER_CONDUCT_RECORDED
from ledger.school.corrections import ASSESSMENT_CORRECTED, CONDUCT_CORRECTED
from ledger.school.hocba import document_model
from ledger.school.rules.roles import Role
from ledger.school.years import holds, roster, staff
from signing.x509.certs import issued_by, san_uris
from signing.x509.pki import organisation_uri, staff_uri
from signing.xml import document as hocba_xml

CERTIFICATE_REGISTERED = "certificate.registered"
CERTIFICATE_REVOKED = "certificate.revoked"
SIGNATURE_ADDED = "signature.added"
CLOCK_SKEW = timedelta(minutes=5)  # how far a signer's clock may run ahead of the service's

certificates = projection_table(
    "certificates",
    keys=[Column("fingerprint", Text)],
    values=[
        Column("holder", Text),  # a staff id, or "organisation"
        Column("serial", Text),
        Column("subject", Text),
        Column("not_before", Text),
        Column("not_after", Text),
        Column("der", Text),
        Column("approved_by", Text),
        Column("revoked_at", Text),
        Column("revocation_reason", Text),
    ],
)
signatures = projection_table(
    "signatures",
    keys=[Column("year", Text), Column("student_id", Text), Column("wrapper_id", Text)],
    values=[
        Column("position", BigInteger),  # the seq of the signature.added event: signing order
        Column("format", Text),  # "xml", or "pdf" (whose element is the revision the signature added)
        Column("role", Text),
        Column("subject", Text),
        Column("parts", JSONB),
        Column("digests", JSONB),
        Column("signer", Text),
        Column("fingerprint", Text),
        Column("signing_time", Text),
        Column("issued_on", Text),
        Column("element", Text),  # base64 of the canonical ChuKy element
        Column("stale", Boolean),
    ],
)


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def _holder(cert: x509.Certificate, school: str) -> str | None:
    prefix = staff_uri(school, "")
    for uri in san_uris(cert):
        if uri == organisation_uri(school):
            return "organisation"
        if uri.startswith(prefix):
            return uri[len(prefix) :]
    return None


async def _principal(session: SchoolSession, actor: Actor) -> None:
    if not await holds(session, str(actor.user), Role.PRINCIPAL, session.now().date()):
        raise Refused(
            "certificate.approval",
            "Chỉ hiệu trưởng phê duyệt việc đăng ký hay thu hồi chứng thư số.",
            "Only the principal approves registering or revoking a certificate.",
            field="actor",
            rule="Điều 9.4",
        )


async def register_certificate(
    ledger: Ledger, school: str, actor: Actor, cert: x509.Certificate, trusted_roots: Sequence[x509.Certificate]
) -> list[Event]:
    """Register a staff member's personal certificate or the school's organisation certificate."""
    if not any(issued_by(cert, root) for root in trusted_roots):
        raise ValidationError(
            "certificate.untrusted",
            "chứng thư số không do tổ chức được tin cậy cấp",
            "the certificate is not issued by a trusted root",
            field="certificate",
            rule="Điều 9",
        )
    holder = _holder(cert, school)
    if holder is None:
        raise ValidationError(
            "certificate.holder",
            f"chứng thư số không cấp cho cán bộ hay tổ chức của trường {school}",
            f"the certificate names no staff member or organisation of school {school}",
            field="certificate",
        )

    async def decide(session: SchoolSession) -> list[NewEvent]:
        await _principal(session, actor)
        if holder != "organisation" and not await read(session.conn, staff, session.school, staff_id=holder):
            raise NotFound(
                "staff.unknown", f"không có cán bộ {holder}", f"no staff member {holder}", field="certificate"
            )
        if await read(session.conn, certificates, session.school, fingerprint=fingerprint(cert)):
            return []
        payload = {
            "fingerprint": fingerprint(cert),
            "holder": holder,
            "serial": format(cert.serial_number, "x"),
            "subject": cert.subject.rfc4514_string(),
            "not_before": format_time(cert.not_valid_before_utc),
            "not_after": format_time(cert.not_valid_after_utc),
            "certificate": base64.b64encode(cert.public_bytes(Encoding.DER)).decode(),
        }
        return [NewEvent(CERTIFICATE_REGISTERED, payload, actor)]

    return await ledger.decide(school, decide)


async def revoke_certificate(
    ledger: Ledger, school: str, actor: Actor, cert_fingerprint: str, reason: str, at: datetime | None = None
) -> list[Event]:
    async def decide(session: SchoolSession) -> list[NewEvent]:
        await _principal(session, actor)
        rows = await read(session.conn, certificates, session.school, fingerprint=cert_fingerprint)
        if not rows:
            raise NotFound("certificate.unknown", "chứng thư số chưa đăng ký", "no such registered certificate")
        if rows[0]["revoked_at"]:
            return []
        when = format_time(at or session.now())
        return [NewEvent(CERTIFICATE_REVOKED, {"fingerprint": cert_fingerprint, "at": when, "reason": reason}, actor)]

    return await ledger.decide(school, decide)


# --- preparing and recording signatures ----------------------------------------------------------


async def current_signatures(
    conn: AsyncConnection, school: str, year: str, student: str, fmt: str = "xml"
) -> list[dict[str, Any]]:
    rows = await read(conn, signatures, school, year=year, student_id=student, stale=False, format=fmt)
    return sorted(rows, key=lambda r: r["position"])


async def document(
    conn: AsyncConnection, school: str, year: str, student: str, *, issued_on: str | None = None
) -> tuple[Any, list[dict[str, Any]]]:
    """The XML học bạ as it stands now: the data, the issuance part once sealed, and the signatures
    that are not stale, in order."""
    model = await document_model(conn, school, year, student)
    rows = await current_signatures(conn, school, year, student)
    sealed = next((r["issued_on"] for r in rows if r["role"] == "ORGANISATION"), None)
    on = sealed or issued_on
    root = hocba_xml.build(
        model,
        issuance={"date": on} if on else None,
        signatures=[base64.b64decode(r["element"]) for r in rows],
    )
    return root, rows


def _missing_before(role: str, rows: list[dict[str, Any]], subjects: list[str]) -> list[str]:
    """What must be signed before `role` may sign (Điều 18): the roles still missing."""
    signed_subjects = {r["subject"] for r in rows if r["role"] == "SUBJECT_TEACHER"}
    roles = {r["role"] for r in rows}
    missing = [f"SUBJECT_TEACHER:{s}" for s in subjects if s not in signed_subjects]
    order = ["HOMEROOM_TEACHER", "PRINCIPAL", "ORGANISATION"]
    if role == "SUBJECT_TEACHER":
        return []
    needed = order[: order.index(role)]
    return missing + [r for r in needed if r not in roles]


async def prepare(
    conn: AsyncConnection, school: str, year: str, student: str, role: str, subject: str | None, today: date
) -> dict[str, Any]:
    """What a signer of `role` signs now for one student's year."""
    if role not in hocba_xml.ROLES:
        raise ValidationError("signature.role", "vai trò ký không hợp lệ", "unknown signing role", field="role")
    sealing = today.isoformat() if role == "ORGANISATION" else None
    root, rows = await document(conn, school, year, student, issued_on=sealing)
    subjects = [e.get("Ma", "") for e in root.iter(hocba_xml.tag("MonHoc"))]
    if role == "SUBJECT_TEACHER" and subject not in subjects:
        raise NotFound("subject.unknown", "môn học không có trong học bạ này", "no such subject here", field="subject")
    missing = _missing_before(role, rows, subjects)
    if missing:
        raise Refused(
            "signature.order",
            f"Chưa đến lượt ký: còn thiếu chữ ký của {', '.join(missing)}.",
            f"Not yet: these must sign first: {', '.join(missing)}.",
            field="role",
            rule="Điều 18, 24.5",
        )
    done = [r for r in rows if r["role"] == role and (role != "SUBJECT_TEACHER" or r["subject"] == subject)]
    if done:
        raise Conflict(
            "signature.done",
            "Phần này đã được ký và chưa thay đổi.",
            "This part is already signed and has not changed since.",
            field="role",
        )
    wrapper_id = f"ck-{secrets.token_hex(6)}"
    references = hocba_xml.references_for(root, role, subject)
    hocba_xml.add_placeholder(root, wrapper_id, role, references)
    return {
        "student": student,
        "wrapper_id": wrapper_id,
        "role": role,
        "references": references,
        "document": hocba_xml.to_bytes(root),
    }


def checked_signing_time(session: SchoolSession, report: Any, rule: str = "Điều 8, 15") -> datetime:
    """The signing time of a signature the verifier found valid, and not in the future; otherwise the
    refusal names the first finding."""
    if not report.ok or report.signing_time is None:
        first = report.findings[0] if report.findings else None
        raise _refuse(
            first.code if first else "signature.invalid",
            f"Chữ ký không hợp lệ: {first.vi if first else 'không rõ lý do'}",
            f"The signature is not valid: {first.en if first else 'unknown reason'}",
            rule,
        )
    signed_at = parse_time(report.signing_time)
    if signed_at > session.now() + CLOCK_SKEW:
        raise _refuse("signature.time", "Thời điểm ký ở tương lai.", "The signing time is in the future.", rule)
    return signed_at


def signing_actor(actor: Actor, role: str) -> Actor:
    """The signer as the event records them: in the role they signed in (the seal: as the clerk),
    whatever other roles they hold."""
    return Actor(actor.user, Role.CLERK if role == "ORGANISATION" else role, actor.on_behalf_of)


def parse_submitted(signed: bytes) -> Any:
    """A document that comes back from a signer, parsed (without DTDs or entities)."""
    try:
        return hocba_xml.parse(signed)
    except Exception:
        raise ValidationError(
            "xml.unreadable", "tệp XML không đọc được", "the XML is unreadable", field="document"
        ) from None


def _refuse(code: str, vi: str, en: str, rule: str = "Điều 8, 15") -> Refused:
    return Refused(code, vi, en, field="document", rule=rule)


async def submit(
    ledger: Ledger,
    school: str,
    actor: Actor,
    year: str,
    student: str,
    signed: bytes,
    trusted_roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
) -> Event:
    """Check a signature made on the signer's side and record it."""
    submitted = parse_submitted(signed)

    async def decide(session: SchoolSession) -> list[NewEvent]:
        banhanh = submitted.find(hocba_xml.tag("BanHanh"))
        sealing = banhanh.get("Ngay") if banhanh is not None else None
        root, rows = await document(session.conn, session.school, year, student, issued_on=sealing)
        known = {r["wrapper_id"] for r in rows}
        new = [w for w in hocba_xml.wrappers(submitted) if w.get("Id") not in known]
        if len(new) != 1:
            raise _refuse("signature.count", "Cần đúng một chữ ký mới.", "Exactly one new signature is expected.")
        wrapper = new[0]
        role = wrapper.get("VaiTro", "")
        references = (wrapper.get("ThamChieu") or "").split()
        subject = references[0][len("#subject-") :] if role == "SUBJECT_TEACHER" and references else None
        prepared = await prepare(session.conn, session.school, year, student, role, subject, session.now().date())
        if references != prepared["references"]:
            raise _refuse(
                "signature.references",
                "Chữ ký không tham chiếu đúng các phần thuộc trách nhiệm của vai trò này.",
                "The signature does not reference exactly the parts this role is responsible for.",
            )
        # The signature is checked in the document rebuilt here, never in the one submitted.
        container = root.find(hocba_xml.tag("ChuKySo"))
        assert container is not None
        container.append(wrapper)
        if not hocba_xml.schema().validate(root):
            error = hocba_xml.schema().error_log.last_error
            raise _refuse("xml.schema", f"Văn bản không đúng lược đồ học bạ: {error}",
                          f"The document does not match the học bạ schema: {error}")  # fmt: skip
        data = hocba_xml.to_bytes(root)
        report = hocba_xml.verify_signature(data, len(rows), trusted_roots, crls)
        signed_at = checked_signing_time(session, report)
        if role == "ORGANISATION" and (
            banhanh is None or banhanh.get("Ngay") != signed_at.astimezone(VN_TZ).date().isoformat()
        ):
            raise _refuse(
                "signature.issuance", "Ngày ban hành phải là ngày ký.", "The issuance date is the signing date."
            )
        registered = await registered_certificate(session, wrapper, signed_at)
        await _check_holder(session, actor, role, registered["holder"], year, student, subject, signed_at)
        element = hocba_xml.canonical(wrapper)
        digests = hocba_xml.part_digests(root)
        payload = {
            "format": "xml",
            "year": year,
            "student": student,
            "wrapper_id": wrapper.get("Id"),
            "role": role,
            "subject": subject,
            "parts": report.parts,
            "digests": {p: digests[p] for p in report.parts if p in digests},
            "signer": registered["holder"] if role != "ORGANISATION" else str(actor.user),
            "fingerprint": registered["fingerprint"],
            "signing_time": report.signing_time,
            "issued_on": banhanh.get("Ngay") if role == "ORGANISATION" and banhanh is not None else None,
            "element": base64.b64encode(element).decode(),
        }
        return [NewEvent(SIGNATURE_ADDED, payload, signing_actor(actor, role))]

    [event] = await ledger.decide(school, decide)
    return event


async def registered_certificate(session: SchoolSession, wrapper: Any, signed_at: datetime) -> dict[str, Any]:
    """The school's registration of the certificate that made the signature in `wrapper` (a ChuKy),
    which must not have been revoked at the signing time (Điều 9.4, 13)."""
    cert = hocba_xml.first_certificate(wrapper.find(f"{{{hocba_xml.DS}}}Signature"))
    assert cert is not None
    registered = await read(session.conn, certificates, session.school, fingerprint=fingerprint(cert))
    if not registered:
        raise _refuse(
            "certificate.unregistered",
            "Chứng thư số chưa được đăng ký với nhà trường.",
            "The certificate is not registered with the school.",
            "Điều 9.4",
        )
    if registered[0]["revoked_at"] and parse_time(registered[0]["revoked_at"]) <= signed_at:
        raise _refuse("certificate.revoked", "Chứng thư số đã bị thu hồi.", "The certificate was revoked.")
    return registered[0]


async def _check_holder(
    session: SchoolSession,
    actor: Actor,
    role: str,
    holder: str,
    year: str,
    student: str,
    subject: str | None,
    signed_at: datetime,
) -> None:
    """The signer is the certificate's holder and holds the role for this student at signing time."""
    from ledger.school.transcripts import load_student_year

    user, day = str(actor.user), signed_at.astimezone(VN_TZ).date()
    class_id = (await load_student_year(session.conn, session.school, year, student)).class_id
    if role == "ORGANISATION":
        ok = holder == "organisation" and await holds(session, user, Role.CLERK, day)
    elif holder != user:
        ok = False
    elif role == "SUBJECT_TEACHER":
        ok = await holds(session, user, Role.SUBJECT_TEACHER, day, year=year, class_id=class_id, subject=subject)
    elif role == "HOMEROOM_TEACHER":
        ok = await holds(session, user, Role.HOMEROOM_TEACHER, day, year=year, class_id=class_id)
    else:
        ok = await holds(session, user, Role.PRINCIPAL, day) or await holds(session, user, Role.LEADERSHIP, day)
    if not ok:
        raise Refused(
            "signature.not_assigned",
            f"{user} không giữ vai trò {role} cho học sinh này vào ngày {day.isoformat()}, hoặc chứng thư số "
            "không phải của người này.",
            f"{user} does not hold {role} for this student on {day.isoformat()}, or the certificate is not theirs.",
            field="actor",
            rule="Điều 18",
        )
    if student not in await roster(session, year, class_id):
        raise NotFound("student.not_enrolled", "học sinh không học lớp này", "the student is not in this class")


# --- the PDF học bạ ------------------------------------------------------------------------------

PDF_ORDER = ("PRINCIPAL", "ORGANISATION")


async def pdf_document(
    conn: AsyncConnection, school: str, year: str, student: str
) -> tuple[bytes, list[dict[str, Any]]]:
    """The PDF học bạ as it stands: the rendering of the current data, then each recorded signature's
    revision, in order (a PDF signature appends a revision and leaves the earlier bytes as they were)."""
    from signing.pdf.document import render_hocba

    model = await document_model(conn, school, year, student)
    rows = await current_signatures(conn, school, year, student, "pdf")
    data = render_hocba(model)
    for row in rows:
        data += base64.b64decode(row["element"])
    return data, rows


async def submit_pdf(
    ledger: Ledger,
    school: str,
    actor: Actor,
    year: str,
    student: str,
    signed: bytes,
    trusted_roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
) -> Event:
    """Check a PDF signed on the signer's side (the principal's signature, then the clerk's seal) and
    record the revision it added."""
    from signing.pdf.document import verify_pdf

    async def decide(session: SchoolSession) -> list[NewEvent]:
        current, rows = await pdf_document(session.conn, session.school, year, student)
        if len(rows) >= len(PDF_ORDER):
            raise Conflict(
                "signature.done", "Học bạ PDF đã được ký và đóng dấu.", "The PDF is already signed and sealed."
            )
        role = PDF_ORDER[len(rows)]
        if role == "PRINCIPAL":
            xml_rows = await current_signatures(session.conn, session.school, year, student)
            if "PRINCIPAL" not in {r["role"] for r in xml_rows}:
                raise _refuse("signature.order", "Hiệu trưởng ký học bạ XML trước khi ký bản PDF.",
                              "The principal signs the XML học bạ before the PDF.", "Điều 18")  # fmt: skip
        if not signed.startswith(current) or len(signed) == len(current):
            raise _refuse("signature.base", "Tệp PDF không phải bản học bạ hiện hành với một chữ ký mới.",
                          "The PDF is not the current học bạ with one new signature.")  # fmt: skip
        report = await verify_pdf(signed, trusted_roots, crls)
        if len(report.signatures) != len(rows) + 1:
            raise _refuse("signature.count", "Cần đúng một chữ ký mới.", "Exactly one new signature is expected.")
        newest = report.signatures[-1]
        if not newest.ok or newest.role != role or report.findings:
            found = newest.findings or report.findings
            first = found[0] if found else None
            reason_vi = first.vi if first else f"cần chữ ký của {role}"
            reason_en = first.en if first else f"a {role} signature is expected"
            raise _refuse(first.code if first else "signature.role", f"Chữ ký không hợp lệ: {reason_vi}",
                          f"The signature is not valid: {reason_en}")  # fmt: skip
        assert newest.signing_time is not None
        signed_at = parse_time(newest.signing_time)
        if signed_at > session.now() + CLOCK_SKEW:
            raise _refuse("signature.time", "Thời điểm ký ở tương lai.", "The signing time is in the future.")
        holder = "organisation" if role == "ORGANISATION" else newest.staff_id
        registered = [
            r for r in await read(session.conn, certificates, session.school, holder=holder) if not r["revoked_at"]
        ]
        if not registered:
            raise _refuse("certificate.unregistered", "Chứng thư số chưa được đăng ký với nhà trường.",
                          "The certificate is not registered with the school.", "Điều 9.4")  # fmt: skip
        await _check_holder(session, actor, role, str(holder), year, student, None, signed_at)
        payload = {
            "format": "pdf", "year": year, "student": student, "wrapper_id": f"pdf-{role.lower()}", "role": role,
            "subject": None, "parts": ["pdf"], "digests": {"pdf": hashlib.sha256(current).hexdigest()},
            "signer": str(holder), "fingerprint": registered[0]["fingerprint"], "signing_time": newest.signing_time,
            "issued_on": None, "element": base64.b64encode(signed[len(current):]).decode(),
        }  # fmt: skip
        return [NewEvent(SIGNATURE_ADDED, payload, signing_actor(actor, role))]

    [event] = await ledger.decide(school, decide)
    return event


# --- projections -------------------------------------------------------------------------------


async def _on_registered(w: ProjectionWriter, e: Event) -> None:
    p = e.payload
    await w.put(
        certificates,
        {"fingerprint": p["fingerprint"]},
        {
            "holder": p["holder"],
            "serial": p["serial"],
            "subject": p["subject"],
            "not_before": p["not_before"],
            "not_after": p["not_after"],
            "der": p["certificate"],
            "approved_by": str(e.actor.user),
            "revoked_at": None,
            "revocation_reason": None,
        },
    )


async def _on_revoked(w: ProjectionWriter, e: Event) -> None:
    current = await w.get(certificates, fingerprint=e.payload["fingerprint"])
    if current is not None:
        values = {k: current[k] for k in certificates.info["values"]}
        values.update(revoked_at=e.payload["at"], revocation_reason=e.payload["reason"])
        await w.put(certificates, {"fingerprint": e.payload["fingerprint"]}, values)


async def _on_signature(w: ProjectionWriter, e: Event) -> None:
    p = e.payload
    await w.put(
        signatures,
        {"year": p["year"], "student_id": p["student"], "wrapper_id": p["wrapper_id"]},
        {
            "position": e.seq,
            "format": p.get("format", "xml"),
            "role": p["role"],
            "subject": p["subject"],
            "parts": p["parts"],
            "digests": p["digests"],
            "signer": p["signer"],
            "fingerprint": p["fingerprint"],
            "signing_time": p["signing_time"],
            "issued_on": p["issued_on"],
            "element": p["element"],
            "stale": False,
        },
    )


def _stale_from(part_of: Any) -> Any:
    """Mark stale the signature over the changed part, and every signature made after it."""

    async def handler(w: ProjectionWriter, e: Event) -> None:
        part = part_of(e.payload)
        rows = await w.rows(signatures, year=e.payload["year"], student_id=e.payload["student"], stale=False)
        covering = [r["position"] for r in rows if part in r["parts"]]
        first = min(covering, default=None)
        for row in rows:
            # the PDF shows every part: any change leaves its signatures stale
            if row["format"] == "pdf" or (first is not None and row["position"] >= first):
                key = {k: row[k] for k in ("year", "student_id", "wrapper_id")}
                await w.put(signatures, key, {**{k: row[k] for k in signatures.info["values"]}, "stale": True})

    return handler


PROJECTION = Projection(
    "signatures",
    (certificates, signatures),
    {
        CERTIFICATE_REGISTERED: _on_registered,
        CERTIFICATE_REVOKED: _on_revoked,
        SIGNATURE_ADDED: _on_signature,
        ASSESSMENT_CORRECTED: _stale_from(lambda p: f"subject-{p['subject']}"),
        CONDUCT_CORRECTED: _stale_from(lambda p: "homeroom"),
        REASSESSMENT_RECORDED: _stale_from(lambda p: f"subject-{p['subject']}"),
        SUMMER_CONDUCT_RECORDED: _stale_from(lambda p: "homeroom"),
    },
)
