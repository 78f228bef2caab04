"""The subject teacher signs the class sheet of a term (Điều 18.3): prepared by the service, signed on
the teacher's side, checked here."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from cryptography import x509
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base.clock import VN_TZ
from ledger.base.errors import Conflict, Refused
from ledger.format.envelope import Actor, Event, NewEvent
from ledger.log.append import Ledger, SchoolSession
from ledger.log.projection import read
from ledger.school.calendar.checks import check_entry_over, entry_still_open, period_open
from ledger.school.class_sheets.queries import sheet_digest, sheet_document
from ledger.school.class_sheets.tables import RULE, SHEET_SIGNED
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


def _what(class_id: str, part: Any) -> tuple[str, str]:
    name = part.get("TenMon") or part.get("Mon", "")
    return f"bảng điểm môn {name} lớp {class_id}", f"the {name} sheet of {class_id}"


async def prepare_sheet(
    conn: AsyncConnection, school: str, year: str, class_id: str, subject: str, term: Any, now: datetime
) -> bytes:
    """The class sheet with room for the subject teacher's signature, once it may be signed: every
    pupil's assessments entered, and entry over (Điều 18.3)."""
    root, _ = await sheet_document(conn, school, year, class_id, subject, term)
    if hocba_xml.wrappers(root):
        raise Conflict(
            "signature.done",
            "Bảng điểm này đã được ký và chưa thay đổi.",
            "This class sheet is already signed and has not changed since.",
            field="sheet",
        )
    part = root[0]
    missing = await _missing(conn, school, year, class_id, part)
    if missing:
        raise _incomplete(missing)
    term_no = int(part.get("HocKy", "0"))
    window = await entry_still_open(conn, school, year, term_no, now, class_id=class_id, subject=part.get("Mon"))
    if window is not None:
        raise period_open(window, term_no, _what(class_id, part))
    today = now.astimezone(VN_TZ).date().isoformat()
    wrapper = f"ck-{part.get('Lop', '').lower()}-{part.get('Mon', '').lower()}-{part.get('HocKy')}-{today}"
    hocba_xml.add_placeholder(root, wrapper, "SUBJECT_TEACHER", hocba_xml.references_for(root, "SUBJECT_TEACHER"))
    return hocba_xml.to_bytes(root)


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
        if hocba_xml.wrappers(root):
            raise Conflict("signature.done", "Bảng điểm này đã được ký.", "This class sheet is already signed.")
        missing = await _missing(session.conn, session.school, year, class_id, root[0])
        if missing:  # on the append path too: a sheet prepared elsewhere is refused the same way
            raise _incomplete(missing)
        await check_entry_over(session, year, term_no, _what(class_id, root[0]), class_id=class_id, subject=code)
        new = hocba_xml.wrappers(submitted)
        expected = hocba_xml.references_for(root, "SUBJECT_TEACHER")
        if len(new) != 1 or new[0].get("VaiTro") != "SUBJECT_TEACHER":
            raise _refuse(
                "signature.count",
                "Cần đúng một chữ ký của giáo viên bộ môn.",
                "Exactly one signature, by the subject teacher, is expected.",
            )
        if (new[0].get("ThamChieu") or "").split() != expected:
            raise _refuse(
                "signature.references",
                "Chữ ký phải tham chiếu đúng bảng điểm (#sheet).",
                "The signature must reference exactly the sheet (#sheet).",
            )
        wrapper = new[0]
        container = root.find(hocba_xml.tag("ChuKySo"))
        assert container is not None
        container.append(wrapper)
        report = xml_verify.verify_signature(hocba_xml.to_bytes(root), 0, trusted_roots, crls)
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
            "year": year,
            "class": class_id,
            "subject": code,
            "term": term_no,
            "signer": user,
            "fingerprint": certificate["fingerprint"],
            "signing_time": report.signing_time,
            "digest": sheet_digest(root[0]),
            "wrapper_id": wrapper.get("Id"),
            "element": base64.b64encode(hocba_xml.canonical(wrapper)).decode(),
        }
        return [NewEvent(SHEET_SIGNED, payload, signing_actor(actor, "SUBJECT_TEACHER"))]

    [event] = await ledger.decide(school, decide)
    return event
