"""The XML học bạ as a document: its namespace and schema, building it from the document model, its
parts and the references each role signs, and canonical bytes."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

NS = "urn:hocba:hoc-ba:1"
DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
SCHEMA_PATH = Path(__file__).with_name("schema") / "hocba-1.xsd"
ROLES = ("SUBJECT_TEACHER", "HOMEROOM_TEACHER", "PRINCIPAL", "ORGANISATION")
OWN_PARTS = {"HOMEROOM_TEACHER": ["homeroom"], "PRINCIPAL": ["student", "decision"], "ORGANISATION": ["issuance"]}
# In a transfer record (ChuyenTruong) the principal signs the identity and what moves with the student;
# the clerk seals that and the principal's signature (Điều 26.2c, 26.3a).
TRANSFER_PARTS = {"PRINCIPAL": ["student", "transfer"], "ORGANISATION": ["transfer"]}
# In a class sheet (BangDiemLop) the subject teacher signs the class's results of a term (Điều 18.3).
SHEET_PARTS = {"SUBJECT_TEACHER": ["sheet"]}
# In a class's term record (KetQuaHocKy) the homeroom teacher signs the whole class's term (Điều 18.4).
TERM_PARTS = {"HOMEROOM_TEACHER": ["term"]}
PLACEHOLDER = "placeholder"
# Signing in a departed teacher's place (Điều 18.5, 18.7): on the ChuKy to tell the signer, and as
# the signed KyThay element in the signature's ClaimedRole, so it cannot be altered.
SUBSTITUTION = ("NguoiKy", "NguoiKyHoTen", "ThayMat", "ThayMatHoTen", "QuyetDinh")


def tag(name: str) -> str:
    return f"{{{NS}}}{name}"


def safe_parser() -> etree.XMLParser:
    """No DTDs, no entities, no network: a document cannot make the parser fetch or expand anything."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse(data: bytes) -> etree._Element:
    return etree.fromstring(data, safe_parser())


def to_bytes(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


@cache
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH), safe_parser()))


def _set(element: etree._Element, name: str, value: Any) -> None:
    if value is not None and value != "":
        element.set(name, str(value))


def _child(parent: etree._Element, name: str, text: Any = None, **attributes: Any) -> etree._Element:
    element = etree.SubElement(parent, tag(name))
    for key, value in attributes.items():
        _set(element, key, value)
    if text is not None:
        element.text = str(text)
    return element


def _levels(parent: etree._Element, name: str, levels: Mapping[str, Any]) -> None:
    _child(
        parent,
        name,
        HocKy1=levels.get("1"),
        HocKy2=levels.get("2"),
        CaNam=levels.get("year"),
        SauHe=levels.get("after_summer"),
    )


def build(
    model: Mapping[str, Any],
    *,
    issuance: Mapping[str, Any] | None = None,
    signatures: Sequence[bytes] = (),
) -> etree._Element:
    """The document for one student's year (`model`: ledger.school.transcripts.hocba.document_model), with the
    issuance part when given and the recorded `ChuKy` elements, in order."""
    [year] = model["years"]
    root = etree.Element(tag("HocBa"), nsmap={None: NS})
    root.set("MaHocBa", model["hocba_id"])
    root.set("PhienBan", "1")
    identity_part(root, model["school"], model["student"])
    school = model["school"]
    body = _child(root, "NamHoc", Nam=year["year"], Lop=year["class"], Khoi=year["grade"])
    for subject in year["subjects"]:
        part = _child(
            body,
            "MonHoc",
            Id=f"subject-{subject['code']}",
            Ma=subject["code"],
            Ten=subject["name"],
            CachDanhGia=subject["kind"],
        )
        for name, key in (("HocKy1", "term1"), ("HocKy2", "term2"), ("CaNam", "year"), ("KiemTraLai", "reassessment")):
            _child(part, name, subject.get(key) or "")
        _child(part, "NhanXet", subject.get("comment") or "")
    homeroom = _child(body, "ChuNhiem", Id="homeroom")
    _levels(homeroom, "RenLuyen", year["conduct"])
    _child(homeroom, "NghiHoc", CoPhep=year["absences"]["excused"], KhongPhep=year["absences"]["unexcused"])
    _child(homeroom, "NhanXet", year.get("homeroom_comment") or "")
    _child(homeroom, "GiaoVien", year.get("homeroom_teacher") or "")
    decision = _child(body, "QuyetDinh", Id="decision")
    _levels(decision, "HocTap", year["learning"])
    _child(decision, "LenLop", year.get("promotion") or "")
    _child(decision, "KhenThuong", year.get("award") or "")
    corrections = year.get("corrections") or {"total": 0, "subjects": []}
    _child(decision, "SuaChua", SoCho=corrections["total"], CacMon=", ".join(corrections["subjects"]) or "-")
    _child(decision, "HieuTruong", (year.get("principal") or {}).get("name") or "")
    if issuance is not None:
        _child(root, "BanHanh", Id="issuance", MaHocBa=model["hocba_id"], Ngay=issuance["date"], Truong=school["name"])
    container = _child(root, "ChuKySo")
    for signature in signatures:
        container.append(etree.fromstring(signature, safe_parser()))
    return root


def identity_part(root: etree._Element, school: Mapping[str, Any], student: Mapping[str, Any]) -> etree._Element:
    """The `student` part (HoSo): the school and the student, as the document model gives them
    (ledger.school.transcripts.hocba.document_model)."""
    record = _child(root, "HoSo", Id="student")
    _child(
        record,
        "Truong",
        Ma=school["id"],
        Ten=school["name"],
        Tinh=school.get("province"),
        Huyen=school.get("district"),
        DiaChi=school.get("address"),
    )
    _child(
        record,
        "HocSinh",
        SoDinhDanh=student["student_id"],
        HoTen=student["full_name"],
        NgaySinh=student["birth_date"],
        GioiTinh=student["gender"],
        DanToc=student.get("ethnicity"),
        NoiSinh=student.get("birth_place"),
        NoiO=student.get("address"),
        NguoiGiamHo=student.get("guardian"),
    )
    return record


def wrappers(root: etree._Element) -> list[etree._Element]:
    return list(root.iterfind(f"{tag('ChuKySo')}/{tag('ChuKy')}"))


def own_parts(root: etree._Element) -> Mapping[str, list[str]]:
    """The parts each role signs in this kind of document (a học bạ, a transfer record, a class sheet, a
    class's term record)."""
    kinds = {tag("ChuyenTruong"): TRANSFER_PARTS, tag("BangDiemLop"): SHEET_PARTS, tag("KetQuaHocKy"): TERM_PARTS}
    return kinds.get(root.tag, OWN_PARTS)


def references_for(root: etree._Element, role: str, subject: str | None = None) -> list[str]:
    """The URIs a new signature of `role` references: its parts, then every earlier signature."""
    parts = own_parts(root)
    if role not in parts and not (role == "SUBJECT_TEACHER" and parts is OWN_PARTS):
        raise ValueError(f"role {role} does not sign this document")
    if role == "SUBJECT_TEACHER" and parts is OWN_PARTS:
        if not subject:
            raise ValueError("a subject teacher signs one subject")
        return [f"#subject-{subject}"]
    earlier = [f"#{w.get('Id')}" for w in wrappers(root) if w.get("Id") != PLACEHOLDER]
    return [f"#{part}" for part in parts[role]] + earlier


def add_placeholder(
    root: etree._Element,
    wrapper_id: str,
    role: str,
    references: Sequence[str],
    substitution: Mapping[str, str] | None = None,
) -> None:
    """Make room for the next signature: a ChuKy naming the role and the references to sign, and who
    signs in whose place, under which decision, when it is signed for a departed teacher."""
    container = root.find(tag("ChuKySo"))
    assert container is not None
    wrapper = _child(container, "ChuKy", Id=wrapper_id, VaiTro=role, ThamChieu=" ".join(references))
    for name in SUBSTITUTION if substitution else ():
        wrapper.set(name, substitution[name])  # type: ignore[index]
    etree.SubElement(wrapper, f"{{{DS}}}Signature", nsmap={"ds": DS}).set("Id", PLACEHOLDER)


def substitution_of(element: etree._Element) -> dict[str, str] | None:
    """The substitution a ChuKy or a KyThay element names (None: the signer signs their own part)."""
    if element.get("ThayMat") is None:
        return None
    return {name: element.get(name, "") for name in SUBSTITUTION}


def substitution_element(substitution: Mapping[str, str]) -> etree._Element:
    """The KyThay element a substitute's signature carries in its signed properties."""
    element = etree.Element(tag("KyThay"), nsmap={"hb": NS})
    for name in SUBSTITUTION:
        element.set(name, substitution[name])
    return element


def canonical(element: etree._Element) -> bytes:
    """Inclusive C14N of one element. It is taken from a copy: libxml2 (2.14) writes a stray xmlns=""
    on the default-namespace grandchildren of an element canonicalised inside its document."""
    return bytes(etree.tostring(copy.deepcopy(element), method="c14n"))


def part_digests(root: etree._Element) -> dict[str, str]:
    """SHA-256 of the canonical form of every data part, by Id: what a signature's freshness is
    compared with."""
    digests = {}
    for element in root.iter():
        ident = element.get("Id")
        if ident and element.tag != tag("ChuKy") and element.tag.startswith(f"{{{NS}}}"):
            digests[ident] = hashlib.sha256(canonical(element)).hexdigest()
    return digests


def iter_wrapper_bytes(data: bytes) -> Iterator[tuple[str, bytes]]:
    for wrapper in wrappers(parse(data)):
        yield wrapper.get("Id", ""), canonical(wrapper)


IDENTITY_SHOWN = ("SoDinhDanh", "HoTen", "NgaySinh")  # what a subject teacher's sheet names a pupil by


def subject_only(root: etree._Element, subject: str) -> None:
    """The học bạ as a subject teacher receives it to sign their subject: the pupil's name and
    identifiers and that subject alone. The rest (other subjects, conduct, the decision, the earlier
    signatures, whose digests would give the other subjects' results away) is not theirs to read, and
    not needed: their signature references only the subject, and the service puts it back into the
    document it rebuilds itself."""
    pupil = root.find(f"{tag('HoSo')}/{tag('HocSinh')}")
    if pupil is not None:
        for name in [n for n in pupil.attrib if n not in IDENTITY_SHOWN]:
            del pupil.attrib[name]
    for year in root.iterfind(tag("NamHoc")):
        for part in list(year):
            if part.get("Id") != f"subject-{subject}":
                year.remove(part)
    for wrapper in wrappers(root):
        if wrapper.find(f"{{{DS}}}Signature[@Id='{PLACEHOLDER}']") is None:
            wrapper.getparent().remove(wrapper)
