"""One entry point to verify a signed file offline: an XML or PDF học bạ, or a transfer record (Điều 15, 26)."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509

from signing.report import FileReport, Finding


async def verify_file(
    data: bytes,
    roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList] = (),
    *,
    at: datetime | None = None,
) -> FileReport:
    """The verification report of an XML or PDF học bạ, checked against the trusted roots and the
    issuers' revocation lists, as of `at` (now by default); nothing is fetched from the network. A
    học bạ checked long after it was issued stands on the validation data and archive timestamps it
    carries (XML: XAdES-LT and XAdES-LTA; PDF: PAdES-B-LTA)."""
    head = data[:1024].lstrip()
    if head.startswith(b"%PDF"):
        from signing.pdf.verify import verify_pdf

        return await verify_pdf(data, roots, crls, at=at)
    if head.startswith(b"<"):
        from signing import transfer
        from signing.xml import document as hocba_xml
        from signing.xml import verify as xml_verify

        if _root_tag(data) == hocba_xml.tag("ChuyenTruong"):  # a transfer record, and all it carries
            report, _ = await transfer.verify(data, roots, crls)
            return report
        return await xml_verify.verify_xml(data, roots, crls, at=at)
    report = FileReport("unknown")
    report.findings.append(
        Finding(
            "file.kind",
            "Tệp không phải học bạ XML hay PDF.",
            "The file is neither an XML nor a PDF học bạ.",
        )
    )
    return report


@dataclass(frozen=True)
class Census:
    """What a file holds, counted without verifying anything: its kind, its signatures (counted up
    to one past `at_most`), its pages (PDF, as its page tree declares them). An unreadable file
    counts nothing: the verification reports it."""

    kind: str  # xml, pdf or unknown
    signatures: int = 0
    pages: int = 0


def census(data: bytes, at_most: int) -> Census:
    """Count before verifying: a file with thousands of signatures is refused before its first
    signature is checked."""
    head = data[:1024].lstrip()
    if head.startswith(b"%PDF"):
        return _pdf_census(data, at_most)
    if head.startswith(b"<"):
        from lxml import etree

        from signing.xml import document as hocba_xml

        try:
            root = hocba_xml.parse(data)
        except etree.XMLSyntaxError:
            return Census("xml")
        found = root.iter(f"{{{hocba_xml.DS}}}Signature")
        return Census("xml", sum(1 for _ in itertools.islice(found, at_most + 1)))
    return Census("unknown")


def _pdf_census(data: bytes, at_most: int) -> Census:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.fields import enumerate_sig_fields

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        fields: Iterator[Any] = enumerate_sig_fields(reader)
        signatures = sum(1 for _ in itertools.islice(fields, at_most + 1))
    except Exception:  # unreadable (or fields nested without end): verify_pdf reports it
        return Census("pdf")
    try:
        pages = int(reader.root["/Pages"]["/Count"])
    except Exception:
        pages = 0
    return Census("pdf", signatures, pages)


def _root_tag(data: bytes) -> str | None:
    """The root element's name, read from its start tag alone (verify_xml parses the whole file)."""
    from lxml import etree

    try:
        for _, element in etree.iterparse(io.BytesIO(data), events=("start",), resolve_entities=False, no_network=True):
            return str(element.tag)
    except etree.XMLSyntaxError:  # unreadable: verify_xml reports it
        return None
    return None
