"""The transfer record (ChuyenTruong) that moves a student's học bạ between schools (Điều 26).

One XML document in the học bạ namespace (signing/xml/schema/hocba-1.xsd), with two signed parts:

- `student` (HoSo): the school that signs and the student, keyed by the personal identifier;
- `transfer` (ChuyenDi): the case (`before_year`, `mid_year`, `paper`), the date, and what moves:
  every issued học bạ as the exact stored XML (with its ledger receipt) and PDF; mid-year, the
  current year's assessments, conduct and absences up to the departure date; for a student arriving
  from a paper-based school, the scanned pages.

The principal signs both parts, then the clerk seals `transfer` and the principal's signature with
the organisation certificate: the same XAdES-B signatures and signing flow as the học bạ
(signing.xml). `verify` checks the record and everything inside it offline, with only the trusted
roots: a receiving school inherits nothing that does not pass.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from lxml import etree

from signing.report import FileReport, Finding
from signing.xml import document as hocba_xml
from signing.xml import verify as xml_verify

KINDS = ("before_year", "mid_year", "paper")


@dataclass(frozen=True)
class IssuedCopy:
    """An issued học bạ, byte for byte as its school stored it."""

    issuance: str
    year: str
    school_name: str
    xml: bytes
    pdf: bytes


@dataclass(frozen=True)
class Scan:
    """A scanned page (or a PDF of pages) of a paper học bạ."""

    year: str
    media_type: str
    content: bytes


@dataclass
class Results:
    """The current year's results up to the departure date."""

    year: str
    class_id: str
    grade: int
    assessments: list[dict[str, Any]] = field(default_factory=list)  # subject, term, kind, slot, value
    comments: list[dict[str, Any]] = field(default_factory=list)  # subject, term, text
    conduct: dict[int, str] = field(default_factory=dict)  # term -> level
    absences: dict[int, tuple[int, int]] = field(default_factory=dict)  # term -> (excused, unexcused)


@dataclass
class Record:
    """What a transfer record says, read back from its XML."""

    transfer: str
    kind: str
    departure: str
    school: dict[str, Any]
    student: dict[str, Any]  # the HocSinh attributes
    ministry_code: str
    guardians: list[dict[str, Any]]  # full_name, relation, phone
    to_school: str | None
    from_school: str | None
    issued: list[IssuedCopy]
    results: Results | None
    scans: list[Scan]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def build(
    transfer: str,
    school: Mapping[str, Any],
    student: Mapping[str, Any],
    *,
    kind: str,
    departure: str,
    ministry_code: str,
    guardians: Sequence[Mapping[str, Any]] = (),
    to_school: str | None = None,
    from_school: str | None = None,
    issued: Sequence[IssuedCopy] = (),
    results: Results | None = None,
    scans: Sequence[Scan] = (),
    signatures: Sequence[bytes] = (),
) -> etree._Element:
    """The transfer record. `school` and `student` have the shape of the document model's
    (ledger.school.transcripts.hocba.document_model)."""
    if kind not in KINDS:
        raise ValueError(f"unknown transfer case {kind!r}")
    root = etree.Element(hocba_xml.tag("ChuyenTruong"), nsmap={None: hocba_xml.NS})
    root.set("MaChuyen", transfer)
    root.set("PhienBan", "1")
    hocba_xml.identity_part(root, school, student)
    moving = etree.SubElement(root, hocba_xml.tag("ChuyenDi"), Id="transfer", TruongHop=kind, NgayChuyen=departure)
    if to_school:
        moving.set("TruongDen", to_school)
    if from_school:
        moving.set("TruongCu", from_school)
    sector = etree.SubElement(moving, hocba_xml.tag("HoSoNganh"), MaHocSinh=ministry_code)
    for guardian in guardians:
        element = etree.SubElement(sector, hocba_xml.tag("NguoiGiamHo"), HoTen=guardian["full_name"])
        for name, key in (("QuanHe", "relation"), ("DienThoai", "phone")):
            if guardian.get(key):
                element.set(name, guardian[key])
    for copy in issued:
        element = etree.SubElement(
            moving,
            hocba_xml.tag("HocBaDaBanHanh"),
            MaBanHanh=copy.issuance,
            Nam=copy.year,
            Truong=copy.school_name,
            XmlSha256=_sha(copy.xml),
            PdfSha256=_sha(copy.pdf),
        )
        etree.SubElement(element, hocba_xml.tag("TepXml")).text = _b64(copy.xml)
        etree.SubElement(element, hocba_xml.tag("TepPdf")).text = _b64(copy.pdf)
    if results is not None:
        _results(moving, results)
    for scan in scans:
        element = etree.SubElement(
            moving, hocba_xml.tag("BanQuet"), Nam=scan.year, Loai=scan.media_type, Sha256=_sha(scan.content)
        )
        element.text = _b64(scan.content)
    container = etree.SubElement(root, hocba_xml.tag("ChuKySo"))
    for signature in signatures:
        container.append(etree.fromstring(signature, hocba_xml.safe_parser()))
    return root


def _results(parent: etree._Element, results: Results) -> None:
    element = etree.SubElement(
        parent, hocba_xml.tag("KetQuaDenNgay"), Nam=results.year, Lop=results.class_id, Khoi=str(results.grade)
    )
    for a in sorted(results.assessments, key=lambda a: (a["subject"], a["term"], a["kind"], a["slot"])):
        etree.SubElement(
            element,
            hocba_xml.tag("Diem"),
            Mon=a["subject"],
            HocKy=str(a["term"]),
            Loai=a["kind"],
            Lan=str(a["slot"]),
            GiaTri=a["value"],
        )
    for c in sorted(results.comments, key=lambda c: (c["subject"], c["term"])):
        comment = etree.SubElement(element, hocba_xml.tag("NhanXetMon"), Mon=c["subject"], HocKy=str(c["term"]))
        comment.text = c["text"]
    for term, level in sorted(results.conduct.items()):
        etree.SubElement(element, hocba_xml.tag("RenLuyen"), HocKy=str(term), MucDat=level)
    for term, (excused, unexcused) in sorted(results.absences.items()):
        etree.SubElement(
            element, hocba_xml.tag("NghiHoc"), HocKy=str(term), CoPhep=str(excused), KhongPhep=str(unexcused)
        )


def read(root: etree._Element) -> Record:
    """The content of a transfer record (one that matched the schema)."""
    t = hocba_xml.tag
    identity, moving = root.find(t("HoSo")), root.find(t("ChuyenDi"))
    if root.tag != t("ChuyenTruong") or identity is None or moving is None:
        raise ValueError("not a transfer record")
    school, person = identity.find(t("Truong")), identity.find(t("HocSinh"))
    assert school is not None
    assert person is not None
    issued = [
        IssuedCopy(
            e.get("MaBanHanh", ""),
            e.get("Nam", ""),
            e.get("Truong", ""),
            base64.b64decode(e.findtext(t("TepXml")) or ""),
            base64.b64decode(e.findtext(t("TepPdf")) or ""),
        )
        for e in moving.iterfind(t("HocBaDaBanHanh"))
    ]
    sector = moving.find(t("HoSoNganh"))
    assert sector is not None
    guardians = [
        {"full_name": e.get("HoTen"), "relation": e.get("QuanHe"), "phone": e.get("DienThoai")}
        for e in sector.iterfind(t("NguoiGiamHo"))
    ]
    results = None
    found = moving.find(t("KetQuaDenNgay"))
    if found is not None:
        results = Results(found.get("Nam", ""), found.get("Lop", ""), int(found.get("Khoi", "0")))
        for e in found.iterfind(t("Diem")):
            results.assessments.append(
                {
                    "subject": e.get("Mon"),
                    "term": int(e.get("HocKy", "0")),
                    "kind": e.get("Loai"),
                    "slot": int(e.get("Lan", "0")),
                    "value": e.get("GiaTri"),
                }
            )
        for e in found.iterfind(t("NhanXetMon")):
            results.comments.append({"subject": e.get("Mon"), "term": int(e.get("HocKy", "0")), "text": e.text or ""})
        for e in found.iterfind(t("RenLuyen")):
            results.conduct[int(e.get("HocKy", "0"))] = e.get("MucDat", "")
        for e in found.iterfind(t("NghiHoc")):
            results.absences[int(e.get("HocKy", "0"))] = (int(e.get("CoPhep", "0")), int(e.get("KhongPhep", "0")))
    scans = [
        Scan(e.get("Nam", ""), e.get("Loai", ""), base64.b64decode(e.text or "")) for e in moving.iterfind(t("BanQuet"))
    ]
    return Record(
        transfer=root.get("MaChuyen", ""),
        kind=moving.get("TruongHop", ""),
        departure=moving.get("NgayChuyen", ""),
        school=dict(school.attrib),
        student=dict(person.attrib),
        ministry_code=sector.get("MaHocSinh", ""),
        guardians=guardians,
        to_school=moving.get("TruongDen"),
        from_school=moving.get("TruongCu"),
        issued=issued,
        results=results,
        scans=scans,
    )


def _finding(code: str, vi: str, en: str) -> Finding:
    return Finding(code, vi, en)


async def verify(
    data: bytes,
    roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList] = (),
) -> tuple[FileReport, Record | None]:
    """Check a transfer record offline: its schema and its two signatures (the principal's and the
    organisation seal of the school named in it), then every issued học bạ inside: each XML with its
    signatures and ledger receipt, each PDF with the principal's signature and the seal, each for this
    student, each file matching the digest the signed record names."""
    from signing.pdf.verify import verify_pdf

    report = await xml_verify.verify_xml(data, roots, crls)
    if report.signatures == [] and report.findings:
        return report, None
    root = hocba_xml.parse(data)
    if root.tag != hocba_xml.tag("ChuyenTruong"):
        report.findings.append(
            _finding("transfer.kind", "Tệp không phải hồ sơ chuyển trường.", "The file is not a transfer record.")
        )
        return report, None
    record = read(root)
    roles = [s.role for s in report.signatures]
    if roles != ["PRINCIPAL", "ORGANISATION"]:
        report.findings.append(
            _finding(
                "transfer.signatures",
                "Hồ sơ chuyển trường cần chữ ký của hiệu trưởng rồi dấu của nhà trường (Điều 26).",
                "A transfer record needs the principal's signature, then the school's seal (Điều 26).",
            )
        )
    moving = root.find(hocba_xml.tag("ChuyenDi"))
    assert moving is not None
    files = []
    for element in moving.iterfind(hocba_xml.tag("HocBaDaBanHanh")):
        files.append((element.findtext(hocba_xml.tag("TepXml")), element.get("XmlSha256")))
        files.append((element.findtext(hocba_xml.tag("TepPdf")), element.get("PdfSha256")))
    files += [(element.text, element.get("Sha256")) for element in moving.iterfind(hocba_xml.tag("BanQuet"))]
    if any(_sha(base64.b64decode(text or "")) != named for text, named in files):
        report.findings.append(
            _finding(
                "transfer.digest",
                "Một tệp trong hồ sơ không khớp với mã băm được ký.",
                "A file in the record does not match its signed digest.",
            )
        )
    ident = record.student.get("SoDinhDanh")
    for copy in record.issued:
        where = f"{copy.year} ({copy.issuance})"
        xml_report = await xml_verify.verify_xml(copy.xml, roots, crls)
        pdf_report = await verify_pdf(copy.pdf, roots, crls, expected=("PRINCIPAL", "ORGANISATION"))
        problems = [f for r in (xml_report, pdf_report) for s in r.signatures for f in s.findings]
        problems += xml_report.findings + pdf_report.findings
        if not xml_report.ok or not pdf_report.ok or xml_report.receipt is None:
            first = problems[0] if problems else _finding("receipt.missing", "thiếu biên nhận sổ cái", "no receipt")
            report.findings.append(
                _finding(
                    "transfer.issued_invalid",
                    f"Học bạ năm học {where} trong hồ sơ không hợp lệ: {first.vi}",
                    f"The học bạ of {where} in the record is not valid: {first.en}",
                )
            )
            continue
        person = hocba_xml.parse(copy.xml).find(f"{hocba_xml.tag('HoSo')}/{hocba_xml.tag('HocSinh')}")
        if person is None or person.get("SoDinhDanh") != ident:
            report.findings.append(
                _finding(
                    "transfer.other_student",
                    f"Học bạ năm học {where} là của một học sinh khác.",
                    f"The học bạ of {where} belongs to another student.",
                )
            )
    return report, record
