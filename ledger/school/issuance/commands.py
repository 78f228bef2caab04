"""Issuing a fully signed học bạ (Điều 24), keeping its exact bytes, and revoking it before the close
(Điều 25.3)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from cryptography import x509
from pyhanko.sign.timestamps.api import TimeStamper
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base import vietnamese
from ledger.base.clock import VN_TZ, format_time
from ledger.base.errors import Conflict, NotFound, Refused
from ledger.format.checkpoint import CheckpointSigner
from ledger.format.envelope import Actor, Event, NewEvent
from ledger.log import store
from ledger.log.append import Ledger, SchoolSession
from ledger.log.checkpointing import CheckpointPolicy, Stamp, inclusion_proofs, make_checkpoint
from ledger.log.projection import read
from ledger.school.calendar.checks import calendar_of, summer_pending
from ledger.school.issuance.kept import Kept
from ledger.school.issuance.tables import HOCBA_ISSUED, HOCBA_RECEIPT, HOCBA_REVOKED, documents, issued
from ledger.school.rules import identity
from ledger.school.rules.roles import Role
from ledger.school.signatures.queries import Documents, load_documents
from ledger.school.transcripts.hocba import hocba_id
from ledger.school.transcripts.verification import Verification
from ledger.school.years.queries import holds
from signing.pdf.archive import archive_pdf
from signing.pdf.layout import PdfError
from signing.xml import archive, receipt
from signing.xml import document as hocba_xml


async def store_document(conn: AsyncConnection, school: str, content: bytes, media_type: str) -> str:
    digest = hashlib.sha256(content).hexdigest()
    statement = insert(documents).values(school_id=school, sha256=digest, media_type=media_type, content=content)
    await conn.execute(statement.on_conflict_do_nothing())
    return digest


async def issue_hocba(
    ledger: Ledger,
    school: str,
    actor: Actor,
    year: str,
    student: str,
    trusted_roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    signer: CheckpointSigner,
    policy: CheckpointPolicy | None = None,
    *,
    verification: Verification,
    stamp: Stamp | None = None,
    time_stamper: TimeStamper | None = None,
) -> Event:
    """The clerk issues one student's học bạ for a year: `hocba.issued` names the signed document's
    digest and the PDF; then the school's ledger signs a checkpoint over it, and the XML with its
    archive timestamp (XAdES-LTA, from `stamp`, the school's time-stamping authority; by default the
    one `policy` timestamps checkpoints with) and its ledger receipt is stored and named by
    `hocba.receipt`. `verification`: what the PDF prints for checking it, as when it was signed. With
    `time_stamper` (the school's authority, as pyHanko asks it), the PDF issued is archived for the
    long term first (PAdES-B-LTA, `archived_pdfs`). Returns the issuance event."""
    [event] = await issue_hocbas(
        ledger,
        school,
        actor,
        year,
        [student],
        trusted_roots,
        crls,
        signer,
        policy,
        verification=verification,
        stamp=stamp,
        time_stamper=time_stamper,
    )
    return event


async def issue_hocbas(
    ledger: Ledger,
    school: str,
    actor: Actor,
    year: str,
    students: Sequence[str],
    trusted_roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    signer: CheckpointSigner,
    policy: CheckpointPolicy | None = None,
    *,
    verification: Verification,
    stamp: Stamp | None = None,
    time_stamper: TimeStamper | None = None,
) -> list[Event]:
    """The clerk issues the học bạ of several students of a year (a class, usually), all or none, as
    `issue_hocba` does one: their documents are read in one set of queries, and one checkpoint covers
    every issuance of the batch. Returns the issuance events, in the order of `students`."""
    async with ledger.engine.connect() as conn:
        pending = [
            r
            for r in await read(conn, issued, school, year=year, status="issued")
            if r["xml_sha256"] is None and r["student_id"] in set(students)
        ]
        recorded = await store.find_events(conn, school, [UUID(r["event_id"]) for r in pending]) if pending else {}
    # An issuance whose receipt was not stored (the process stopped in between) is completed, not repeated.
    done = {e.payload["student"]: e for e in recorded.values()}
    fresh = [s for s in students if s not in done]
    if fresh:
        done |= {
            e.payload["student"]: e
            for e in await _issue(ledger, school, actor, year, fresh, trusted_roots, crls, verification, time_stamper)
        }
    events = [done[s] for s in students]
    await attach_receipts(ledger, school, events, signer, policy, stamp=stamp)
    return events


async def _issue(
    ledger: Ledger,
    school: str,
    actor: Actor,
    year: str,
    students: Sequence[str],
    trusted_roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    verification: Verification,
    time_stamper: TimeStamper | None,
) -> list[Event]:
    archived = (
        await archived_pdfs(ledger, school, year, students, trusted_roots, crls, verification, time_stamper)
        if time_stamper is not None
        else None
    )

    async def decide(session: SchoolSession) -> list[NewEvent]:
        today = session.now().astimezone(VN_TZ).date()
        if not await holds(session, str(actor.user), Role.CLERK, today):
            raise Refused(
                "issuance.role",
                "Chỉ văn thư (người giữ chứng thư số của nhà trường) ban hành học bạ.",
                "Only the clerk, who holds the school's organisation certificate, issues the học bạ.",
                field="actor",
                rule="Điều 24.5",
            )
        before: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in await read(session.conn, issued, session.school, year=year):
            before[row["hocba_id"]].append(row)
        documents = await load_documents(session.conn, session.school, year, students)
        kept = await Kept.load(session.conn, session.school, documents)
        made = []
        for student in students:
            ident = hocba_id(session.school, year, student)
            made.append(
                await _issued(
                    session,
                    actor,
                    year,
                    student,
                    before[ident],
                    documents,
                    kept,
                    today,
                    trusted_roots,
                    crls,
                    verification,
                    archived,
                )
            )
        return made

    return await ledger.decide(school, decide)


async def _issued(
    session: SchoolSession,
    actor: Actor,
    year: str,
    student: str,
    previous: list[dict[str, Any]],
    documents: Documents,
    kept: Kept,
    today: date,
    trusted_roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    verification: Verification,
    archived: Mapping[str, bytes | PdfError] | None,
) -> NewEvent:
    """One student's issuance, checked under the school's lock: not already issued, fully signed,
    and every signature still the one verified when it was submitted, over what it signed then.
    With `archived`, the PDF issued is its archived form (PAdES-B-LTA)."""
    ident = hocba_id(session.school, year, student)
    standing = [r for r in previous if r["status"] == "issued"]
    if standing:
        raise Conflict(
            "issuance.exists",
            "Học bạ này đã được ban hành; muốn thay thế, hãy thu hồi bản đã ban hành trước (Điều 25.3).",
            "This học bạ is already issued; to replace it, revoke the issued one first (Điều 25.3).",
            field="student",
            issuance=standing[0]["issuance_id"],
        )
    root, rows = documents.xml(student)
    if "ORGANISATION" not in {r["role"] for r in rows}:
        raise Refused(
            "issuance.unsigned",
            "Học bạ chưa đủ chữ ký: giáo viên bộ môn, giáo viên chủ nhiệm, hiệu trưởng và dấu của nhà trường.",
            "The học bạ lacks signatures: subject teachers, homeroom teacher, principal and the school seal.",
            field="student",
            rule="Điều 18, 24.5",
        )
    pdf_bytes, pdf_rows = documents.pdf(student, verification)
    problems = await kept.problems(documents, student, root, pdf_bytes, trusted_roots, crls)
    if problems or [r["role"] for r in pdf_rows] != ["PRINCIPAL", "ORGANISATION"]:
        detail = problems[0] if problems else None
        raise Refused(
            "issuance.invalid",
            f"Học bạ chưa thể ban hành: {detail.vi if detail else 'bản PDF chưa được ký và đóng dấu'}",
            f"The học bạ cannot be issued: {detail.en if detail else 'the PDF is not signed and sealed'}",
            field="student",
            rule="Điều 15, 24",
        )
    if archived is not None:
        pdf_bytes = _archived(pdf_bytes, archived.get(student))
    version = len(previous) + 1
    year_part = root.find(hocba_xml.tag("NamHoc"))
    payload = {
        "issuance": f"{ident}-{version}",
        "hocba_id": ident,
        "year": year,
        "student": student,
        "class": year_part.get("Lop") if year_part is not None else None,
        "xml_c14n_sha256": receipt.document_digest(root),
        "pdf_sha256": await store_document(session.conn, session.school, pdf_bytes, "application/pdf"),
        "issued_on": today.isoformat(),
        "replaces": previous[-1]["issuance_id"] if previous else None,
    }
    return NewEvent(HOCBA_ISSUED, payload, actor)


async def archived_pdfs(
    ledger: Ledger,
    school: str,
    year: str,
    students: Sequence[str],
    trusted_roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    verification: Verification,
    time_stamper: TimeStamper,
) -> dict[str, bytes | PdfError]:
    """The sealed PDF of each of `students` archived for the long term (PAdES-B-LTA, signing.pdf.archive:
    the validation material of its signatures and a document timestamp of the school's authority, in
    one more revision), or why it cannot be. Made before the school's lock is taken (the authority
    may answer over the network); issuance checks under the lock that the PDF it issues is still the
    one archived. A PDF not yet signed and sealed is left out: issuance refuses it for that."""
    async with ledger.engine.connect() as conn:
        documents = await load_documents(conn, school, year, students)
    found: dict[str, bytes | PdfError] = {}
    for student in students:
        if student not in documents.models:
            continue
        pdf, rows = documents.pdf(student, verification)
        if [r["role"] for r in rows] != ["PRINCIPAL", "ORGANISATION"]:
            continue
        try:
            found[student] = await archive_pdf(pdf, trusted_roots, crls, time_stamper)
        except PdfError as exc:
            found[student] = exc
    return found


def _archived(pdf: bytes, archived: bytes | PdfError | None) -> bytes:
    """The archived form of the sealed `pdf`, when it was made from these very bytes."""
    if isinstance(archived, PdfError):
        raise Refused(
            "issuance.archive",
            "Không lưu trữ dài hạn được bản PDF: chứng thư số của một chữ ký không xác thực được (chuỗi tin cậy, "
            "tình trạng thu hồi), hoặc đơn vị cấp dấu thời gian không trả lời.",
            f"The PDF cannot be archived for the long term (validation material and timestamp): {archived}",
            field="student",
            rule="Điều 15, 28.3",
        )
    if archived is None or not archived.startswith(pdf):
        raise Conflict(
            "issuance.changed",
            "Bản PDF đã thay đổi trong khi được lưu trữ dài hạn; hãy ban hành lại.",
            "The PDF changed while it was being archived for the long term; issue it again.",
            field="student",
        )
    return archived


async def attach_receipt(
    ledger: Ledger,
    school: str,
    event: Event,
    signer: CheckpointSigner,
    policy: CheckpointPolicy | None = None,
    *,
    stamp: Stamp | None = None,
) -> Event:
    """Sign a checkpoint over the issuance event, put the archive timestamp and the receipt into the
    issued XML, store it, and record its hash (`hocba.receipt`)."""
    [recorded] = await attach_receipts(ledger, school, [event], signer, policy, stamp=stamp)
    return recorded


async def attach_receipts(
    ledger: Ledger,
    school: str,
    events: Sequence[Event],
    signer: CheckpointSigner,
    policy: CheckpointPolicy | None = None,
    *,
    stamp: Stamp | None = None,
) -> list[Event]:
    """`attach_receipt` for several issuance events of one year, under one checkpoint."""
    if not events:
        return []
    stamps = await _archive_stamps(ledger, school, events, stamp or (policy.stamp if policy else None))
    checkpoint = await make_checkpoint(ledger.engine, school, signer, ledger.clock, policy=policy)
    assert checkpoint is not None
    assert checkpoint.tree_size >= max(event.seq for event in events)
    [year] = {event.payload["year"] for event in events}

    async def decide(session: SchoolSession) -> list[NewEvent]:
        receipted = {
            r["issuance_id"]
            for r in await read(session.conn, issued, session.school, year=year)
            if r["xml_sha256"] is not None
        }
        waiting = [e for e in events if e.payload["issuance"] not in receipted]
        if not waiting:
            return []
        documents = await load_documents(session.conn, session.school, year, [e.payload["student"] for e in waiting])
        proofs = await inclusion_proofs(session.conn, session.school, [e.seq for e in waiting], checkpoint.tree_size)
        made = []
        for event in waiting:
            p = event.payload
            root, _ = documents.xml(p["student"])
            if receipt.document_digest(root) != p["xml_c14n_sha256"]:
                raise Conflict(
                    "issuance.changed",
                    "Học bạ đã thay đổi từ khi ban hành; hãy thu hồi và ban hành lại.",
                    "The học bạ changed since it was issued; revoke it and issue it again.",
                    field="issuance",
                )
            if p["issuance"] in stamps:  # XAdES-LTA: over these very bytes (the digest was just compared)
                archive.add(root, stamps[p["issuance"]])
            receipt.attach(
                root,
                seq=event.seq,
                prev_hash=event.prev_hash,
                body=event.body,
                checkpoint=checkpoint,
                proof=proofs[event.seq],
            )
            digest = await store_document(session.conn, session.school, hocba_xml.to_bytes(root), "application/xml")
            payload = {"issuance": p["issuance"], "xml_sha256": digest, "checkpoint_tree_size": checkpoint.tree_size}
            made.append(NewEvent(HOCBA_RECEIPT, payload, event.actor))
        return made

    recorded = {e.payload["issuance"]: e for e in await ledger.decide(school, decide)}
    return [recorded.get(e.payload["issuance"], e) for e in events]


async def _archive_stamps(
    ledger: Ledger, school: str, events: Sequence[Event], stamp: Stamp | None
) -> dict[str, bytes]:
    """The archive timestamp of each issued document (signing.xml.archive), asked of the school's
    time-stamping authority before the school's lock is taken: over the canonical document the
    issuance event names by its SHA-256, so that it is put only into that very document."""
    if stamp is None:
        return {}
    [year] = {event.payload["year"] for event in events}
    async with ledger.engine.connect() as conn:
        documents = await load_documents(conn, school, year, [e.payload["student"] for e in events])
    stamps = {}
    for event in events:
        root, _ = documents.xml(event.payload["student"])
        content = archive.archive_input(root, 0)
        if hashlib.sha256(content).hexdigest() == event.payload["xml_c14n_sha256"]:
            stamps[event.payload["issuance"]] = await stamp(content)
    return stamps


async def revoke_hocba(ledger: Ledger, school: str, actor: Actor, issuance_id: str, reason: str) -> Event:
    """The principal revokes an issued học bạ before the close, to replace it (Điều 25.3)."""
    why = identity.text(reason, "reason", limit=2000)

    async def decide(session: SchoolSession) -> list[NewEvent]:
        rows = await read(session.conn, issued, session.school, issuance_id=issuance_id)
        if not rows:
            raise NotFound("issuance.unknown", "không có học bạ đã ban hành này", "no such issued học bạ")
        row = rows[0]
        if row["status"] == "inherited":
            raise Refused(
                "issuance.inherited",
                f"Học bạ này do trường {row['origin_school']} ban hành; chỉ trường đó được thu hồi.",
                f"This học bạ was issued by school {row['origin_school']}; only that school may revoke it.",
                field="issuance",
                rule="Điều 25.3, 26",
            )
        if row["status"] != "issued":
            raise Conflict("issuance.revoked", "Học bạ này đã bị thu hồi.", "This học bạ is already revoked.")
        now = session.now()
        if not await holds(session, str(actor.user), Role.PRINCIPAL, now.astimezone(VN_TZ).date()):
            raise Refused(
                "issuance.revoke_role",
                "Chỉ hiệu trưởng quyết định thu hồi học bạ đã ban hành.",
                "Only the principal decides to revoke an issued học bạ.",
                field="actor",
                rule="Điều 25.3",
            )
        calendar = await calendar_of(session, row["year"])
        summer = await summer_pending(session, row["year"], row["student_id"])
        deadline: datetime = calendar.final if summer else calendar.close
        if now > deadline:
            raise Refused(
                "issuance.closed",
                f"Đã qua thời hạn {vietnamese.moment(deadline)}: học bạ đã ban hành không còn được thu hồi "
                "hay thay thế.",
                f"After {format_time(deadline)} an issued học bạ can no longer be revoked or replaced.",
                field="issuance",
                rule="Điều 25.3, 25.4",
                deadline=format_time(deadline),
            )
        return [NewEvent(HOCBA_REVOKED, {"issuance": issuance_id, "reason": why}, actor)]

    [event] = await ledger.decide(school, decide)
    return event
