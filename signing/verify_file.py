"""One entry point to verify a signed học bạ file offline, XML or PDF (Điều 15)."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509

from signing.report import FileReport, Finding


async def verify_file(
    data: bytes,
    roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList] = (),
) -> FileReport:
    """The verification report of an XML or PDF học bạ, checked against the trusted roots and the
    issuers' revocation lists; nothing is fetched from the network."""
    head = data[:1024].lstrip()
    if head.startswith(b"%PDF"):
        from signing.pdf import verify_pdf

        return await verify_pdf(data, roots, crls)
    if head.startswith(b"<"):
        from signing.xml import verify_xml

        return verify_xml(data, roots, crls)
    report = FileReport("unknown")
    report.findings.append(
        Finding(
            "file.kind",
            "Tệp không phải học bạ XML hay PDF.",
            "The file is neither an XML nor a PDF học bạ.",
        )
    )
    return report
