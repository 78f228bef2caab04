"""Certificate checks of one signature at its signing time (Điều 8, 12, 15): the chain through
intermediate CAs to the trust list, the validity period, the key usage, and revocation by OCSP or
CRL (signing.x509.validation); and a CRL lookup for the ledger's own service certificates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cryptography import x509

from signing.report import Finding, SignatureReport
from signing.x509.validation import CertificateStatus, OnlineRevocation, validate_certificate


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


async def certificate_checks(
    report: SignatureReport,
    cert: x509.Certificate,
    roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    signing_time: datetime,
    *,
    intermediates: Sequence[x509.Certificate] = (),
    online: OnlineRevocation | None = None,
    kept: Sequence[bytes] = (),
) -> CertificateStatus:
    """Fill the certificate fields of `report` for a signature made at `signing_time`: the chain
    through `intermediates` (the signature's certificates) to the trust list and the revocation
    status (signing.x509.validation), the validity period and the key usage. `kept`: the revocation
    values the signature carries (XAdES-LT)."""
    status = await validate_certificate(
        cert, roots, crls, signing_time, intermediates=intermediates, online=online, kept=kept
    )
    report.chain_trusted = status.chain_trusted
    report.findings += [f for f in status.findings if f.code == "certificate.untrusted"]
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
    if report.chain_trusted:
        report.revoked = status.revoked
        report.findings += [f for f in status.findings if f.code != "certificate.untrusted"]
    return status
