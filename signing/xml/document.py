"""The XML học bạ (schema: signing/schema/hocba-1.xsd) and its XAdES-B signatures.

The document has one part with an `Id` per responsibility: `student` (HoSo), `subject-<CODE>` (one
MonHoc per subject), `homeroom` (ChuNhiem), `decision` (QuyetDinh) and `issuance` (BanHanh). Each
signature sits in its own `ChuKy` element, in signing order, and references by URI exactly the parts
of its role plus every earlier `ChuKy`, so a later signature covers the earlier ones:

    SUBJECT_TEACHER   #subject-<CODE>
    HOMEROOM_TEACHER  #homeroom + earlier signatures
    PRINCIPAL         #student #decision + earlier signatures
    ORGANISATION      #issuance + earlier signatures (the clerk, with the school's organisation
                      certificate)

The same schema holds two more documents signed the same way: the transfer record (`ChuyenTruong`,
signing/transfer.py: the principal signs #student #transfer, the clerk seals #transfer) and the
class sheet (`BangDiemLop`, ledger/class_sheets.py: the subject teacher signs #sheet).

The signed properties carry SigningTime (ISO 8601, +07:00) and the role (ClaimedRole); KeyInfo
carries the certificate. Signing happens on the signer's side (`sign_prepared`, used by `hocba
sign` and, with demo keys only, by the demo); `verify_xml` checks a whole file offline.
"""

from __future__ import annotations

import base64
import copy
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from signxml.algorithms import SignatureMethod
from signxml.exceptions import InvalidInput, InvalidSignature
from signxml.verifier import SignatureConfiguration, XMLVerifier
from signxml.xades.xades import XAdESSignatureConfiguration, XAdESSigner, XAdESVerifier

from ledger.base.clock import VN_TZ
from signing.report import FileReport, Finding, SignatureReport
from signing.x509.certs import PrivateKey, san_uris
from signing.x509.revocation import certificate_checks

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
PLACEHOLDER = "placeholder"


def tag(name: str) -> str:
    return f"{{{NS}}}{name}"


def _parser() -> etree.XMLParser:
    """No DTDs, no entities, no network: a document cannot make the parser fetch or expand anything."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse(data: bytes) -> etree._Element:
    return etree.fromstring(data, _parser())


def to_bytes(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


@cache
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH), _parser()))


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
    """The document for one student's year (`model`: ledger.hocba.document_model), with the
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
        container.append(etree.fromstring(signature, _parser()))
    return root


def identity_part(root: etree._Element, school: Mapping[str, Any], student: Mapping[str, Any]) -> etree._Element:
    """The `student` part (HoSo): the school and the student, as `ledger.hocba.document_model` gives them."""
    record = _child(root, "HoSo", Id="student")
    _child(
        record, "Truong", Ma=school["id"], Ten=school["name"], Tinh=school.get("province"), DiaChi=school.get("address")
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
    """The parts each role signs in this kind of document (a học bạ, a transfer record, a class sheet)."""
    return {tag("ChuyenTruong"): TRANSFER_PARTS, tag("BangDiemLop"): SHEET_PARTS}.get(root.tag, OWN_PARTS)


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


def add_placeholder(root: etree._Element, wrapper_id: str, role: str, references: Sequence[str]) -> None:
    """Make room for the next signature: a ChuKy naming the role and the references to sign."""
    container = root.find(tag("ChuKySo"))
    assert container is not None
    wrapper = _child(container, "ChuKy", Id=wrapper_id, VaiTro=role, ThamChieu=" ".join(references))
    etree.SubElement(wrapper, f"{{{DS}}}Signature", nsmap={"ds": DS}).set("Id", PLACEHOLDER)


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


class _Signer(XAdESSigner):
    """XAdES-B with the signing time in +07:00 and the role as ClaimedRole."""

    def __init__(self, key: PrivateKey, signing_time: datetime, role: str) -> None:
        ecdsa = isinstance(key, ec.EllipticCurvePrivateKey)
        method = SignatureMethod.ECDSA_SHA256 if ecdsa else SignatureMethod.RSA_SHA256
        super().__init__(claimed_roles=[role], signature_algorithm=method)
        self.signing_time = signing_time

    def add_signing_time(self, signed_signature_properties: Any, sig_root: Any, signing_settings: Any) -> None:
        element = etree.SubElement(signed_signature_properties, f"{{{XADES}}}SigningTime")
        element.text = self.signing_time.astimezone(VN_TZ).isoformat(timespec="seconds")


def sign_prepared(
    prepared: bytes,
    key: PrivateKey,
    certificate: x509.Certificate,
    *,
    signing_time: datetime,
    chain: Sequence[x509.Certificate] = (),
) -> bytes:
    """Sign a prepared document on the signer's side: the placeholder ChuKy names the role and the
    references; the result goes back to the service, which checks it before recording it."""
    root = parse(prepared)
    [wrapper] = [w for w in wrappers(root) if w.find(f"{{{DS}}}Signature[@Id='{PLACEHOLDER}']") is not None]
    role, references = wrapper.get("VaiTro", ""), (wrapper.get("ThamChieu") or "").split()
    signer = _Signer(key, signing_time, role)
    signed = signer.sign(root, key=key, cert=[certificate, *chain], reference_uri=references)
    return to_bytes(signed)


# --- verification --------------------------------------------------------------------------------


def _finding(code: str, vi: str, en: str) -> Finding:
    return Finding(code, vi, en)


def _signing_time(signature: etree._Element, referenced: set[str]) -> datetime | None:
    """SigningTime from the XAdES signed properties, or from a referenced
    Object/SignatureProperties/SignatureProperty (the form used in Vietnamese practice)."""
    found = signature.find(f".//{{{XADES}}}SignedSignatureProperties/{{{XADES}}}SigningTime")
    if found is None:
        for props in signature.iterfind(f"{{{DS}}}Object/{{{DS}}}SignatureProperties"):
            for prop in props.iterfind(f"{{{DS}}}SignatureProperty"):
                if not ({props.get("Id"), prop.get("Id")} & referenced):
                    continue
                for element in prop.iter():
                    if isinstance(element.tag, str) and etree.QName(element).localname == "SigningTime":
                        found = element
    if found is None or not found.text:
        return None
    try:
        moment = datetime.fromisoformat(found.text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def first_certificate(signature: etree._Element) -> x509.Certificate | None:
    element = signature.find(f"{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate")
    if element is None or not element.text:
        return None
    try:
        return x509.load_der_x509_certificate(base64.b64decode("".join(element.text.split())))
    except ValueError:
        return None


def _claimed_role(signature: etree._Element) -> str | None:
    role = signature.find(f".//{{{XADES}}}SignerRole/{{{XADES}}}ClaimedRoles/{{{XADES}}}ClaimedRole")
    return role.text.strip() if role is not None and role.text else None


def _staff_id(cert: x509.Certificate, school: str) -> str | None:
    prefix = f"urn:hocba:staff:{school}:"
    return next((uri[len(prefix) :] for uri in san_uris(cert) if uri.startswith(prefix)), None)


def _expected_parts(role: str | None, earlier: list[str], own: list[str], parts: Mapping[str, list[str]]) -> str | None:
    """Why these references do not fit the role (None when they do)."""
    if role == "SUBJECT_TEACHER" and parts is OWN_PARTS:
        return None if len(own) == 1 and own[0].startswith("subject-") and not earlier else "one subject"
    if role is not None and role in parts:
        return None if own == parts[role] else " ".join(parts[role])
    return "a known role"


def verify_signature(
    data: bytes,
    index: int,
    roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
) -> SignatureReport:
    """Check the `index`-th signature of a document (parsed afresh: verification edits its tree)."""
    root = parse(data)
    wrapper = wrappers(root)[index]
    wrapper_id = wrapper.get("Id") or ""
    signature = wrapper.find(f"{{{DS}}}Signature")
    truong = root.find(f"./*/{tag('Truong')}")  # the school: in HoSo (học bạ, transfer record) or Lop (sheet)
    school = truong.get("Ma", "") if truong is not None else ""
    cert = first_certificate(signature) if signature is not None else None
    report = SignatureReport(signer=_common_name(cert) if cert else "?")
    if signature is None or cert is None:
        report.findings.append(
            _finding(
                "signature.malformed",
                f"Chữ ký {wrapper_id} không đọc được hoặc thiếu chứng thư số.",
                f"Signature {wrapper_id} is unreadable or carries no certificate.",
            )
        )
        return report
    report.role = _claimed_role(signature) or wrapper.get("VaiTro")
    report.staff_id = _staff_id(cert, school)
    uris = [r.get("URI", "") for r in signature.iterfind(f"{{{DS}}}SignedInfo/{{{DS}}}Reference")]
    signed_ids = {u[1:] for u in uris if u.startswith("#")}
    earlier_ids = [w.get("Id", "") for w in wrappers(root)[:index]]
    parts = [u[1:] for u in uris if u.startswith("#") and u[1:] in _data_ids(root)]
    report.parts = parts + [u[1:] for u in uris if u[1:] in earlier_ids]
    moment = _signing_time(signature, signed_ids)
    if moment is not None:
        report.signing_time = moment.astimezone(VN_TZ).isoformat(timespec="seconds")
    location = f"./{tag('ChuKySo')}/{tag('ChuKy')}[@Id='{wrapper_id}']/"
    # Integrity is a matter of bytes: check it as of a moment the certificate was valid, and judge
    # the signing time against the validity period separately (certificate_checks).
    inside = moment if moment and cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc else None
    checked_at = inside or cert.not_valid_before_utc
    try:
        if signature.find(f".//{{{XADES}}}SignedProperties") is not None:
            config = XAdESSignatureConfiguration(
                location=location, expect_references=True, verification_time=checked_at
            )
            results: Any = XAdESVerifier().verify(data, x509_cert=cert, expect_config=config, parser=_parser())
        else:  # plain XMLDSig with the signing time in SignatureProperties
            plain = SignatureConfiguration(location=location, expect_references=True, verification_time=checked_at)
            results = XMLVerifier().verify(data, x509_cert=cert, expect_config=plain, parser=_parser())
    except (InvalidSignature, InvalidInput, ValueError) as exc:
        report.findings.append(
            _finding(
                "signature.integrity",
                f"Nội dung đã bị thay đổi hoặc chữ ký hỏng: {exc}",
                f"The content was changed or the signature is broken: {exc}",
            )
        )
    else:
        listed = results if isinstance(results, list) else [results]
        report.intact = _signed_matches_document(listed, root, report)
    if moment is None:
        report.findings.append(
            _finding(
                "signature.time",
                "Chữ ký không có thời điểm ký được ký kèm.",
                "The signature has no signed signing time.",
            )
        )
    else:
        certificate_checks(report, cert, roots, crls, moment)
    expectation = _expected_parts(report.role, [p for p in report.parts if p in earlier_ids], parts, own_parts(root))
    if expectation is not None:
        report.findings.append(
            _finding(
                "signature.role",
                f"Vai trò {report.role} không ký phần này (cần: {expectation}).",
                f"Role {report.role} does not sign these parts (expected: {expectation}).",
            )
        )
    if report.role != "SUBJECT_TEACHER" and [p for p in report.parts if p in earlier_ids] != earlier_ids:
        report.findings.append(
            _finding(
                "signature.order",
                "Chữ ký không bao trùm các chữ ký trước nó.",
                "The signature does not cover the signatures made before it.",
            )
        )
    uri_kind = f"urn:hocba:organisation:{school}" if report.role == "ORGANISATION" else None
    if (uri_kind and uri_kind not in san_uris(cert)) or (not uri_kind and report.staff_id is None):
        report.findings.append(
            _finding(
                "signature.holder",
                "Chứng thư số không cấp cho người/tổ chức có vai trò này của trường.",
                "The certificate is not issued to a holder of this role in this school.",
            )
        )
    return report


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


def _data_ids(root: etree._Element) -> set[str]:
    return {
        e.get("Id", "")
        for e in root.iter()
        if isinstance(e.tag, str) and e.tag != tag("ChuKy") and e.tag.startswith(f"{{{NS}}}") and e.get("Id")
    }


def _signed_matches_document(results: Any, root: etree._Element, report: SignatureReport) -> bool:
    """Signature wrapping: what was verified must be the very element that stands at its place in
    the document, not an element moved aside."""
    by_id = {e.get("Id"): e for e in root.iter() if isinstance(e.tag, str) and e.get("Id")}
    for result in results:
        signed = result.signed_xml
        if signed is None or not isinstance(signed.tag, str) or not signed.tag.startswith(f"{{{NS}}}"):
            continue
        placed = by_id.get(signed.get("Id"))
        if placed is None or canonical(placed) != canonical(signed) or not _in_place(placed, root):
            report.findings.append(
                _finding(
                    "signature.wrapping",
                    "Phần được ký không nằm đúng vị trí trong văn bản.",
                    "The signed part is not the one in its place in the document.",
                )
            )
            return False
    return True


def _in_place(element: etree._Element, root: etree._Element) -> bool:
    expected = {
        tag("HoSo"): root,
        tag("NamHoc"): root,
        tag("BanHanh"): root,
        tag("ChuyenDi"): root,
        tag("Lop"): root,
        tag("MonHoc"): root.find(tag("NamHoc")),
        tag("ChuNhiem"): root.find(tag("NamHoc")),
        tag("QuyetDinh"): root.find(tag("NamHoc")),
        tag("ChuKy"): root.find(tag("ChuKySo")),
    }
    return element.getparent() is expected.get(element.tag)


def _duplicate_ids(root: etree._Element) -> list[str]:
    seen: dict[str, int] = {}
    for element in root.iter():
        if isinstance(element.tag, str) and element.get("Id"):
            seen[element.get("Id", "")] = seen.get(element.get("Id", ""), 0) + 1
    return sorted(ident for ident, count in seen.items() if count > 1)


def verify_xml(
    data: bytes,
    roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList] = (),
) -> FileReport:
    """Every signature of an XML học bạ, the schema, and that every part is signed by its role."""
    report = FileReport("xml")
    try:
        root = parse(data)
    except etree.XMLSyntaxError as exc:
        report.findings.append(
            _finding("xml.unreadable", f"Tệp XML không đọc được: {exc}", f"The XML file is unreadable: {exc}")
        )
        return report
    if not schema().validate(root):
        error = schema().error_log.last_error
        report.findings.append(
            _finding(
                "xml.schema",
                f"Văn bản không đúng lược đồ học bạ: {error}",
                f"The document does not match the học bạ schema: {error}",
            )
        )
        return report
    duplicates = _duplicate_ids(root)
    if duplicates:
        report.findings.append(
            _finding(
                "xml.duplicate_id",
                f"Trùng định danh phần: {', '.join(duplicates)}",
                f"Duplicate part identifiers: {', '.join(duplicates)}",
            )
        )
        return report
    for index in range(len(wrappers(root))):
        report.signatures.append(verify_signature(data, index, roots, crls))
    from signing.xml import receipt

    report.receipt, receipt_findings = receipt.verify(root, roots)
    report.findings += receipt_findings
    covered = {part for s in report.signatures if s.ok for part in s.parts}
    for part in sorted(_data_ids(root) - covered):
        report.findings.append(
            _finding(
                "part.unsigned",
                f"Phần {part} chưa có chữ ký hợp lệ của người có trách nhiệm.",
                f"Part {part} has no valid signature of the person responsible.",
            )
        )
    return report


def iter_wrapper_bytes(data: bytes) -> Iterator[tuple[str, bytes]]:
    for wrapper in wrappers(parse(data)):
        yield wrapper.get("Id", ""), canonical(wrapper)
