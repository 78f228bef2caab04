"""Verifying a signed PDF học bạ offline (Điều 15): for each signature, the content unchanged, the
certificate chained to the trusted root and not revoked at signing time, and the timestamp."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from signing.pdf.sign import iso_time, role_from_reason
from signing.report import FileReport, Finding, SignatureReport
from signing.x509.certs import asn1_certificate, issued_by, san_uris

# Verification


def _finding(code: str, vi: str, en: str) -> Finding:
    return Finding(code, vi, en)


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


def _identity(cert: x509.Certificate) -> tuple[str | None, bool]:
    """(staff id, is an organisation certificate) from the certificate's urn:hocba names."""
    staff_id = None
    organisation = False
    for uri in san_uris(cert):
        parts = uri.split(":")
        if uri.startswith("urn:hocba:staff:") and len(parts) >= 5:
            staff_id = parts[-1]
        elif uri.startswith("urn:hocba:organisation:"):
            organisation = True
    return staff_id, organisation


def _revocation_date(
    cert: x509.Certificate, crls: Sequence[x509.CertificateRevocationList], issuers: Sequence[x509.Certificate]
) -> datetime | None:
    """When `cert` was revoked according to a CRL signed by its issuer, or None."""
    for crl in crls:
        if crl.issuer != cert.issuer:
            continue
        if not any(i.subject == crl.issuer and crl.is_signature_valid(i.public_key()) for i in issuers):  # type: ignore[arg-type]
            continue
        entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if entry is not None:
            return entry.revocation_date_utc
    return None


def _validation_context(
    roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    moment: datetime | None,
    others: Sequence[asn1_x509.Certificate] = (),
) -> ValidationContext:
    return ValidationContext(
        trust_roots=[asn1_certificate(r) for r in roots],
        other_certs=list(others),
        crls=[asn1_crl.CertificateList.load(c.public_bytes(serialization.Encoding.DER)) for c in crls],
        allow_fetching=False,
        revocation_mode="hard-fail" if crls else "soft-fail",
        retroactive_revinfo=True,
        moment=moment,
    )


UNREADABLE = _finding(
    "pdf.unreadable",
    "Không đọc được tệp PDF hoặc chữ ký trong tệp.",
    "The PDF file or a signature in it cannot be read.",
)


async def verify_pdf(
    pdf: bytes,
    roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList] = (),
    *,
    expected: Sequence[str] | None = None,
) -> FileReport:
    """Check every signature of a PDF học bạ offline against `roots` (and `crls`, when given), each at
    its signing time. `expected` lists roles that must each have signed (e.g. PRINCIPAL, ORGANISATION).
    Never raises on a malformed file: the report says what is wrong."""
    report = FileReport(kind="pdf")
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = list(reader.embedded_regular_signatures)
    except Exception:  # a damaged file is reported, never raised
        report.findings.append(UNREADABLE)
        return report
    if not embedded:
        report.findings.append(
            _finding("pdf.unsigned", "Tệp PDF không có chữ ký số nào.", "The PDF file has no digital signature.")
        )
    for emb in embedded:
        try:
            sig = await _verify_one(emb, reader, roots, crls)
        except Exception:  # a damaged signature is reported, never raised
            sig = SignatureReport(signer="?", findings=[UNREADABLE])
        report.signatures.append(sig)
    # every byte of the file must be covered by a signature (or a document timestamp)
    ends = [_covered_end(emb) for emb in embedded]
    try:
        covered = max([0, *ends, *(_covered_end(t) for t in reader.embedded_timestamp_signatures)])
    except Exception:
        covered = max([0, *ends])
    if embedded and covered < len(pdf.rstrip(b"\r\n\x00 ")):
        finding = _finding(
            "pdf.modified_after_signing",
            "Tệp đã bị thêm hoặc sửa nội dung sau chữ ký cuối cùng.",
            "Content was added or changed after the last signature.",
        )
        report.findings.append(finding)
        last = report.signatures[ends.index(max(ends))]
        last.intact = False
        last.findings.append(finding)
    for role in expected or ():
        if not any(s.role == role for s in report.signatures):
            report.findings.append(
                _finding(
                    "pdf.signature_missing",
                    f"Thiếu chữ ký với vai trò {role}.",
                    f"No signature in the role {role}.",
                )
            )
    return report


def _covered_end(emb: Any) -> int:
    """The offset just past the last byte a signature covers."""
    try:
        return int(emb.byte_range[2]) + int(emb.byte_range[3])
    except (TypeError, ValueError, IndexError):
        return 0


async def _verify_one(
    emb: Any,
    reader: PdfFileReader,
    roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
) -> SignatureReport:
    cert = x509.load_der_x509_certificate(emb.signer_cert.dump())
    staff_id, organisation = _identity(cert)
    reason = emb.sig_object.get("/Reason")
    role = "ORGANISATION" if organisation else role_from_reason(str(reason) if reason is not None else None)
    claimed = emb.self_reported_timestamp
    sig = SignatureReport(signer=_common_name(cert), staff_id=staff_id, role=role)
    revision = int(emb.signed_revision)  # the unsigned document is revision 0
    pages = int(reader.root["/Pages"]["/Count"])
    sig.parts = [f"revision {revision}", f"pages 1-{pages}" if pages > 1 else "page 1"]
    if claimed is None:
        sig.findings.append(
            _finding(
                "pdf.no_signing_time",
                "Chữ ký không ghi thời điểm ký.",
                "The signature does not state its signing time.",
            )
        )
    else:
        sig.signing_time = iso_time(claimed)
    others = list(emb.other_embedded_certs)
    status: PdfSignatureStatus = await async_validate_pdf_signature(
        emb,
        signer_validation_context=_validation_context(roots, crls, claimed, others),
        ts_validation_context=_validation_context(roots, crls, None, others),
    )
    coverage_ok = status.coverage is not None and status.coverage >= SignatureCoverageLevel.ENTIRE_REVISION
    sig.intact = bool(status.intact and status.valid and coverage_ok)
    if not sig.intact:
        sig.findings.append(
            _finding(
                "pdf.not_intact",
                "Nội dung được ký đã bị thay đổi hoặc chữ ký bị hỏng.",
                "The signed content was changed or the signature is damaged.",
            )
        )
    if status.modification_level is not None and status.docmdp_ok is False:
        sig.findings.append(
            _finding(
                "pdf.disallowed_changes",
                "Tệp có thay đổi không được phép sau chữ ký này.",
                "The file has changes after this signature that are not allowed.",
            )
        )
    problem = status.trust_problem_indic
    indication: str | None = str(getattr(problem, "name", problem)) if problem is not None else None
    embedded_certs = [x509.load_der_x509_certificate(c.dump()) for c in others]
    sig.chain_trusted = (
        status.validation_path is not None
        and (indication is None or indication in _TIME_OR_REVOCATION)
        and _chains_to_root(cert, roots, embedded_certs)
    )
    if not sig.chain_trusted:
        sig.findings.append(
            _finding(
                "pdf.untrusted",
                "Chứng thư số của người ký không được cấp bởi tổ chức chứng thực tin cậy.",
                "The signer's certificate does not chain to a trusted root.",
            )
        )
    in_period = claimed is not None and cert.not_valid_before_utc <= claimed <= cert.not_valid_after_utc
    sig.valid_at_signing = in_period and indication not in {"EXPIRED", "NOT_YET_VALID", "OUT_OF_BOUNDS_NO_POE"}
    if not sig.valid_at_signing:
        sig.findings.append(
            _finding(
                "pdf.certificate_not_valid_at_signing",
                "Chứng thư số không còn hiệu lực (hoặc chưa có hiệu lực) tại thời điểm ký.",
                "The certificate was not within its validity period at the signing time.",
            )
        )
    ts = status.timestamp_validity
    if ts is not None:
        sig.timestamp = iso_time(ts.timestamp)
        sig.timestamp_valid = bool(ts.intact and ts.valid and ts.trusted)
        if not sig.timestamp_valid:
            sig.findings.append(
                _finding(
                    "pdf.timestamp_invalid",
                    "Dấu thời gian của chữ ký không hợp lệ.",
                    "The signature's timestamp is not valid.",
                )
            )
        elif claimed is not None and (claimed - ts.timestamp).total_seconds() > 300:
            sig.findings.append(
                _finding(
                    "pdf.signing_time_after_timestamp",
                    "Thời điểm ký ghi trong chữ ký muộn hơn dấu thời gian.",
                    "The stated signing time is later than the timestamp.",
                )
            )
    if crls:
        revoked_at = _revocation_date(cert, crls, [*roots, *embedded_certs])
        proven_before = (
            revoked_at is not None and sig.timestamp_valid is True and ts is not None and ts.timestamp < revoked_at
        )
        if (
            indication == "REVOKED"
            or status.revocation_details is not None
            or (revoked_at is not None and not proven_before and (claimed is None or revoked_at <= claimed))
        ):
            sig.revoked = True
            sig.findings.append(
                _finding(
                    "pdf.revoked",
                    "Chứng thư số của người ký đã bị thu hồi tại thời điểm ký.",
                    "The signer's certificate was revoked at the signing time.",
                )
            )
        elif revoked_at is not None and not proven_before:
            sig.revoked = True
            sig.findings.append(
                _finding(
                    "pdf.revoked_later_unproven",
                    "Chứng thư số đã bị thu hồi và không có dấu thời gian chứng minh chữ ký có trước khi thu hồi.",
                    "The certificate was revoked and no timestamp proves the signature was made before that.",
                )
            )
        elif indication in {"TRY_LATER", "REVOCATION_OUT_OF_BOUNDS_NO_POE"}:
            sig.revoked = None
            sig.findings.append(
                _finding(
                    "pdf.revocation_unknown",
                    "Không xác định được tình trạng thu hồi của chứng thư số.",
                    "The certificate's revocation status could not be determined.",
                )
            )
        else:
            sig.revoked = False
    if indication is not None and not sig.findings:
        # a problem none of the checks above names (a key usage the signature does not allow, …)
        sig.findings.append(
            _finding(
                "pdf.validation_failed",
                f"Không xác thực được chữ ký ({indication}).",
                f"The signature could not be validated ({indication}).",
            )
        )
    return sig


# pyHanko's indications that concern the time or the revocation status, not the chain itself
_TIME_OR_REVOCATION = {
    "EXPIRED",
    "NOT_YET_VALID",
    "OUT_OF_BOUNDS_NO_POE",
    "OUT_OF_BOUNDS_NOT_REVOKED",
    "REVOKED",
    "REVOKED_NO_POE",
    "REVOKED_CA_NO_POE",
    "REVOCATION_OUT_OF_BOUNDS_NO_POE",
    "TRY_LATER",
    "NO_POE",
}


def _chains_to_root(
    cert: x509.Certificate, roots: Sequence[x509.Certificate], intermediates: Sequence[x509.Certificate]
) -> bool:
    """Whether each certificate from `cert` up is signed by the next, ending at one of `roots`."""
    current = cert
    for _ in range(8):
        for root in roots:
            if current == root or issued_by(current, root):
                return True
        issuer = next((c for c in intermediates if c != current and issued_by(current, c)), None)
        if issuer is None:
            return False
        current = issuer
    return False
