"""Verifying XAdES signatures offline (Điều 15): each signature over exactly the parts of its role and
every earlier signature, its embedded timestamp (XAdES-T) over its value, the certificate chained and
not revoked at the trusted signing time (the timestamp's; the claimed SigningTime of a XAdES-B
signature), with the certificates and revocation values the signature carries (XAdES-LT), and the
signed content read only from what the signature covers. An issued học bạ's archive timestamps
(XAdES-LTA, signing.xml.archive) prove when the whole of it existed, so that its signatures' own
timestamps are judged at that time, long after their authorities' certificates expired."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from cryptography import x509
from lxml import etree
from signxml.exceptions import InvalidInput, InvalidSignature
from signxml.verifier import SignatureConfiguration, XMLVerifier
from signxml.xades.xades import XAdESSignatureConfiguration, XAdESVerifier, XAdESVerifyResult

from ledger.base.clock import VN_TZ
from signing.report import FileReport, Finding, SignatureReport
from signing.x509.certs import san_uris
from signing.x509.revocation import certificate_checks
from signing.x509.timestamps import check_timestamp
from signing.x509.validation import OnlineRevocation
from signing.xml import archive, longterm
from signing.xml import timestamp as xades_t
from signing.xml.document import (
    DS,
    NS,
    OWN_PARTS,
    XADES,
    canonical,
    own_parts,
    parse,
    safe_parser,
    schema,
    substitution_of,
    tag,
    wrappers,
)


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


def embedded_certificates(signature: etree._Element) -> list[x509.Certificate]:
    """The certificates in the signature's KeyInfo: the signer's first, then its CA chain."""
    found = []
    for element in signature.iterfind(f"{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate"):
        try:
            found.append(x509.load_der_x509_certificate(base64.b64decode("".join((element.text or "").split()))))
        except ValueError:
            if not found:
                return []
    return found


def first_certificate(signature: etree._Element) -> x509.Certificate | None:
    certificates = embedded_certificates(signature)
    return certificates[0] if certificates else None


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


async def verify_signature(
    data: bytes,
    index: int,
    roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    trusted: datetime | None = None,
    *,
    online: OnlineRevocation | None = None,
    at: datetime | None = None,
) -> SignatureReport:
    """Check the `index`-th signature of a document (parsed afresh: verification edits its tree); the
    certificate is judged at `trusted` (a timestamp's time) when given, else at the claimed time,
    through the CA certificates the signature carries, with revocation from `crls`, from the values
    the signature keeps (XAdES-LT) and, when given, from `online` responders. `at`: the time of
    the verification (now when None)."""
    root = parse(data)
    wrapper = wrappers(root)[index]
    wrapper_id = wrapper.get("Id") or ""
    signature = wrapper.find(f"{{{DS}}}Signature")
    truong = root.find(f"./*/{tag('Truong')}")  # the school: in HoSo (học bạ, transfer record), Lop (sheet) or HocKyLop
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
    data_ids = _data_ids(root)
    parts = [u[1:] for u in uris if u.startswith("#") and u[1:] in data_ids]
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
            results: Any = XAdESVerifier().verify(data, x509_cert=cert, expect_config=config, parser=safe_parser())
        else:  # plain XMLDSig with the signing time in SignatureProperties
            plain = SignatureConfiguration(location=location, expect_references=True, verification_time=checked_at)
            results = XMLVerifier().verify(data, x509_cert=cert, expect_config=plain, parser=safe_parser())
    except (InvalidSignature, InvalidInput, ValueError) as exc:
        report.findings.append(_integrity_finding(root, exc))
    else:
        listed = results if isinstance(results, list) else [results]
        report.intact = _signed_matches_document(listed, root, report)
        _substitution(report, wrapper, listed)
    if moment is None:
        report.findings.append(
            _finding(
                "signature.time",
                "Chữ ký không có thời điểm ký được ký kèm.",
                "The signature has no signed signing time.",
            )
        )
    else:
        kept = longterm.embedded(signature)
        chain = embedded_certificates(signature)[1:] + _certificates(kept.certificates)
        status = await certificate_checks(
            report,
            cert,
            roots,
            crls,
            trusted or moment,
            intermediates=chain,
            online=online,
            kept=kept.crls + kept.ocsp_responses,
        )
        report.revocation_values = status.ocsp_responses + status.crls
        report.validation_chain = status.chain
        now = at or datetime.now(VN_TZ)
        if report.chain_trusted and report.revoked is None and not kept.present and cert.not_valid_after_utc < now:
            report.findings.append(
                _finding(
                    "signature.revocation_values",
                    "Chữ ký không kèm thông tin thu hồi (CRL/OCSP) đã dùng để kiểm tra lúc ký, nên sau khi "
                    "chứng thư số hết hạn không còn chứng minh được chứng thư chưa bị thu hồi lúc ký.",
                    "The signature does not carry the revocation information (CRL/OCSP) it was checked with "
                    "when it was made, so once its certificate has expired nothing proves that it was not "
                    "revoked at the signing time.",
                )
            )
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


def _certificates(ders: Sequence[bytes]) -> list[x509.Certificate]:
    found = []
    for der in ders:
        try:
            found.append(x509.load_der_x509_certificate(der))
        except ValueError:
            continue
    return found


async def verify_timestamped(
    data: bytes,
    index: int,
    roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    *,
    online: OnlineRevocation | None = None,
    at: datetime | None = None,
    proven: datetime | None = None,
    archived: bool = False,
) -> SignatureReport:
    """Check the `index`-th signature with its embedded timestamp (XAdES-T): the token must be a
    valid timestamp of this signature's value by a trusted authority, and its time is the trusted
    signing time the certificate is judged at. The authority's certificate is judged at `proven`,
    the time the document's archive timestamps prove it existed (XAdES-LTA), else at `at` (now when
    None). A signature without one (issued before XAdES-T) is checked as XAdES-B, at its claimed
    time, and reported without a trusted time."""
    signature = wrappers(parse(data))[index].find(f"{{{DS}}}Signature")
    token = xades_t.embedded(signature) if signature is not None else None
    value = xades_t.signature_value(signature) if signature is not None else None
    if token is None or value is None:
        report = await verify_signature(data, index, roots, crls, online=online, at=at)
        report.profile = "XAdES-B"
        return report
    check = await check_timestamp(token, value, roots, crls, moment=proven or at) if token else None
    good = check is not None and check.ok and check.time is not None
    trusted = check.time if good and check else None
    report = await verify_signature(data, index, roots, crls, trusted, online=online, at=at)
    lt = signature is not None and longterm.embedded(signature).present
    report.profile = "XAdES-LTA" if archived and lt else "XAdES-LT" if lt else "XAdES-T"
    report.timestamp_valid = good
    if check is not None and check.time is not None:
        report.timestamp = check.time.astimezone(VN_TZ).isoformat(timespec="seconds")
    if not good:
        problems = "; ".join(check.problems) if check else "the timestamp is unreadable"
        if check is None or check.intact is not True:
            report.intact = False  # the timestamp is not of this signature's value
        report.findings.append(
            _finding(
                "signature.timestamp",
                f"Dấu thời gian của chữ ký không hợp lệ hoặc không khớp với giá trị chữ ký: {problems}",
                f"The signature's timestamp is not valid or does not match the signature value: {problems}",
            )
        )
    return report


def _substitution(report: SignatureReport, wrapper: etree._Element, results: list[Any]) -> None:
    """Who signed in whose place (Điều 18.5, 18.7), read only from the signed properties: the KyThay
    in a ClaimedRole. The ChuKy must name the same, and the signer must be the certificate's holder."""
    signed = None
    for result in results:
        if isinstance(result, XAdESVerifyResult):
            path = f"{{{XADES}}}SignerRole/{{{XADES}}}ClaimedRoles/{{{XADES}}}ClaimedRole/{tag('KyThay')}"
            found = result.signed_properties.find(path)
            signed = substitution_of(found) if found is not None else None
    named = substitution_of(wrapper)
    if signed is not None:
        report.on_behalf_of = signed
    if signed != named or (signed is not None and signed["NguoiKy"] != report.staff_id):
        report.findings.append(
            _finding(
                "signature.substitute",
                "Thông tin ký thay (Điều 18.5, 18.7) không khớp giữa chữ ký, phần ký và chứng thư số.",
                "The signing-in-place details (Điều 18.5, 18.7) differ between the signature, its ChuKy "
                "and the certificate.",
            )
        )


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


_REFERENCE = re.compile(r"\(#([^)\s]+)\)")
_PARTS = {  # the parts of a học bạ other than its subjects, as a reader names them
    "student": ("phần thông tin học sinh", "the student's details"),
    "homeroom": ("phần của giáo viên chủ nhiệm (rèn luyện, nghỉ học, nhận xét)", "the homeroom teacher's part"),
    "decision": ("phần kết quả học tập và quyết định lên lớp", "the results and the promotion decision"),
    "issuance": ("phần ban hành", "the issuance"),
}


def _integrity_finding(root: etree._Element, exc: Exception) -> Finding:
    """That the signed content changed, naming the part in words (the subject by its name): the
    library's own message, in English, stays in the English text only."""
    found = _REFERENCE.search(str(exc))
    element = next((e for e in root.iter() if found and e.get("Id") == found.group(1)), None)
    if element is not None and element.tag == tag("MonHoc"):
        vi, en = f"phần môn {element.get('Ten') or element.get('Ma')}", f"the part of {element.get('Ten')}"
    elif element is not None and element.tag == tag("ChuKy"):
        vi, en = "một chữ ký trước đó", "an earlier signature"
    elif found and found.group(1) in _PARTS:
        vi, en = _PARTS[found.group(1)]
    else:
        return _finding(
            "signature.integrity",
            "Nội dung đã bị thay đổi sau khi ký, hoặc chữ ký bị hỏng.",
            f"The content was changed or the signature is broken: {exc}",
        )
    return _finding(
        "signature.integrity",
        f"Nội dung {vi} đã bị thay đổi sau khi ký: chữ ký không còn khớp.",
        f"The content of {en} was changed after signing: {exc}",
    )


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
        tag("HocKyLop"): root,
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


async def verify_xml(
    data: bytes,
    roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList] = (),
    *,
    online: OnlineRevocation | None = None,
    at: datetime | None = None,
) -> FileReport:
    """Every signature of an XML học bạ, the schema, and that every part is signed by its role; the
    archive timestamps of an issued one (XAdES-LTA). `at`: the time of the verification (now when
    None); with the archive timestamps, a học bạ verifies offline long after its signers'
    certificates expired."""
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
    archived = await archive.check(root, roots, crls, at)
    report.findings += archived.findings
    stamped = bool(archive.tokens(root))
    for index in range(len(wrappers(root))):
        report.signatures.append(
            await verify_timestamped(
                data, index, roots, crls, online=online, at=at, proven=archived.proven, archived=stamped
            )
        )
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
