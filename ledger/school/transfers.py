"""Transfers between schools, keyed by the personal identifier (the regulation's Điều 26; DOMAIN §9).

The sending school
- `open_transfer`: the clerk or the principal opens the transfer record (signing/transfer.py): every
  học bạ issued to the student, and every one the school inherited, byte for byte; mid-year, the
  current year's results up to the departure date, and the student leaves the class on that date
  (`student.withdrawn`), so nothing more is entered there;
- `prepare` / `submit`: the principal signs, then the clerk seals with the organisation certificate,
  on their own side, exactly as for the học bạ (Điều 26.2c);
- `sealed_record`: the sealed record, byte for byte, for the receiving school.

The receiving school
- `receive`: verifies the record offline (every signature, every issued học bạ with its ledger
  receipt), then inherits rather than re-creates (Điều 26.1c): registers the student from the record
  if the school does not know them, enrols them, keeps each issued học bạ as its school signed it
  (`hocba.inherited`) and, mid-year, appends the results so far as assessment events whose source
  names the record. Receiving the same record again appends nothing.
- A student from a paper-based school (Điều 26.3a): `open_paper` opens a record of the receiving
  school itself with the scanned pages; its principal signs, its clerk seals, and it is received like
  any other.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from datetime import date
from typing import Any

from cryptography import x509
from lxml import etree
from sqlalchemy import Column, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base.clock import VN_TZ
from ledger.base.errors import Conflict, NotFound, Refused, ValidationError
from ledger.format.envelope import Actor, Event, NewEvent
from ledger.log.append import Ledger, SchoolSession
from ledger.log.projection import Projection, ProjectionWriter, read
from ledger.log.schema import projection_table
from ledger.school.assessments import (
    ABSENCES_RECORDED,
    ASSESSMENT_RECORDED,
    CONDUCT_RECORDED,
    SUBJECT_COMMENT_RECORDED,
    absences,
    assessments,
    conduct,
    subject_comments,
    value_text,
)
from ledger.school.calendar import Change, check_change
from ledger.school.hocba import school_part, student_part
from ledger.school.issuance import HOCBA_INHERITED, issued, store_document, stored
from ledger.school.rules import identity
from ledger.school.rules.roles import Role
from ledger.school.rules.tt22 import Kind, Level
from ledger.school.signatures import checked_signing_time, parse_submitted, registered_certificate, signing_actor
from ledger.school.years import (
    STUDENT_ENROLLED,
    STUDENT_REGISTERED,
    class_grade,
    classes,
    enrolments,
    holds,
    student_profile,
    students,
    subject_row,
    withdrawal,
    year_row,
)
from signing import transfer as record_xml
from signing.xml import document as hocba_xml
from signing.xml import receipt

TRANSFER_OPENED = "transfer.opened"
TRANSFER_SIGNED = "transfer.signed"
TRANSFER_RECEIVED = "transfer.received"
ORDER = ("PRINCIPAL", "ORGANISATION")
WITHDRAWAL_REASON = "Chuyển trường (Điều 26)"
RULE = "Điều 26"

transfers = projection_table(
    "transfers",
    keys=[Column("transfer_id", Text)],
    values=[
        Column("student_id", Text),
        Column("direction", Text),  # out (to another school), in (received), paper (opened here from scans)
        Column("kind", Text),  # before_year, mid_year, paper
        Column("departure", Text),
        Column("year", Text),
        Column("other_school", Text),
        Column("status", Text),  # opened, signed, sealed, received
        Column("unsigned_sha256", Text),
        Column("record_sha256", Text),
        Column("signatures", JSONB),  # [{role, wrapper_id, element}] in signing order
        Column("opened_by", Text),
    ],
)


def _refused(code: str, vi: str, en: str, field: str = "transfer") -> Refused:
    return Refused(code, vi, en, field=field, rule=RULE)


async def _acting_as(session: SchoolSession, actor: Actor, *roles: Role) -> None:
    today = session.now().astimezone(VN_TZ).date()
    for role in roles:
        if await holds(session, str(actor.user), role, today):
            return
    raise _refused(
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
        xml = await stored(conn, school, row["xml_sha256"])
        truong = hocba_xml.parse(xml).find(f"{hocba_xml.tag('HoSo')}/{hocba_xml.tag('Truong')}")
        name = truong.get("Ten", "") if truong is not None else ""
        copies.append(
            record_xml.IssuedCopy(
                row["issuance_id"], row["year"], name, xml, await stored(conn, school, row["pdf_sha256"])
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
        await _acting_as(session, actor, Role.CLERK, Role.PRINCIPAL)
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
            "transfer": transfer_id, "student": student, "kind": kind, "departure": departure.isoformat(),
            "year": year, "other_school": other_school, "unsigned_sha256": unsigned,
            "direction": "paper" if kind == "paper" else "out",
        }  # fmt: skip
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


async def _current(conn: AsyncConnection, school: str, transfer_id: str) -> tuple[etree._Element, dict[str, Any]]:
    """The record as it stands: the opened record and the signatures recorded on it, in order."""
    rows = await read(conn, transfers, school, transfer_id=transfer_id)
    if not rows or rows[0]["unsigned_sha256"] is None:
        raise NotFound("transfer.unknown", "không có hồ sơ chuyển trường này", "no such transfer record")
    row = rows[0]
    root = hocba_xml.parse(await stored(conn, school, row["unsigned_sha256"]))
    container = root.find(hocba_xml.tag("ChuKySo"))
    assert container is not None
    for signature in row["signatures"]:
        container.append(hocba_xml.parse(base64.b64decode(signature["element"])))
    return root, row


def _next_role(row: dict[str, Any]) -> str:
    if len(row["signatures"]) >= len(ORDER):
        raise Conflict(
            "transfer.sealed", "Hồ sơ chuyển trường đã được ký và đóng dấu.", "The transfer record is already sealed."
        )
    return ORDER[len(row["signatures"])]


async def prepare(conn: AsyncConnection, school: str, transfer_id: str, role: str) -> bytes:
    """The record with room for the next signature: the principal's, then the organisation seal."""
    root, row = await _current(conn, school, transfer_id)
    expected = _next_role(row)
    if role != expected:
        raise _refused(
            "signature.order",
            f"Chưa đến lượt ký của {role}: cần chữ ký của {expected}.",
            f"Not {role}'s turn: {expected} signs next.",
            field="role",
        )
    hocba_xml.add_placeholder(root, f"ck-{row['transfer_id'][-12:]}-{role.lower()}", role,
                              hocba_xml.references_for(root, role))  # fmt: skip
    return hocba_xml.to_bytes(root)


async def submit(
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
        root, row = await _current(session.conn, session.school, transfer_id)
        role = _next_role(row)
        known = {s["wrapper_id"] for s in row["signatures"]}
        new = [w for w in hocba_xml.wrappers(submitted) if w.get("Id") not in known]
        if len(new) != 1 or new[0].get("VaiTro") != role:
            raise _refused("signature.count", f"Cần đúng một chữ ký mới, của {role}.",
                           f"Exactly one new signature is expected, by {role}.", field="document")  # fmt: skip
        wrapper = new[0]
        if (wrapper.get("ThamChieu") or "").split() != hocba_xml.references_for(root, role):
            raise _refused(
                "signature.references",
                "Chữ ký không tham chiếu đúng các phần của hồ sơ.",
                "The signature does not reference exactly the parts of the record.",
                field="document",
            )
        container = root.find(hocba_xml.tag("ChuKySo"))
        assert container is not None
        container.append(wrapper)
        data = hocba_xml.to_bytes(root)
        report = hocba_xml.verify_signature(data, len(row["signatures"]), trusted_roots, crls)
        signed_at = checked_signing_time(session, report, RULE)
        certificate = await registered_certificate(session, wrapper, signed_at)
        day = signed_at.astimezone(VN_TZ).date()
        user = str(actor.user)
        if role == "PRINCIPAL":
            allowed = certificate["holder"] == user and await holds(session, user, Role.PRINCIPAL, day)
        else:
            allowed = certificate["holder"] == "organisation" and await holds(session, user, Role.CLERK, day)
        if not allowed:
            raise _refused(
                "signature.not_assigned",
                f"{user} không giữ vai trò {role} vào ngày {day.isoformat()}, "
                "hoặc chứng thư số không phải của người này.",
                f"{user} does not hold {role} on {day.isoformat()}, or the certificate is not theirs.",
                field="actor",
            )
        payload: dict[str, Any] = {
            "transfer": transfer_id, "role": role, "wrapper_id": wrapper.get("Id"),
            "element": base64.b64encode(hocba_xml.canonical(wrapper)).decode(),
            "signer": certificate["holder"], "fingerprint": certificate["fingerprint"],
            "signing_time": report.signing_time, "record_sha256": None,
        }  # fmt: skip
        if role == ORDER[-1]:
            payload["record_sha256"] = await store_document(session.conn, session.school, data, "application/xml")
        return [NewEvent(TRANSFER_SIGNED, payload, signing_actor(actor, role))]

    [event] = await ledger.decide(school, decide)
    return event


async def sealed_record(conn: AsyncConnection, school: str, transfer_id: str) -> bytes:
    """The sealed record, byte for byte."""
    rows = await read(conn, transfers, school, transfer_id=transfer_id)
    if not rows:
        raise NotFound("transfer.unknown", "không có hồ sơ chuyển trường này", "no such transfer record")
    if rows[0]["record_sha256"] is None:
        raise Conflict(
            "transfer.unsealed",
            "Hồ sơ chuyển trường chưa được hiệu trưởng ký và văn thư đóng dấu.",
            "The transfer record is not yet signed by the principal and sealed by the clerk.",
        )
    return await stored(conn, school, rows[0]["record_sha256"])


def _profile_from(record: record_xml.Record) -> dict[str, Any]:
    s = record.student
    return student_profile(
        {
            "student": s.get("SoDinhDanh"), "ministry_code": record.ministry_code, "full_name": s.get("HoTen"),
            "gender": s.get("GioiTinh"), "date_of_birth": s.get("NgaySinh"), "birthplace": s.get("NoiSinh"),
            "ethnicity": s.get("DanToc"), "residence": s.get("NoiO"), "guardians": record.guardians,
        },
        "record.student",
    )  # fmt: skip


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
        raise _refused(
            "transfer.invalid",
            f"Hồ sơ chuyển trường không hợp lệ: {first.vi if first else 'thiếu chữ ký'}",
            f"The transfer record is not valid: {first.en if first else 'signatures are missing'}",
            field="document",
        )
    origin = record.school.get("Ma", "")
    if (record.kind == "paper") != (origin == school):
        raise _refused(
            "transfer.origin",
            "Hồ sơ học bạ giấy do chính trường tiếp nhận lập; hồ sơ chuyển trường khác do trường chuyển đi lập.",
            "A paper record is made by the receiving school itself; any other by the school the student leaves.",
            field="document",
        )
    profile = _profile_from(record)
    student = profile["student"]
    arrival = identity.parse_date(since or record.departure, "since")
    if record.results is not None and record.results.year != year:
        raise _refused(
            "transfer.year",
            f"Kết quả trong hồ sơ thuộc năm học {record.results.year}, không phải {year}.",
            f"The results in the record are for {record.results.year}, not {year}.",
            field="year",
        )

    async def decide(session: SchoolSession) -> list[NewEvent]:
        conn = session.conn
        await _acting_as(session, actor, Role.CLERK, Role.PRINCIPAL)
        here = await read(conn, transfers, session.school, transfer_id=record.transfer)
        if here and here[0]["status"] == "received":
            return []
        if record.kind == "paper" and (not here or here[0]["record_sha256"] != hashlib.sha256(data).hexdigest()):
            raise _refused("transfer.unknown_paper", "Hồ sơ học bạ giấy này không phải của trường.",
                           "This paper record is not one the school sealed.", field="document")  # fmt: skip
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
            {"year": scan.year, "media_type": scan.media_type,
             "sha256": await store_document(conn, session.school, scan.content, scan.media_type)}
            for scan in record.scans
        ]  # fmt: skip
        if record.results is not None:
            events += await _inherit_results(session, actor, record, record_sha, class_id, grade, student)
        payload = {
            "transfer": record.transfer, "student": student, "kind": record.kind, "from_school": origin,
            "from_school_name": record.school.get("Ten") if origin != session.school else record.from_school,
            "departure": record.departure, "year": year, "class": class_id, "record_sha256": record_sha,
            "issued": [c.issuance for c in record.issued], "scans": scans,
        }  # fmt: skip
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
            raise Conflict("transfer.results_differ", "Điểm trong hồ sơ khác với điểm trường đã ghi.",
                           "A score in the record differs from the one recorded here.", field="document")  # fmt: skip
        payload = {**base, "term": a["term"], "subject": a["subject"], "kind": a["kind"], "slot": a["slot"],
                   "value": value, "source": source}  # fmt: skip
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


# --- projection --------------------------------------------------------------------------------


def _values(row: dict[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in transfers.info["values"]}


async def _on_opened(w: ProjectionWriter, e: Event) -> None:
    p = e.payload
    await w.put(
        transfers,
        {"transfer_id": p["transfer"]},
        {
            "student_id": p["student"], "direction": p["direction"], "kind": p["kind"], "departure": p["departure"],
            "year": p["year"], "other_school": p["other_school"], "status": "opened",
            "unsigned_sha256": p["unsigned_sha256"], "record_sha256": None, "signatures": [],
            "opened_by": str(e.actor.user),
        },
    )  # fmt: skip


async def _on_signed(w: ProjectionWriter, e: Event) -> None:
    p = e.payload
    row = await w.get(transfers, transfer_id=p["transfer"])
    if row is None:
        return
    signature = {"role": p["role"], "wrapper_id": p["wrapper_id"], "element": p["element"]}
    values = {**_values(row), "signatures": [*row["signatures"], signature]}
    values["status"] = "sealed" if p["record_sha256"] else "signed"
    values["record_sha256"] = p["record_sha256"] or row["record_sha256"]
    await w.put(transfers, {"transfer_id": p["transfer"]}, values)


async def _on_received(w: ProjectionWriter, e: Event) -> None:
    p = e.payload
    row = await w.get(transfers, transfer_id=p["transfer"])
    if row is not None:
        values = {**_values(row), "status": "received", "year": p["year"]}
    else:
        values = {
            "student_id": p["student"], "direction": "in", "kind": p["kind"], "departure": p["departure"],
            "year": p["year"], "other_school": p["from_school"], "status": "received", "unsigned_sha256": None,
            "record_sha256": p["record_sha256"], "signatures": [], "opened_by": str(e.actor.user),
        }  # fmt: skip
    await w.put(transfers, {"transfer_id": p["transfer"]}, values)


PROJECTION = Projection(
    "transfers",
    (transfers,),
    {TRANSFER_OPENED: _on_opened, TRANSFER_SIGNED: _on_signed, TRANSFER_RECEIVED: _on_received},
)
