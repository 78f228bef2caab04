"""Preparing what a role signs next and checking what comes back (Điều 8, 15, 18, 24.5)."""

from __future__ import annotations

import base64
import copy
import hashlib
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from cryptography import x509
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base.clock import VN_TZ, parse_time
from ledger.base.errors import Conflict, DomainError, NotFound, Refused, ValidationError
from ledger.format.envelope import Actor, Event, NewEvent
from ledger.log.append import Ledger, SchoolSession
from ledger.log.projection import read
from ledger.school.rules.roles import Role
from ledger.school.signatures.certificates import Holders, registered_certificate, signature_refusal
from ledger.school.signatures.queries import Documents, load_documents
from ledger.school.signatures.readiness import Readiness, missing_signers
from ledger.school.signatures.substitutes import Substitution, check_substitution, missing_signer
from ledger.school.signatures.tables import SIGNATURE_ADDED, certificates
from ledger.school.transcripts.verification import Verification
from signing.pdf.verify import verify_pdf
from signing.x509.timestamps import check_timestamp
from signing.x509.validation import OnlineRevocation
from signing.xml import document as hocba_xml
from signing.xml import longterm
from signing.xml import timestamp as xades_t
from signing.xml import verify as xml_verify

CLOCK_SKEW = timedelta(minutes=5)  # how far a signer's clock may run ahead of the service's
CLAIM_TOLERANCE = timedelta(minutes=10)  # how far a claimed SigningTime may stand from the trusted time
Stamp = Callable[[bytes], Awaitable[bytes]]  # bytes -> an RFC 3161 token over their SHA-256


def signature_value(wrapper: Any) -> bytes:
    """What the time-stamping authority stamps for an XML signature (XAdES SignatureTimeStamp): the
    canonical form of its ds:SignatureValue element."""
    signature = wrapper.find(f"{{{hocba_xml.DS}}}Signature")
    value = xades_t.signature_value(signature) if signature is not None else None
    if value is None:
        raise signature_refusal("signature.count", "Thiếu giá trị chữ ký.", "The signature value is missing.")
    return value


async def trusted_time(
    stamp: Stamp, stamped: bytes, roots: Sequence[x509.Certificate], crls: Sequence[x509.CertificateRevocationList]
) -> tuple[datetime, bytes]:
    """The school's time-stamping authority's time for a signature, with its token: the moment the
    assignment, the certificate and its revocation are judged at, not the signer's claim (Điều 12, 15)."""
    token = await stamp(stamped)
    check = await check_timestamp(token, stamped, roots, crls)
    if check.time is None or check.problems:
        raise signature_refusal(
            "signature.timestamp",
            "Không lấy được dấu thời gian tin cậy cho chữ ký: " + "; ".join(check.problems),
            "No trusted timestamp could be had for the signature: " + "; ".join(check.problems),
            "Điều 12, 15",
        )
    return check.time.astimezone(VN_TZ), token


def check_claim(claimed: datetime, trusted: datetime) -> None:
    """A signer's claimed SigningTime must stand near the trusted time: a back-dated signature of a
    departed teacher, or of a certificate since revoked, is refused (Điều 12, 15, 27)."""
    if abs(claimed - trusted) > CLAIM_TOLERANCE:
        raise signature_refusal(
            "signature.time_claimed",
            f"Thời điểm ký khai trong chữ ký ({claimed.astimezone(VN_TZ):%H:%M ngày %d/%m/%Y}) lệch quá 10 phút so với "
            f"dấu thời gian tin cậy ({trusted:%H:%M ngày %d/%m/%Y}); hãy ký lại.",
            f"The signing time the signature claims ({claimed.isoformat(timespec='seconds')}) is more than 10 minutes "
            f"from the trusted timestamp ({trusted.isoformat(timespec='seconds')}); sign again.",
            "Điều 12, 15",
        )


def expected_references(root: Any, rows: list[dict[str, Any]], role: str, subject: str | None) -> list[str]:
    """The parts a signer of `role` (and `subject`) signs now in the document `root` with the
    signatures `rows`, once it is their turn and their part is not already signed (Điều 18, 24.5)."""
    if role not in hocba_xml.ROLES:
        raise ValidationError("signature.role", "vai trò ký không hợp lệ", "unknown signing role", field="role")
    subjects = {e.get("Ma", ""): e.get("Ten", "") for e in root.iter(hocba_xml.tag("MonHoc"))}
    if role == "SUBJECT_TEACHER" and subject not in subjects:
        raise NotFound("subject.unknown", "môn học không có trong học bạ này", "no such subject here", field="subject")
    missing_vi, missing_en = missing_signers(role, rows, subjects)
    if missing_vi:
        raise Refused(
            "signature.order",
            f"Chưa đến lượt ký: còn thiếu chữ ký của {', '.join(missing_vi)}.",
            f"Not yet: these must sign first: {', '.join(missing_en)}.",
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
    return hocba_xml.references_for(root, role, subject)


async def prepare_signature(
    conn: AsyncConnection,
    school: str,
    year: str,
    student: str,
    role: str,
    subject: str | None,
    now: datetime,
    *,
    substitution: Substitution | None = None,
    signer: str | None = None,
) -> dict[str, Any]:
    """What a signer of `role` signs now for one student's year; with `substitution`, what `signer`
    signs in a departed teacher's place (Điều 18.5, 18.7), once they are found entitled to."""
    [prepared] = await prepare_signatures(
        conn, school, year, [student], role, subject, now, substitution=substitution, signer=signer
    )
    return prepared


async def prepare_signatures(
    conn: AsyncConnection,
    school: str,
    year: str,
    students: Sequence[str],
    role: str,
    subject: str | None,
    now: datetime,
    *,
    substitution: Substitution | None = None,
    signer: str | None = None,
) -> list[dict[str, Any]]:
    """What a signer of `role` signs now for each of `students` (a class, usually), in order, once
    each may be signed (readiness); their học bạ are read in one set of queries, whatever their
    number."""
    if role not in hocba_xml.ROLES:
        raise ValidationError("signature.role", "vai trò ký không hợp lệ", "unknown signing role", field="role")
    today = now.astimezone(VN_TZ).date()
    sealing = today.isoformat() if role == "ORGANISATION" else None
    documents = await load_documents(conn, school, year, students)
    readiness = Readiness(conn, school, year, now)
    prepared = []
    for student in students:
        root, rows = documents.xml(student, issued_on=sealing)
        references = expected_references(root, rows, role, subject)
        class_id = documents.class_of(student)
        refusal = await readiness.refusal(documents.models[student], class_id, role, subject)
        if refusal is not None:
            raise refusal
        in_place = await substituted(conn, school, substitution, signer, role, year, class_id, subject, today)
        wrapper_id = f"ck-{secrets.token_hex(6)}"
        hocba_xml.add_placeholder(root, wrapper_id, role, references, in_place)
        if role == "SUBJECT_TEACHER":  # Điều 5.3c: the subject's signer, or their substitute, reads the subject
            hocba_xml.subject_only(root, str(subject))
        prepared.append(
            {
                "student": student,
                "wrapper_id": wrapper_id,
                "role": role,
                "references": references,
                "on_behalf_of": in_place,
                "document": hocba_xml.to_bytes(root),
            }
        )
    return prepared


async def signing_refusals(
    conn: AsyncConnection,
    school: str,
    year: str,
    students: Sequence[str],
    role: str,
    subject: str | None,
    now: datetime,
    *,
    documents: Documents | None = None,
) -> dict[str, DomainError | None]:
    """Why each of `students` cannot be signed by `role` now, as prepare_signatures would refuse it
    (not their turn, already signed, entry still open, results missing), or None where it can; read
    in one set of queries, or from `documents` already loaded for them (a page asking for several
    roles). What a page shows before the signer clicks."""
    documents = documents or await load_documents(conn, school, year, students)
    readiness = Readiness(conn, school, year, now)
    found: dict[str, DomainError | None] = {}
    for student in students:
        root, rows = documents.xml(student)
        try:
            expected_references(root, rows, role, subject)
            model = documents.models[student]
            found[student] = await readiness.refusal(model, documents.class_of(student), role, subject)
        except DomainError as refused:
            found[student] = refused
    return found


async def substituted(
    conn: AsyncConnection,
    school: str,
    substitution: Substitution | None,
    signer: str | None,
    role: str,
    year: str,
    class_id: str,
    subject: str | None,
    day: date,
) -> dict[str, str] | None:
    """The KyThay of a signature in a departed teacher's place in `class_id`, checked on `day` (None:
    the signer signs their own part)."""
    if substitution is None:
        return None
    if not signer:
        raise missing_signer()
    return await check_substitution(
        conn, school, substitution, signer=signer, role=role, year=year, class_id=class_id, subject=subject, day=day
    )


def checked_signing_time(session: SchoolSession, report: Any, rule: str = "Điều 8, 15") -> datetime:
    """The signing time of a signature the verifier found valid, and not in the future; otherwise the
    refusal names the first finding."""
    if not report.ok or report.signing_time is None:
        first = report.findings[0] if report.findings else None
        raise signature_refusal(
            first.code if first else "signature.invalid",
            f"Chữ ký không hợp lệ: {first.vi if first else 'không rõ lý do'}",
            f"The signature is not valid: {first.en if first else 'unknown reason'}",
            rule,
        )
    signed_at = parse_time(report.signing_time)
    if signed_at > session.now() + CLOCK_SKEW:
        raise signature_refusal(
            "signature.time", "Thời điểm ký ở tương lai.", "The signing time is in the future.", rule
        )
    return signed_at


def signing_actor(actor: Actor, role: str, on_behalf_of: str | None = None) -> Actor:
    """The signer as the event records them: in the role they signed in (the seal: as the clerk),
    whatever other roles they hold, and in whose place when they sign for a departed teacher."""
    role_signed = Role.CLERK if role == "ORGANISATION" else role
    return replace(actor, role=role_signed, on_behalf_of=on_behalf_of or actor.on_behalf_of)


def parse_submitted(signed: bytes) -> Any:
    """A document that comes back from a signer, parsed (without DTDs or entities)."""
    try:
        return hocba_xml.parse(signed)
    except Exception:
        raise ValidationError(
            "xml.unreadable", "tệp XML không đọc được", "the XML is unreadable", field="document"
        ) from None


@dataclass(frozen=True)
class _Received:
    """A signed document as it came back, with the school's trusted time over its new signature."""

    student: str
    document: Any  # parsed
    stamped: bytes  # the new signature's value, as the timestamp covers it
    trusted: datetime
    token: bytes


@dataclass(frozen=True)
class _Assembled:
    """The new signature placed in the document rebuilt by the service, ready to be verified."""

    root: Any
    rows: list[dict[str, Any]]
    wrapper: Any
    role: str
    subject: str | None
    issued_on: str | None  # the BanHanh date the signer's document carries
    data: bytes  # the rebuilt document with the new signature, as it is verified

    def key(self, trusted: datetime) -> tuple[str, int, datetime]:
        """What a verification depends on: the very bytes, the signature's place, the trusted time."""
        return hashlib.sha256(self.data).hexdigest(), len(self.rows), trusted


async def _received(
    student: str,
    signed: bytes,
    trusted_roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    stamp: Stamp,
) -> _Received:
    submitted = parse_submitted(signed)
    signatures = hocba_xml.wrappers(submitted)
    if not signatures:
        raise signature_refusal("signature.count", "Cần đúng một chữ ký mới.", "Exactly one new signature is expected.")
    stamped = signature_value(signatures[-1])  # the newest signature comes last
    trusted, token = await trusted_time(stamp, stamped, trusted_roots, crls)
    return _Received(student, submitted, stamped, trusted, token)


def _assemble(documents: Documents, item: _Received, schema_valid: set[str]) -> _Assembled:
    """The new signature of `item` put into the document the service rebuilds from its own records,
    never the one submitted, after the checks that need no database: one new signature, last, of the
    role whose turn it is, over exactly that role's parts, in a document of the học bạ schema. The
    only unsigned property it keeps is the school's timestamp, embedded once it is accepted."""
    banhanh = item.document.find(hocba_xml.tag("BanHanh"))
    sealing = banhanh.get("Ngay") if banhanh is not None else None
    root, rows = documents.xml(item.student, issued_on=sealing)
    known = {r["wrapper_id"] for r in rows}
    new = [w for w in hocba_xml.wrappers(item.document) if w.get("Id") not in known]
    if len(new) != 1:
        raise signature_refusal("signature.count", "Cần đúng một chữ ký mới.", "Exactly one new signature is expected.")
    wrapper = copy.deepcopy(new[0])
    if signature_value(wrapper) != item.stamped:
        raise signature_refusal("signature.count", "Chữ ký mới phải đứng cuối.", "The new signature comes last.")
    role = wrapper.get("VaiTro", "")
    references = (wrapper.get("ThamChieu") or "").split()
    subject = references[0][len("#subject-") :] if role == "SUBJECT_TEACHER" and references else None
    if references != expected_references(root, rows, role, subject):
        raise signature_refusal(
            "signature.references",
            "Chữ ký không tham chiếu đúng các phần thuộc trách nhiệm của vai trò này.",
            "The signature does not reference exactly the parts this role is responsible for.",
        )
    signature = wrapper.find(f"{{{hocba_xml.DS}}}Signature")
    if signature is not None:
        xades_t.strip(signature)
    container = root.find(hocba_xml.tag("ChuKySo"))
    assert container is not None
    container.append(wrapper)
    data = hocba_xml.to_bytes(root)
    digest = hashlib.sha256(data).hexdigest()
    if digest not in schema_valid:
        if not hocba_xml.schema().validate(root):
            error = hocba_xml.schema().error_log.last_error
            raise signature_refusal(
                "xml.schema",
                f"Văn bản không đúng lược đồ học bạ: {error}",
                f"The document does not match the học bạ schema: {error}",
            )
        schema_valid.add(digest)
    return _Assembled(root, rows, wrapper, role, subject, sealing, data)


async def submit_signature(
    ledger: Ledger,
    school: str,
    actor: Actor,
    year: str,
    student: str,
    signed: bytes,
    trusted_roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    stamp: Stamp,
    substitution: Substitution | None = None,
    *,
    online: OnlineRevocation | None = None,
) -> Event:
    """Check a signature made on the signer's side and record it, with the school's trusted timestamp
    over its value: who may sign, and with which certificate, is judged at that time. With
    `substitution`, the signer signs in a departed teacher's place (Điều 18.5, 18.7). With
    `online`, the certificate's status is also asked of its OCSP responder and CRL distribution
    points (HOCBA_REVOCATION=online)."""
    [event] = await submit_signatures(
        ledger, school, actor, year, [(student, signed)], trusted_roots, crls, stamp, substitution, online=online
    )
    return event


async def submit_signatures(
    ledger: Ledger,
    school: str,
    actor: Actor,
    year: str,
    signed: Sequence[tuple[str, bytes]],
    trusted_roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    stamp: Stamp,
    substitution: Substitution | None = None,
    *,
    online: OnlineRevocation | None = None,
) -> list[Event]:
    """Check the signatures one signer made for several students (student, signed document; a class,
    usually) and record them all, or none: every check of `submit_signature`, each signature's own,
    with the students' học bạ read in one set of queries.

    The cryptographic verification runs first, outside the school's lock, on the documents as they
    stand; under the lock every check runs again on the documents read afresh, and a verification is
    reused only for the very bytes it was made on (the same rebuilt document, signature and trusted
    time), so nothing that changed in between is let through."""
    students = [student for student, _ in signed]
    if len(set(students)) != len(students):
        raise ValidationError(
            "signature.batch", "mỗi học sinh một chữ ký", "one signature per student", field="document"
        )
    items = [await _received(student, data, trusted_roots, crls, stamp) for student, data in signed]
    verified: dict[tuple[str, int, datetime], Any] = {}
    schema_valid: set[str] = set()
    async with ledger.engine.connect() as conn:
        snapshot = await load_documents(conn, school, year, students)
    for item in items:
        try:
            made = _assemble(snapshot, item, schema_valid)
        except DomainError:
            continue  # refused again, with its reason, under the lock
        verified[made.key(item.trusted)] = await xml_verify.verify_signature(
            made.data, len(made.rows), trusted_roots, crls, item.trusted, online=online
        )

    async def decide(session: SchoolSession) -> list[NewEvent]:
        documents = await load_documents(session.conn, session.school, year, students)
        holders = Holders(session)
        registrations: dict[str, list[dict[str, Any]]] = {}
        readiness = Readiness(session.conn, session.school, year, session.now())
        return [
            await _checked(
                session, actor, year, documents, item, substitution, holders, readiness, registrations, check
            )
            for item in items
        ]

    async def check(documents: Documents, item: _Received) -> tuple[_Assembled, Any]:
        """The signature assembled again in `documents`, and its verification: the one made before
        the lock when these are the very bytes it was made on."""
        made = _assemble(documents, item, schema_valid)
        report = verified.get(made.key(item.trusted))
        report = report or await xml_verify.verify_signature(
            made.data, len(made.rows), trusted_roots, crls, item.trusted, online=online
        )
        return made, report

    return await ledger.decide(school, decide)


async def _checked(
    session: SchoolSession,
    actor: Actor,
    year: str,
    documents: Documents,
    item: _Received,
    substitution: Substitution | None,
    holders: Holders,
    readiness: Readiness,
    registrations: dict[str, list[dict[str, Any]]],
    check: Callable[[Documents, _Received], Awaitable[tuple[_Assembled, Any]]],
) -> NewEvent:
    """One submitted signature checked under the school's lock, as the event that records it."""
    student, trusted = item.student, item.trusted
    made, report = await check(documents, item)
    role, subject, wrapper, root = made.role, made.subject, made.wrapper, made.root
    class_id = documents.class_of(student)
    await readiness.check(session, documents.models[student], class_id, role, subject)
    signer = str(actor.user)
    today = session.now().date()
    await substituted(session.conn, session.school, substitution, signer, role, year, class_id, subject, today)
    signed_at = checked_signing_time(session, report)
    check_claim(signed_at, trusted)
    if role == "ORGANISATION" and made.issued_on != signed_at.astimezone(VN_TZ).date().isoformat():
        raise signature_refusal(
            "signature.issuance", "Ngày ban hành phải là ngày ký.", "The issuance date is the signing date."
        )
    registered = await registered_certificate(session, wrapper, trusted, registrations)
    day = trusted.astimezone(VN_TZ).date()
    in_place = await substituted(session.conn, session.school, substitution, signer, role, year, class_id, subject, day)
    check_in_place(in_place, hocba_xml.substitution_of(wrapper), report.on_behalf_of)
    await holders.check(
        actor, role, registered["holder"], year, class_id, student, subject, trusted, in_place=in_place is not None
    )
    signature = wrapper.find(f"{{{hocba_xml.DS}}}Signature")
    assert signature is not None  # the verifier found it valid
    xades_t.embed(signature, item.token)  # XAdES-T: the document carries its trusted time (Điều 12, 15)
    # XAdES-LT: and the chain and the OCSP responses and CRLs it was validated with at that time, so
    # that it can be verified once the certificates have expired (Điều 15, 28.3)
    longterm.embed(signature, report.validation_chain, report.revocation_values)
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
        "signer": registered["holder"] if role != "ORGANISATION" else signer,
        "fingerprint": registered["fingerprint"],
        "signing_time": report.signing_time,
        "trusted_time": trusted.isoformat(),
        "time_stamp": base64.b64encode(item.token).decode(),
        "issued_on": made.issued_on if role == "ORGANISATION" else None,
        "element": base64.b64encode(element).decode(),
    }
    if in_place is not None:  # Điều 18.5, 18.7: whose part, under which decision
        payload |= {"on_behalf_of": in_place["ThayMat"], "decision": in_place["QuyetDinh"]}
    departed = in_place["ThayMat"] if in_place else None
    return NewEvent(SIGNATURE_ADDED, payload, signing_actor(actor, role, departed))


def check_in_place(
    expected: dict[str, str] | None, named: dict[str, str] | None, signed: dict[str, str] | None
) -> None:
    """The signature says, in its signed properties and on its ChuKy, exactly who signs in whose
    place and under which decision, as the request does (or nothing of the kind)."""
    if expected == named == signed:
        return
    raise signature_refusal(
        "signature.substitute",
        "Chữ ký không ghi đúng việc ký thay (người ký, người được ký thay, quyết định) như đã chuẩn bị.",
        "The signature does not state the signing in another's place (who, for whom, the decision) as prepared.",
        "Điều 18.5, 18.7",
    )


PDF_ORDER = ("PRINCIPAL", "ORGANISATION")


async def submit_pdf(
    ledger: Ledger,
    school: str,
    actor: Actor,
    year: str,
    student: str,
    signed: bytes,
    trusted_roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    *,
    verification: Verification,
) -> Event:
    """Check a PDF signed on the signer's side (the principal's signature, then the clerk's seal) and
    record the revision it added. `verification`: what the học bạ prints for checking it."""
    [event] = await submit_pdfs(
        ledger, school, actor, year, [(student, signed)], trusted_roots, crls, verification=verification
    )
    return event


async def submit_pdfs(
    ledger: Ledger,
    school: str,
    actor: Actor,
    year: str,
    signed: Sequence[tuple[str, bytes]],
    trusted_roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    *,
    verification: Verification,
) -> list[Event]:
    """Check the PDFs one signer signed for several students (a class, usually) and record them all,
    or none, with the students' học bạ read in one set of queries. As for the XML, the PDFs are
    verified before the school's lock is taken, and each verification is kept only for the very
    bytes verified."""
    students = [student for student, _ in signed]
    if len(set(students)) != len(students):
        raise ValidationError(
            "signature.batch", "mỗi học sinh một chữ ký", "one signature per student", field="document"
        )
    verified: dict[str, Any] = {}
    for _, data in signed:
        verified[hashlib.sha256(data).hexdigest()] = await verify_pdf(data, trusted_roots, crls)

    async def decide(session: SchoolSession) -> list[NewEvent]:
        documents = await load_documents(session.conn, session.school, year, students)
        holders = Holders(session)
        return [
            await _checked_pdf(
                session, actor, year, documents, student, data, verified, holders, trusted_roots, crls, verification
            )
            for student, data in signed
        ]

    return await ledger.decide(school, decide)


async def _checked_pdf(
    session: SchoolSession,
    actor: Actor,
    year: str,
    documents: Documents,
    student: str,
    signed: bytes,
    verified: dict[str, Any],
    holders: Holders,
    trusted_roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    verification: Verification,
) -> NewEvent:
    current, rows = documents.pdf(student, verification)
    if len(rows) >= len(PDF_ORDER):
        raise Conflict("signature.done", "Học bạ PDF đã được ký và đóng dấu.", "The PDF is already signed and sealed.")
    role = PDF_ORDER[len(rows)]
    if role == "PRINCIPAL" and "PRINCIPAL" not in {r["role"] for r in documents.signatures(student)}:
        raise signature_refusal(
            "signature.order",
            "Hiệu trưởng ký học bạ XML trước khi ký bản PDF.",
            "The principal signs the XML học bạ before the PDF.",
            "Điều 18",
        )
    if not signed.startswith(current) or len(signed) == len(current):
        raise signature_refusal(
            "signature.base",
            "Tệp PDF không phải bản học bạ hiện hành với một chữ ký mới.",
            "The PDF is not the current học bạ with one new signature.",
        )
    report = verified.get(hashlib.sha256(signed).hexdigest()) or await verify_pdf(signed, trusted_roots, crls)
    if len(report.signatures) != len(rows) + 1:
        raise signature_refusal("signature.count", "Cần đúng một chữ ký mới.", "Exactly one new signature is expected.")
    newest = report.signatures[-1]
    if not newest.ok or newest.role != role or report.findings:
        found = newest.findings or report.findings
        first = found[0] if found else None
        reason_vi = first.vi if first else f"cần chữ ký của {role}"
        reason_en = first.en if first else f"a {role} signature is expected"
        raise signature_refusal(
            first.code if first else "signature.role",
            f"Chữ ký không hợp lệ: {reason_vi}",
            f"The signature is not valid: {reason_en}",
        )
    assert newest.signing_time is not None
    signed_at = parse_time(newest.signing_time)
    if signed_at > session.now() + CLOCK_SKEW:
        raise signature_refusal("signature.time", "Thời điểm ký ở tương lai.", "The signing time is in the future.")
    holder = "organisation" if role == "ORGANISATION" else newest.staff_id
    registered = [
        r for r in await read(session.conn, certificates, session.school, holder=holder) if not r["revoked_at"]
    ]
    if not registered:
        raise signature_refusal(
            "certificate.unregistered",
            "Chứng thư số chưa được đăng ký với nhà trường.",
            "The certificate is not registered with the school.",
            "Điều 9.4",
        )
    class_id = documents.class_of(student)
    await holders.check(actor, role, str(holder), year, class_id, student, None, signed_at)
    payload = {
        "format": "pdf",
        "year": year,
        "student": student,
        "wrapper_id": f"pdf-{role.lower()}",
        "role": role,
        "subject": None,
        "parts": ["pdf"],
        "digests": {"pdf": hashlib.sha256(current).hexdigest()},
        "signer": str(holder),
        "fingerprint": registered[0]["fingerprint"],
        "signing_time": newest.signing_time,
        "issued_on": None,
        "element": base64.b64encode(signed[len(current) :]).decode(),
    }
    return NewEvent(SIGNATURE_ADDED, payload, signing_actor(actor, role))
