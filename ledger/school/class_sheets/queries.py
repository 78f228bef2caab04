"""The class sheet as the ledger holds it, and the state of its signature."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from lxml import etree
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base.errors import NotFound
from ledger.log.projection import read
from ledger.school.assessments.tables import assessments, subject_comments
from ledger.school.class_sheets.tables import sheet_signatures
from ledger.school.rules import identity
from ledger.school.schools.tables import schools
from ledger.school.years.tables import classes, enrolments, students, subjects
from signing.xml import document as hocba_xml


async def pupils(conn: AsyncConnection, school: str, year: str, class_id: str) -> list[tuple[str, str]]:
    """The pupils enrolled in the class now, by personal identifier, with their names."""
    rows = await read(conn, enrolments, school, year=year, class_id=class_id)
    enrolled = sorted(r["student_id"] for r in rows if r["until"] is None)
    found = await conn.execute(
        select(students.c.student_id, students.c.full_name).where(
            students.c.school_id == school, students.c.student_id.in_(enrolled), students.c.seq_to.is_(None)
        )
    )
    names = {row[0]: row[1] for row in found}
    return [(student, names.get(student, "")) for student in enrolled]


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
    enrolled = await pupils(conn, school, year, class_id)
    order = {"regular": 0, "midterm": 1, "final": 2}
    part = etree.Element(
        hocba_xml.tag("Lop"), Id="sheet", Nam=year, Lop=class_id, Mon=subject, TenMon=listed[0]["name"], HocKy=str(term)
    )
    etree.SubElement(part, hocba_xml.tag("Truong"), Ma=school, Ten=registered["name"])
    for student, name in enrolled:
        pupil = etree.SubElement(part, hocba_xml.tag("HocSinh"), SoDinhDanh=student, HoTen=name)
        for kind, slot, value in sorted(values.get(student, []), key=lambda v: (order[v[0]], v[1])):
            etree.SubElement(pupil, hocba_xml.tag("Diem"), Loai=kind, Lan=str(slot), GiaTri=value)
        if comments.get(student):
            etree.SubElement(pupil, hocba_xml.tag("NhanXet")).text = comments[student]
    return part


async def sheet_document(
    conn: AsyncConnection, school: str, year: str, class_id: str, subject: str, term: Any
) -> tuple[etree._Element, dict[str, Any] | None]:
    """The class sheet as it stands, with its signature unless the data changed since (stale); and the
    recorded signature, if any."""
    year, class_id, term_no = identity.school_year(year), identity.class_id(class_id), identity.term(term)
    code = subject.strip().upper()
    part = await _sheet(conn, school, year, class_id, code, term_no)
    keys = {"year": year, "class_id": class_id, "subject": code, "term": term_no}
    return await signed_document(conn, school, "BangDiemLop", part, sheet_signatures, keys)


async def signed_document(
    conn: AsyncConnection, school: str, root_tag: str, part: etree._Element, table: Table, keys: dict[str, Any]
) -> tuple[etree._Element, dict[str, Any] | None]:
    """A class document (`root_tag`) of one signed part, with the signature recorded in `table` under
    `keys` unless the part changed since it was signed (stale); and that recorded signature, if any."""
    root = etree.Element(hocba_xml.tag(root_tag), nsmap={None: hocba_xml.NS})
    root.set("PhienBan", "1")
    root.append(part)
    container = etree.SubElement(root, hocba_xml.tag("ChuKySo"))
    rows = await read(conn, table, school, **keys)
    signed = rows[0] if rows else None
    if signed is not None and signed["digest"] == part_digest(part):
        container.append(hocba_xml.parse(base64.b64decode(signed["element"])))
    return root, signed


def part_digest(part: etree._Element) -> str:
    return hashlib.sha256(hocba_xml.canonical(part)).hexdigest()


def signature_status(root: etree._Element, signed: dict[str, Any] | None) -> dict[str, Any]:
    """Whether a class document is signed, by whom and when, and whether it changed since (stale)."""
    current = len(hocba_xml.wrappers(root)) == 1
    return {
        "signed": current,
        "stale": signed is not None and not current,
        "signer": signed["signer"] if signed else None,
        "signing_time": signed["signing_time"] if signed else None,
        "digest": part_digest(root[0]),
    }


async def sheet_status(
    conn: AsyncConnection, school: str, year: str, class_id: str, subject: str, term: Any
) -> dict[str, Any]:
    """Whether the class sheet is signed, by whom and when, and whether it changed since (stale)."""
    return signature_status(*await sheet_document(conn, school, year, class_id, subject, term))
