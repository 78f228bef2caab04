"""The class sheet and its signature (the regulation's Điều 18.3): the subject teacher reviews and
signs their subject's results for the class they are assigned, term by term, after typing them or
importing them from the school-management software.

The sheet is an XML document of the học bạ schema (root `BangDiemLop`): the part `sheet` holds every
enrolled student's assessments and comment for the class, subject and term, built from the ledger.
Signing works as for the học bạ: `prepare` on the service, the teacher signs on their side, `submit`
checks the signature in a document the service rebuilds, that the certificate is registered and
theirs, and that they held the assignment when they signed, then appends `sheet.signed` with the
digest of the part. When a value changes afterwards (a correction), the digest no longer matches: the
signature is stale, leaves the document, and the teacher signs again.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from datetime import date
from typing import Any

from cryptography import x509
from lxml import etree
from sqlalchemy import Column, SmallInteger, Text
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base.clock import VN_TZ
from ledger.base.errors import Conflict, NotFound, Refused
from ledger.format.envelope import Actor, Event, NewEvent
from ledger.log.append import Ledger, SchoolSession
from ledger.log.projection import Projection, ProjectionWriter, read
from ledger.log.schema import projection_table
from ledger.school.assessments import assessments, subject_comments
from ledger.school.rules import identity
from ledger.school.rules.roles import Role
from ledger.school.schools import schools
from ledger.school.signatures import checked_signing_time, parse_submitted, registered_certificate, signing_actor
from ledger.school.years import classes, enrolments, holds, students, subjects
from signing.xml import document as hocba_xml

SHEET_SIGNED = "sheet.signed"
RULE = "Điều 18.3"

sheet_signatures = projection_table(
    "sheet_signatures",
    keys=[Column("year", Text), Column("class_id", Text), Column("subject", Text), Column("term", SmallInteger)],
    values=[
        Column("signer", Text),
        Column("fingerprint", Text),
        Column("signing_time", Text),
        Column("digest", Text),  # SHA-256 of the canonical `sheet` part that was signed
        Column("wrapper_id", Text),
        Column("element", Text),  # base64 of the canonical ChuKy
    ],
)


def _refuse(code: str, vi: str, en: str, field: str = "document") -> Refused:
    return Refused(code, vi, en, field=field, rule=RULE)


async def _sheet(
    conn: AsyncConnection, school: str, year: str, class_id: str, subject: str, term: int
) -> etree._Element:
    """The `sheet` part as the ledger holds it now."""
    found = await read(conn, classes, school, year=year, class_id=class_id)
    if not found:
        raise NotFound(
            "class.unknown", f"lớp {class_id} không có trong năm học {year}", f"no class {class_id} in {year}"
        )
    listed = await read(conn, subjects, school, year=year, code=subject, grade=found[0]["grade"])
    if not listed:
        raise NotFound(
            "subject.unknown", f"lớp {class_id} không học môn {subject}", f"{class_id} has no subject {subject}"
        )
    [registered] = await read(conn, schools, school) or [{"name": school}]
    keys: dict[str, Any] = {"year": year, "subject": subject, "term": term}
    values: dict[str, list[tuple[str, int, str]]] = {}
    for r in await read(conn, assessments, school, **keys):
        values.setdefault(r["student_id"], []).append((r["kind"], r["slot"], r["value"]))
    comments = {r["student_id"]: r["text"] for r in await read(conn, subject_comments, school, **keys)}
    names = {r["student_id"]: r["full_name"] for r in await read(conn, students, school)}
    enrolled = sorted(r["student_id"] for r in await read(conn, enrolments, school, year=year, class_id=class_id)
                      if r["until"] is None)  # fmt: skip
    order = {"regular": 0, "midterm": 1, "final": 2}
    part = etree.Element(hocba_xml.tag("Lop"), Id="sheet", Nam=year, Lop=class_id, Mon=subject,
                         TenMon=listed[0]["name"], HocKy=str(term))  # fmt: skip
    etree.SubElement(part, hocba_xml.tag("Truong"), Ma=school, Ten=registered["name"])
    for student in enrolled:
        pupil = etree.SubElement(part, hocba_xml.tag("HocSinh"), SoDinhDanh=student, HoTen=names.get(student, ""))
        for kind, slot, value in sorted(values.get(student, []), key=lambda v: (order[v[0]], v[1])):
            etree.SubElement(pupil, hocba_xml.tag("Diem"), Loai=kind, Lan=str(slot), GiaTri=value)
        if comments.get(student):
            etree.SubElement(pupil, hocba_xml.tag("NhanXet")).text = comments[student]
    return part


async def document(
    conn: AsyncConnection, school: str, year: str, class_id: str, subject: str, term: Any
) -> tuple[etree._Element, dict[str, Any] | None]:
    """The class sheet as it stands, with its signature unless the data changed since (stale); and the
    recorded signature, if any."""
    year, class_id, term_no = identity.school_year(year), identity.class_id(class_id), identity.term(term)
    code = subject.strip().upper()
    part = await _sheet(conn, school, year, class_id, code, term_no)
    root = etree.Element(hocba_xml.tag("BangDiemLop"), nsmap={None: hocba_xml.NS})
    root.set("PhienBan", "1")
    root.append(part)
    container = etree.SubElement(root, hocba_xml.tag("ChuKySo"))
    rows = await read(conn, sheet_signatures, school, year=year, class_id=class_id, subject=code, term=term_no)
    signed = rows[0] if rows else None
    if signed is not None and signed["digest"] == _digest(part):
        container.append(hocba_xml.parse(base64.b64decode(signed["element"])))
    return root, signed


def _digest(part: etree._Element) -> str:
    return hashlib.sha256(hocba_xml.canonical(part)).hexdigest()


async def status(
    conn: AsyncConnection, school: str, year: str, class_id: str, subject: str, term: Any
) -> dict[str, Any]:
    """Whether the class sheet is signed, by whom and when, and whether it changed since (stale)."""
    root, signed = await document(conn, school, year, class_id, subject, term)
    current = len(hocba_xml.wrappers(root)) == 1
    return {
        "signed": current,
        "stale": signed is not None and not current,
        "signer": signed["signer"] if signed else None,
        "signing_time": signed["signing_time"] if signed else None,
        "digest": _digest(root[0]),
    }


async def prepare(
    conn: AsyncConnection, school: str, year: str, class_id: str, subject: str, term: Any, today: date
) -> bytes:
    """The class sheet with room for the subject teacher's signature."""
    root, _ = await document(conn, school, year, class_id, subject, term)
    if hocba_xml.wrappers(root):
        raise Conflict(
            "signature.done",
            "Bảng điểm này đã được ký và chưa thay đổi.",
            "This class sheet is already signed and has not changed since.",
            field="sheet",
        )
    part = root[0]
    wrapper = f"ck-{part.get('Lop', '').lower()}-{part.get('Mon', '').lower()}-{part.get('HocKy')}-{today.isoformat()}"
    hocba_xml.add_placeholder(root, wrapper, "SUBJECT_TEACHER", hocba_xml.references_for(root, "SUBJECT_TEACHER"))
    return hocba_xml.to_bytes(root)


async def submit(
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
        root, _ = await document(session.conn, session.school, year, class_id, code, term_no)
        if hocba_xml.wrappers(root):
            raise Conflict("signature.done", "Bảng điểm này đã được ký.", "This class sheet is already signed.")
        new = hocba_xml.wrappers(submitted)
        expected = hocba_xml.references_for(root, "SUBJECT_TEACHER")
        if len(new) != 1 or new[0].get("VaiTro") != "SUBJECT_TEACHER":
            raise _refuse("signature.count", "Cần đúng một chữ ký của giáo viên bộ môn.",
                          "Exactly one signature, by the subject teacher, is expected.")  # fmt: skip
        if (new[0].get("ThamChieu") or "").split() != expected:
            raise _refuse("signature.references", "Chữ ký phải tham chiếu đúng bảng điểm (#sheet).",
                          "The signature must reference exactly the sheet (#sheet).")  # fmt: skip
        wrapper = new[0]
        container = root.find(hocba_xml.tag("ChuKySo"))
        assert container is not None
        container.append(wrapper)
        report = hocba_xml.verify_signature(hocba_xml.to_bytes(root), 0, trusted_roots, crls)
        signed_at = checked_signing_time(session, report, RULE)
        certificate = await registered_certificate(session, wrapper, signed_at)
        day, user = signed_at.astimezone(VN_TZ).date(), str(actor.user)
        assigned = await holds(
            session, user, Role.SUBJECT_TEACHER, day, year=year, class_id=class_id, subject=code, term=term_no
        )
        if certificate["holder"] != user or not assigned:
            raise _refuse(
                "signature.not_assigned",
                f"{user} không dạy môn {code} lớp {class_id} học kì {term_no} vào ngày {day.isoformat()}, "
                "hoặc chứng thư số không phải của người này.",
                f"{user} did not teach {code} in {class_id}, term {term_no}, on {day.isoformat()}, "
                "or the certificate is not theirs.",
                field="actor",
            )
        payload = {
            "year": year, "class": class_id, "subject": code, "term": term_no, "signer": user,
            "fingerprint": certificate["fingerprint"], "signing_time": report.signing_time,
            "digest": _digest(root[0]), "wrapper_id": wrapper.get("Id"),
            "element": base64.b64encode(hocba_xml.canonical(wrapper)).decode(),
        }  # fmt: skip
        return [NewEvent(SHEET_SIGNED, payload, signing_actor(actor, "SUBJECT_TEACHER"))]

    [event] = await ledger.decide(school, decide)
    return event


async def _on_signed(w: ProjectionWriter, e: Event) -> None:
    p = e.payload
    key = {"year": p["year"], "class_id": p["class"], "subject": p["subject"], "term": p["term"]}
    names = ("signer", "fingerprint", "signing_time", "digest", "wrapper_id", "element")
    await w.put(sheet_signatures, key, {name: p[name] for name in names})


PROJECTION = Projection("class_sheets", (sheet_signatures,), {SHEET_SIGNED: _on_signed})
