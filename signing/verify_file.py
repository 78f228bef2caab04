"""One entry point to verify a signed file offline: an XML or PDF học bạ, or a transfer record (Điều 15, 26)."""

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
        from signing.pdf.verify import verify_pdf

        return await verify_pdf(data, roots, crls)
    if head.startswith(b"<"):
        from signing import transfer
        from signing.xml import document as hocba_xml
        from signing.xml import verify as xml_verify

        if _root_tag(data) == hocba_xml.tag("ChuyenTruong"):  # a transfer record, and all it carries
            report, _ = await transfer.verify(data, roots, crls)
            return report
        return await xml_verify.verify_xml(data, roots, crls)
    report = FileReport("unknown")
    report.findings.append(
        Finding(
            "file.kind",
            "Tệp không phải học bạ XML hay PDF.",
            "The file is neither an XML nor a PDF học bạ.",
        )
    )
    return report


def _root_tag(data: bytes) -> str | None:
    """The root element's name, read from its start tag alone (verify_xml parses the whole file)."""
    import io

    from lxml import etree

    try:
        for _, element in etree.iterparse(io.BytesIO(data), events=("start",), resolve_entities=False, no_network=True):
            return str(element.tag)
    except etree.XMLSyntaxError:  # unreadable: verify_xml reports it
        return None
    return None
