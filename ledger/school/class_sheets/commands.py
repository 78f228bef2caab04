"""The subject teacher signs the class sheet of a term (Điều 18.3), the homeroom teacher the class's
term record (Điều 18.4): prepared by the service, signed on the teacher's side, checked here."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from cryptography import x509
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base.clock import VN_TZ
from ledger.base.errors import Conflict, Refused
from ledger.format.envelope import Actor, Event, NewEvent
from ledger.log.append import Ledger, SchoolSession
from ledger.log.projection import read
from ledger.school.class_sheets.queries import part_digest, sheet_document
from ledger.school.class_sheets.tables import CLASS_TERM_SIGNED, RULE, SHEET_SIGNED, TERM_RULE
from ledger.school.class_sheets.terms import incomplete, term_document
from ledger.school.rules import identity
from ledger.school.rules.roles import Role
from ledger.school.signatures.certificates import registered_certificate
from ledger.school.signatures.commands import checked_signing_time, parse_submitted, signing_actor
from ledger.school.years.queries import holds
from ledger.school.years.tables import classes, subjects
from signing.xml import document as hocba_xml
from signing.xml import verify as xml_verify


def _refuse(code: str, vi: str, en: str, field: str = "document") -> Refused:
    return Refused(code, vi, en, field=field, rule=RULE)


async def _missing(conn: AsyncConnection, school: str, year: str, class_id: str, part: Any) -> list[str]:
    """The pupils of the sheet without every assessment of the term: each regular one the subject's
    periods call for, the mid-term and the end-of-term (TT22 Đ.6, Đ.7)."""
    [row] = await read(conn, classes, school, year=year, class_id=class_id)
    [subject] = await read(conn, subjects, school, year=year, code=part.get("Mon"), grade=row["grade"])
    due = int(subject["regular_count"]) + 2
    return [
        pupil.get("HoTen") or pupil.get("SoDinhDanh", "")
        for pupil in part.iterfind(hocba_xml.tag("HocSinh"))
        if len(pupil.findall(hocba_xml.tag("Diem"))) < due
    ]


def _incomplete(names: list[str]) -> Refused:
    shown = ", ".join(names[:5]) + (f" và {len(names) - 5} học sinh khác" if len(names) > 5 else "")
    return _refuse(
        "sheet.incomplete",
        f"Bảng điểm còn thiếu điểm của {len(names)} học sinh ({shown}): chỉ ký khi đã nhập đủ các lần đánh "
        "giá của học kì.",
        f"The sheet lacks assessments of {len(names)} students: it is signed once every one is entered.",
        field="sheet",
    )


@dataclass(frozen=True)
class _Kind:
    """A class document and who signs it: the class sheet, or the class's term record."""

    role: Role
    rule: str
    field: str
    noun: str  # as a refusal names it: "Bảng điểm này"
    noun_en: str
    signer: str  # "giáo viên bộ môn"


SHEET = _Kind(Role.SUBJECT_TEACHER, RULE, "sheet", "Bảng điểm này", "This class sheet", "giáo viên bộ môn")
TERM = _Kind(
    Role.HOMEROOM_TEACHER, TERM_RULE, "term", "Kết quả học kì này của lớp", "This term record", "giáo viên chủ nhiệm"
)


def _placeholder(root: Any, wrapper: str, kind: _Kind) -> bytes:
    """The document with room for the signer's signature, unless it is already signed and unchanged."""
    if hocba_xml.wrappers(root):
        raise Conflict(
            "signature.done",
            f"{kind.noun} đã được ký và chưa thay đổi.",
            f"{kind.noun_en} is already signed and has not changed since.",
            field=kind.field,
        )
    role = kind.role.value
    hocba_xml.add_placeholder(root, wrapper, role, hocba_xml.references_for(root, role))
    return hocba_xml.to_bytes(root)


async def prepare_sheet(
    conn: AsyncConnection, school: str, year: str, class_id: str, subject: str, term: Any, today: date
) -> bytes:
    """The class sheet with room for the subject teacher's signature."""
    root, _ = await sheet_document(conn, school, year, class_id, subject, term)
    if not hocba_xml.wrappers(root):
        missing = await _missing(conn, school, year, class_id, root[0])
        if missing:
            raise _incomplete(missing)
    part = root[0]
    wrapper = f"ck-{part.get('Lop', '').lower()}-{part.get('Mon', '').lower()}-{part.get('HocKy')}-{today.isoformat()}"
    return _placeholder(root, wrapper, SHEET)


async def prepare_term(conn: AsyncConnection, school: str, year: str, class_id: str, term: Any, today: date) -> bytes:
    """The class's term record with room for the homeroom teacher's signature (Điều 18.4)."""
    root, _ = await term_document(conn, school, year, class_id, term)
    if not hocba_xml.wrappers(root) and (refusal := incomplete(root[0])) is not None:
        raise refusal
    part = root[0]
    return _placeholder(root, f"ck-{part.get('Lop', '').lower()}-hk{part.get('HocKy')}-{today.isoformat()}", TERM)


@dataclass(frozen=True)
class Accepted:
    """A class document's new signature, checked: what its event records."""

    signer: str
    fingerprint: str
    signing_time: str
    wrapper: Any

    def payload(self, root: Any) -> dict[str, Any]:
        return {
            "signer": self.signer,
            "fingerprint": self.fingerprint,
            "signing_time": self.signing_time,
            "digest": part_digest(root[0]),
            "wrapper_id": self.wrapper.get("Id"),
            "element": base64.b64encode(hocba_xml.canonical(self.wrapper)).decode(),
        }


async def _accept(
    session: SchoolSession,
    kind: _Kind,
    documents: tuple[Any, Any],
    keys: tuple[Sequence[x509.Certificate], Sequence[x509.CertificateRevocationList]],
    actor: Actor,
    assignment: dict[str, Any],
    refusal: Refused | None,
) -> Accepted:
    """Check the one new signature in the submitted document against the document as the ledger holds
    it (`documents`: held, submitted): not yet signed, complete (`refusal` says why not), the right
    references, the signature itself, its time, a registered certificate of the signer, who held the
    `assignment` that day."""
    root, submitted = documents
    role = kind.role.value
    if hocba_xml.wrappers(root):
        raise Conflict("signature.done", f"{kind.noun} đã được ký.", f"{kind.noun_en} is already signed.")
    if refusal is not None:  # on the append path too: a document prepared elsewhere is refused the same way
        raise refusal
    new = hocba_xml.wrappers(submitted)
    expected = hocba_xml.references_for(root, role)
    if len(new) != 1 or new[0].get("VaiTro") != role:
        raise Refused(
            "signature.count",
            f"Cần đúng một chữ ký của {kind.signer}.",
            f"Exactly one signature, by the {role.lower().replace('_', ' ')}, is expected.",
            field="document",
            rule=kind.rule,
        )
    if (new[0].get("ThamChieu") or "").split() != expected:
        raise Refused(
            "signature.references",
            f"Chữ ký phải tham chiếu đúng phần được ký ({' '.join(expected)}).",
            f"The signature must reference exactly {' '.join(expected)}.",
            field="document",
            rule=kind.rule,
        )
    wrapper = new[0]
    container = root.find(hocba_xml.tag("ChuKySo"))
    assert container is not None
    container.append(wrapper)
    report = xml_verify.verify_signature(hocba_xml.to_bytes(root), 0, *keys)
    signed_at = checked_signing_time(session, report, kind.rule)
    certificate = await registered_certificate(session, wrapper, signed_at)
    day, user = signed_at.astimezone(VN_TZ).date(), str(actor.user)
    if certificate["holder"] != user or not await holds(session, user, kind.role, day, **assignment):
        scope = " ".join(str(value) for value in assignment.values())
        raise Refused(
            "signature.not_assigned",
            f"{user} không phải {kind.signer} ({scope}) vào ngày {day.isoformat()}, "
            "hoặc chứng thư số không phải của người này.",
            f"{user} was not the {role.lower().replace('_', ' ')} ({scope}) on {day.isoformat()}, "
            "or the certificate is not theirs.",
            field="actor",
            rule=kind.rule,
        )
    return Accepted(user, certificate["fingerprint"], str(report.signing_time), wrapper)


async def submit_sheet(
    ledger: Ledger,
    school: str,
    actor: Actor,
    year: str,
    class_id: str,
    subject: str,
    term: Any,
    signed: bytes,
    trusted_roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
) -> Event:
    """Check the subject teacher's signature over the class sheet and record it."""
    submitted = parse_submitted(signed)
    year, class_id, term_no = identity.school_year(year), identity.class_id(class_id), identity.term(term)
    code = subject.strip().upper()

    async def decide(session: SchoolSession) -> list[NewEvent]:
        root, _ = await sheet_document(session.conn, session.school, year, class_id, code, term_no)
        missing = await _missing(session.conn, session.school, year, class_id, root[0])
        assignment = {"year": year, "class_id": class_id, "subject": code, "term": term_no}
        accepted = await _accept(
            session,
            SHEET,
            (root, submitted),
            (trusted_roots, crls),
            actor,
            assignment,
            _incomplete(missing) if missing else None,
        )
        payload = {"year": year, "class": class_id, "subject": code, "term": term_no, **accepted.payload(root)}
        return [NewEvent(SHEET_SIGNED, payload, signing_actor(actor, "SUBJECT_TEACHER"))]

    [event] = await ledger.decide(school, decide)
    return event


async def submit_term(
    ledger: Ledger,
    school: str,
    actor: Actor,
    year: str,
    class_id: str,
    term: Any,
    signed: bytes,
    trusted_roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
) -> Event:
    """Check the homeroom teacher's signature over the class's term record and record it (Điều 18.4)."""
    submitted = parse_submitted(signed)
    year, class_id, term_no = identity.school_year(year), identity.class_id(class_id), identity.term(term)

    async def decide(session: SchoolSession) -> list[NewEvent]:
        root, _ = await term_document(session.conn, session.school, year, class_id, term_no)
        accepted = await _accept(
            session,
            TERM,
            (root, submitted),
            (trusted_roots, crls),
            actor,
            {"year": year, "class_id": class_id},
            incomplete(root[0]),
        )
        payload = {"year": year, "class": class_id, "term": term_no, **accepted.payload(root)}
        return [NewEvent(CLASS_TERM_SIGNED, payload, signing_actor(actor, "HOMEROOM_TEACHER"))]

    [event] = await ledger.decide(school, decide)
    return event
