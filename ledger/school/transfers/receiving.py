"""The receiving side: a sealed record verified with everything it carries, then inherited, never
re-created (Điều 26)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from cryptography import x509
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base.errors import Conflict
from ledger.format.envelope import Actor, Event, NewEvent
from ledger.log.append import Ledger, SchoolSession
from ledger.log.projection import read
from ledger.school.assessments.tables import (
    ABSENCES_RECORDED,
    ASSESSMENT_RECORDED,
    CONDUCT_RECORDED,
    SUBJECT_COMMENT_RECORDED,
    assessments,
)
from ledger.school.calendar.checks import check_change
from ledger.school.calendar.model import Change
from ledger.school.issuance.commands import store_document
from ledger.school.issuance.tables import HOCBA_INHERITED, issued
from ledger.school.rules import identity
from ledger.school.rules.roles import Role
from ledger.school.rules.tt22 import Kind, Level, value_text
from ledger.school.transfers.commands import require_handler, transfer_refusal
from ledger.school.transfers.tables import TRANSFER_RECEIVED, transfers
from ledger.school.years.model import student_profile
from ledger.school.years.queries import class_grade, subject_row, year_row
from ledger.school.years.tables import STUDENT_ENROLLED, STUDENT_REGISTERED, enrolments, students
from signing import transfer as record_xml
from signing.xml import document as hocba_xml
from signing.xml import receipt


def _profile_from(record: record_xml.Record) -> dict[str, Any]:
    s = record.student
    return student_profile(
        {
            "student": s.get("SoDinhDanh"),
            "ministry_code": record.ministry_code,
            "full_name": s.get("HoTen"),
            "gender": s.get("GioiTinh"),
            "date_of_birth": s.get("NgaySinh"),
            "birthplace": s.get("NoiSinh"),
            "ethnicity": s.get("DanToc"),
            "residence": s.get("NoiO"),
            "guardians": record.guardians,
        },
        "record.student",
    )


async def receive(
    ledger: Ledger,
    school: str,
    actor: Actor,
    data: bytes,
    *,
    year: str,
    class_id: str,
    since: Any = None,
    trusted_roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
) -> list[Event]:
    """Receive a sealed transfer record: verify it offline, then inherit what it carries into `class_id`
    of `year`. Returns the appended events (none when the record was already received)."""
    year, class_id = identity.school_year(year), identity.class_id(class_id)
    report, record = await record_xml.verify(data, trusted_roots, crls)
    if not report.ok or record is None:
        found = [f for s in report.signatures for f in s.findings] + report.findings
        first = found[0] if found else None
        raise transfer_refusal(
            "transfer.invalid",
            f"Hồ sơ chuyển trường không hợp lệ: {first.vi if first else 'thiếu chữ ký'}",
            f"The transfer record is not valid: {first.en if first else 'signatures are missing'}",
            field="document",
        )
    origin = record.school.get("Ma", "")
    if (record.kind == "paper") != (origin == school):
        raise transfer_refusal(
            "transfer.origin",
            "Hồ sơ học bạ giấy do chính trường tiếp nhận lập; hồ sơ chuyển trường khác do trường chuyển đi lập.",
            "A paper record is made by the receiving school itself; any other by the school the student leaves.",
            field="document",
        )
    profile = _profile_from(record)
    student = profile["student"]
    arrival = identity.parse_date(since or record.departure, "since")
    if record.results is not None and record.results.year != year:
        raise transfer_refusal(
            "transfer.year",
            f"Kết quả trong hồ sơ thuộc năm học {record.results.year}, không phải {year}.",
            f"The results in the record are for {record.results.year}, not {year}.",
            field="year",
        )

    async def decide(session: SchoolSession) -> list[NewEvent]:
        conn = session.conn
        await require_handler(session, actor, Role.CLERK, Role.PRINCIPAL)
        here = await read(conn, transfers, session.school, transfer_id=record.transfer)
        if here and here[0]["status"] == "received":
            return []
        if record.kind == "paper" and (not here or here[0]["record_sha256"] != hashlib.sha256(data).hexdigest()):
            raise transfer_refusal(
                "transfer.unknown_paper",
                "Hồ sơ học bạ giấy này không phải của trường.",
                "This paper record is not one the school sealed.",
                field="document",
            )
        await year_row(session, year)
        grade = await class_grade(session, year, class_id)
        events: list[NewEvent] = []
        known = await read(conn, students, session.school, student_id=student)
        if not known:
            events.append(NewEvent(STUDENT_REGISTERED, profile, actor))
        elif (known[0]["full_name"], known[0]["date_of_birth"].isoformat()) != (
            profile["full_name"],
            profile["date_of_birth"],
        ):
            raise Conflict(
                "transfer.identity",
                "Họ tên hoặc ngày sinh trong hồ sơ khác với hồ sơ học sinh của trường.",
                "The name or date of birth in the record differs from the school's record of the student.",
                field="document",
            )
        enrolled = await read(conn, enrolments, session.school, year=year, student_id=student)
        if enrolled and enrolled[0]["until"] is None and enrolled[0]["class_id"] != class_id:
            raise Conflict(
                "transfer.enrolled",
                f"Học sinh đang học lớp {enrolled[0]['class_id']} năm học {year}.",
                f"The student is already in class {enrolled[0]['class_id']} in {year}.",
                field="class",
            )
        if not enrolled or enrolled[0]["until"] is not None:
            enrolment = {"year": year, "class": class_id, "student": student, "since": arrival.isoformat()}
            events.append(NewEvent(STUDENT_ENROLLED, enrolment, actor))
        record_sha = await store_document(conn, session.school, data, "application/xml")
        for copy in record.issued:
            if await read(conn, issued, session.school, issuance_id=copy.issuance):
                continue
            events.append(NewEvent(HOCBA_INHERITED, await _inherit(conn, session.school, copy, record), actor))
        scans = [
            {
                "year": scan.year,
                "media_type": scan.media_type,
                "sha256": await store_document(conn, session.school, scan.content, scan.media_type),
            }
            for scan in record.scans
        ]
        if record.results is not None:
            events += await _inherit_results(session, actor, record, record_sha, class_id, grade, student)
        payload = {
            "transfer": record.transfer,
            "student": student,
            "kind": record.kind,
            "from_school": origin,
            "from_school_name": record.school.get("Ten") if origin != session.school else record.from_school,
            "departure": record.departure,
            "year": year,
            "class": class_id,
            "record_sha256": record_sha,
            "issued": [c.issuance for c in record.issued],
            "scans": scans,
        }
        return [*events, NewEvent(TRANSFER_RECEIVED, payload, actor)]

    return await ledger.decide(school, decide)


async def _inherit(
    conn: AsyncConnection, school: str, copy: record_xml.IssuedCopy, record: record_xml.Record
) -> dict[str, Any]:
    root = hocba_xml.parse(copy.xml)
    year_part, sealed = root.find(hocba_xml.tag("NamHoc")), root.find(hocba_xml.tag("BanHanh"))
    truong = root.find(f"{hocba_xml.tag('HoSo')}/{hocba_xml.tag('Truong')}")
    return {
        "issuance": copy.issuance,
        "hocba_id": root.get("MaHocBa"),
        "year": copy.year,
        "student": record.student.get("SoDinhDanh"),
        "class": year_part.get("Lop") if year_part is not None else None,
        "xml_sha256": await store_document(conn, school, copy.xml, "application/xml"),
        "xml_c14n_sha256": receipt.document_digest(root),
        "pdf_sha256": await store_document(conn, school, copy.pdf, "application/pdf"),
        "issued_on": sealed.get("Ngay") if sealed is not None else None,
        "origin_school": truong.get("Ma") if truong is not None else None,
        "transfer": record.transfer,
    }


async def _inherit_results(
    session: SchoolSession,
    actor: Actor,
    record: record_xml.Record,
    record_sha: str,
    class_id: str,
    grade: int,
    student: str,
) -> list[NewEvent]:
    """The current year's results from the sending school, as this school's assessment events, each
    naming the record it came from. The calendar's close and final date apply; windows and locks do
    not (the data was entered in time at the sending school)."""
    results = record.results
    assert results is not None
    # No students named: after the close nothing mid-year is inherited (a student arriving then has no
    # summer work pending at this school).
    await check_change(session, Change.TRANSFER, year=results.year, term=None, class_id=class_id, field="document")
    source = {"transfer": record.transfer, "record_sha256": record_sha}
    base = {"year": results.year, "class": class_id, "student": student}
    existing = {
        (r["subject"], r["term"], r["kind"], r["slot"]): r["value"]
        for r in await read(session.conn, assessments, session.school, year=results.year, student_id=student)
    }
    events = []
    for index, a in enumerate(results.assessments):
        subject = await subject_row(session, results.year, str(a["subject"]), grade)
        value = value_text(Kind(subject["kind"]), a["value"], f"record.results[{index}]")
        key = (a["subject"], a["term"], a["kind"], a["slot"])
        if existing.get(key) == value:
            continue
        if key in existing:
            raise Conflict(
                "transfer.results_differ",
                "Điểm trong hồ sơ khác với điểm trường đã ghi.",
                "A score in the record differs from the one recorded here.",
                field="document",
            )
        payload = {
            **base,
            "term": a["term"],
            "subject": a["subject"],
            "kind": a["kind"],
            "slot": a["slot"],
            "value": value,
            "source": source,
        }
        events.append(NewEvent(ASSESSMENT_RECORDED, payload, actor))
    for c in results.comments:
        text = {**base, "term": c["term"], "subject": c["subject"], "text": c["text"]}
        events.append(NewEvent(SUBJECT_COMMENT_RECORDED, text, actor))
    for term, level in sorted(results.conduct.items()):
        events.append(
            NewEvent(
                CONDUCT_RECORDED,
                {**base, "term": term, "level": Level.parse(level, "record.results.conduct").value},
                actor,
            )
        )
    for term, (excused, unexcused) in sorted(results.absences.items()):
        counts = {**base, "term": term, "excused": excused, "unexcused": unexcused}
        events.append(NewEvent(ABSENCES_RECORDED, counts, actor))
    return events
