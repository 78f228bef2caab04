"""The class's term record, which the homeroom teacher reviews and signs (Điều 18.4): for every pupil
enrolled, the term's results in every subject of the class (each assessment and the subject comment,
as the subject's class sheet holds them), conduct (kết quả rèn luyện), sessions absent with and
without leave, and the homeroom comments of the term (in term II, the year's comment too: the term II
record closes the year). Each subject names the teacher whose signature of its sheet stands.

It is signed once complete: every pupil has the term's conduct (TT22 Đ.8) and every subject's class
sheet is signed by its teacher and unchanged since (Điều 18.3 comes first; a signed sheet has every
assessment of every pupil). The record is an XML document of the học bạ schema (root `KetQuaHocKy`,
part `term`); any later change to what it holds makes the signature stale."""

from __future__ import annotations

import copy
from typing import Any

from lxml import etree
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base.errors import NotFound, Refused
from ledger.log.projection import read
from ledger.school.assessments.tables import absences, conduct, homeroom_comments
from ledger.school.class_sheets.queries import pupils, sheet_document, signature_status, signed_document
from ledger.school.class_sheets.tables import TERM_RULE, term_signatures
from ledger.school.rules import identity
from ledger.school.schools.tables import schools
from ledger.school.years.model import hocba_order
from ledger.school.years.tables import classes, subjects
from signing.xml import document as hocba_xml

TERM_NAMES = {1: "I", 2: "II"}


def periods(term: int) -> list[str]:
    """The homeroom comments a term's record holds: the term's, and in term II the year's (Điều 34.6)."""
    return ["1"] if term == 1 else ["2", "year"]


async def _sheets(
    conn: AsyncConnection, school: str, year: str, class_id: str, term: int
) -> list[tuple[dict[str, Any], etree._Element, str | None]]:
    """Each subject of the class in the học bạ's order: its row, its class sheet's part as it stands,
    and who signed that sheet if the signature still holds."""
    found = await read(conn, classes, school, year=year, class_id=class_id)
    if not found:
        raise NotFound(
            "class.unknown", f"lớp {class_id} không có trong năm học {year}", f"no class {class_id} in {year}"
        )
    listed = await read(conn, subjects, school, year=year, grade=found[0]["grade"])
    sheets = []
    for subject in sorted(listed, key=lambda row: hocba_order(row["code"], row["name"])):
        root, signed = await sheet_document(conn, school, year, class_id, subject["code"], term)
        current = signed is not None and bool(hocba_xml.wrappers(root))
        sheets.append((subject, root[0], signed["signer"] if current and signed else None))
    return sheets


async def _term(conn: AsyncConnection, school: str, year: str, class_id: str, term: int) -> etree._Element:
    """The `term` part as the ledger holds it now."""
    sheets = await _sheets(conn, school, year, class_id, term)
    enrolled = await pupils(conn, school, year, class_id)
    [registered] = await read(conn, schools, school) or [{"name": school}]
    levels = {r["student_id"]: r["level"] for r in await read(conn, conduct, school, year=year, term=term)}
    absent = {
        r["student_id"]: (r["excused"], r["unexcused"])
        for r in await read(conn, absences, school, year=year, term=term)
    }
    comments = {
        (r["student_id"], period): r["text"]
        for period in periods(term)
        for r in await read(conn, homeroom_comments, school, year=year, period=period)
    }
    part = etree.Element(
        hocba_xml.tag("HocKyLop"),
        Id="term",
        Nam=year,
        Lop=class_id,
        HocKy=str(term),
        SiSo=str(len(enrolled)),
        SoMon=str(len(sheets)),
    )
    etree.SubElement(part, hocba_xml.tag("Truong"), Ma=school, Ten=registered["name"])
    results: dict[tuple[str, str], etree._Element] = {}
    for subject, sheet, signer in sheets:
        element = etree.SubElement(part, hocba_xml.tag("MonHoc"), Ma=subject["code"], Ten=subject["name"])
        if signer:
            element.set("GiaoVien", signer)
        for pupil in sheet.iterfind(hocba_xml.tag("HocSinh")):
            results[(subject["code"], pupil.get("SoDinhDanh", ""))] = pupil
    for student, name in enrolled:
        pupil = etree.SubElement(part, hocba_xml.tag("HocSinh"), SoDinhDanh=student, HoTen=name)
        for subject, _, _ in sheets:
            entered = etree.SubElement(pupil, hocba_xml.tag("Mon"), Ma=subject["code"])
            entered.extend(copy.deepcopy(child) for child in results.get((subject["code"], student), ()))
        if student in levels:
            etree.SubElement(pupil, hocba_xml.tag("RenLuyen")).text = levels[student]
        excused, unexcused = absent.get(student, (0, 0))
        etree.SubElement(pupil, hocba_xml.tag("NghiHoc"), CoPhep=str(excused), KhongPhep=str(unexcused))
        for period in periods(term):
            if comments.get((student, period)):
                etree.SubElement(pupil, hocba_xml.tag("NhanXet"), Ky=period).text = comments[(student, period)]
    return part


async def term_document(
    conn: AsyncConnection, school: str, year: str, class_id: str, term: Any
) -> tuple[etree._Element, dict[str, Any] | None]:
    """The class's term record as it stands, with the homeroom teacher's signature unless anything it
    holds changed since (stale); and the recorded signature, if any."""
    year, class_id, term_no = identity.school_year(year), identity.class_id(class_id), identity.term(term)
    part = await _term(conn, school, year, class_id, term_no)
    keys = {"year": year, "class_id": class_id, "term": term_no}
    return await signed_document(conn, school, "KetQuaHocKy", part, term_signatures, keys)


def summary(part: etree._Element) -> dict[str, Any]:
    """What the record holds, as the confirmation before signing names it: the class, the term, the
    number of pupils and of subjects, the subjects' names; and what is still missing."""
    tag = hocba_xml.tag
    return {
        "class": part.get("Lop"),
        "term": int(part.get("HocKy", "0")),
        "pupils": int(part.get("SiSo", "0")),
        "subjects": [s.get("Ten", "") for s in part.iterfind(tag("MonHoc"))],
        "unsigned": [s.get("Ten", "") for s in part.iterfind(tag("MonHoc")) if not s.get("GiaoVien")],
        "no_conduct": [p.get("HoTen", "") for p in part.iterfind(tag("HocSinh")) if p.find(tag("RenLuyen")) is None],
    }


def _listed(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f" và {len(names) - 5} khác" if len(names) > 5 else "")


def incomplete(part: etree._Element) -> Refused | None:
    """Why the record cannot be signed yet, or None: a pupil without the term's conduct (TT22 Đ.8), a
    subject whose class sheet is not signed by its teacher or changed since (Điều 18.3)."""
    facts = summary(part)
    if not facts["unsigned"] and not facts["no_conduct"]:
        return None
    missing_vi, missing_en = [], []
    if facts["no_conduct"]:
        count = len(facts["no_conduct"])
        missing_vi.append(f"kết quả rèn luyện của {count} học sinh ({_listed(facts['no_conduct'])})")
        missing_en.append(f"the conduct of {count} pupil(s)")
    if facts["unsigned"]:
        missing_vi.append(f"chữ ký bảng điểm của giáo viên bộ môn: {_listed(facts['unsigned'])}")
        missing_en.append(f"the subject teacher's signature of {len(facts['unsigned'])} sheet(s)")
    term = TERM_NAMES.get(facts["term"], str(facts["term"]))
    return Refused(
        "class_term.incomplete",
        f"Chưa ký được kết quả học kì {term} của lớp {facts['class']}: giáo viên chủ nhiệm rà soát, ký số "
        "kết quả của tất cả các môn học khi mọi học sinh đã có kết quả rèn luyện của học kì và bảng điểm của "
        "từng môn đã được giáo viên bộ môn ký (Điều 18.4, sau chữ ký bảng điểm theo Điều 18.3; rèn luyện: Thông "
        "tư 22 Điều 8). "
        f"Còn thiếu: {'; '.join(missing_vi)}.",
        f"Term {facts['term']} of {facts['class']} cannot be signed yet (Điều 18.4): missing {'; '.join(missing_en)}.",
        field="term",
        rule=TERM_RULE,
    )


async def term_status(conn: AsyncConnection, school: str, year: str, class_id: str, term: Any) -> dict[str, Any]:
    """Whether the class's term record is signed by the homeroom teacher, by whom and when, whether it
    changed since (stale), what it holds, and what it still lacks."""
    root, signed = await term_document(conn, school, year, class_id, term)
    return {**signature_status(root, signed), **summary(root[0])}
