"""Certificate checks of one signature at its signing time (Điều 8, 15): the chain to a trusted
root, the validity period, the key usage, and revocation by a CRL of the issuer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cryptography import x509

from signing.report import Finding, SignatureReport
from signing.x509.certs import issued_by


def revoked_at(
    cert: x509.Certificate, crls: Sequence[x509.CertificateRevocationList], issuer: x509.Certificate | None
) -> datetime | bool | None:
    """When the certificate was revoked according to a valid CRL of its issuer; False when such a
    CRL lists it not; None when no CRL of its issuer is at hand."""
    usable = [
        crl
        for crl in crls
        if crl.issuer == cert.issuer and (issuer is None or crl.is_signature_valid(issuer.public_key()))  # type: ignore[arg-type]
    ]
    if not usable:
        return None
    for crl in usable:
        entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if entry is not None:
            return entry.revocation_date_utc
    return False


def certificate_checks(
    report: SignatureReport,
    cert: x509.Certificate,
    roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    signing_time: datetime,
) -> None:
    """Fill the certificate fields of `report` for a signature made at `signing_time`."""
    issuer = next((root for root in roots if cert.issuer == root.subject and issued_by(cert, root)), None)
    report.chain_trusted = issuer is not None or cert in roots
    if not report.chain_trusted:
        report.findings.append(
            Finding(
                "certificate.untrusted",
                f"Chứng thư số không do tổ chức được tin cậy cấp (bên cấp: {cert.issuer.rfc4514_string()}).",
                f"The certificate is not issued by a trusted root (issuer: {cert.issuer.rfc4514_string()}).",
            )
        )
    report.valid_at_signing = cert.not_valid_before_utc <= signing_time <= cert.not_valid_after_utc
    if not report.valid_at_signing:
        report.findings.append(
            Finding(
                "certificate.expired",
                f"Ký lúc {signing_time.isoformat()}, ngoài thời hạn hiệu lực của chứng thư số "
                f"({cert.not_valid_before_utc.date()} đến {cert.not_valid_after_utc.date()}).",
                f"Signed at {signing_time.isoformat()}, outside the certificate's validity "
                f"({cert.not_valid_before_utc.date()} to {cert.not_valid_after_utc.date()}).",
            )
        )
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        usable = usage.digital_signature and usage.content_commitment
    except x509.ExtensionNotFound:
        usable = False
    if not usable:
        report.findings.append(
            Finding(
                "certificate.usage",
                "Chứng thư số không dùng để ký văn bản (thiếu digitalSignature, contentCommitment).",
                "The certificate is not for signing documents (digitalSignature, contentCommitment missing).",
            )
        )
    when = revoked_at(cert, crls, issuer)
    if when is None:
        report.revoked = None
        report.findings.append(
            Finding(
                "certificate.revocation_unknown",
                "Không có danh sách thu hồi chứng thư số của bên cấp để kiểm tra.",
                "No revocation list of the issuer is available to check the certificate.",
            )
        )
    elif when is False:
        report.revoked = False
    else:
        assert isinstance(when, datetime)
        report.revoked = when <= signing_time
        if report.revoked:
            report.findings.append(
                Finding(
                    "certificate.revoked",
                    f"Chứng thư số đã bị thu hồi từ {when.isoformat()}, trước khi ký.",
                    f"The certificate was revoked at {when.isoformat()}, before the signature.",
                )
            )
