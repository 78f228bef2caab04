"""Archive timestamps of an issued XML học bạ (XAdES-LTA, ETSI EN 319 132-1 5.5.2): proof that the
whole signed document, with every signature's timestamp, certificates and revocation values,
existed at a time, renewed before the time-stamping authority's certificate expires, so that the
học bạ stays verifiable for decades (Điều 15, 23.2, 28.3).

Where, and over what. The signatures of a học bạ nest: each later signature covers the earlier
`ChuKy` elements, unsigned properties included, so an unsigned property added to any signature but
the last would break the signatures after it. The archive timestamps therefore sit in the last
signature (the clerk's seal), after its validation data:

    xades:UnsignedSignatureProperties (of the seal)
        xades:SignatureTimeStamp, xades:CertificateValues, xades:RevocationValues
        xades141:ArchiveTimeStamp
            ds:CanonicalizationMethod   (inclusive C14N 1.0, with comments)
            xades:EncapsulatedTimeStamp (base64 of the DER token)
        xades141:ArchiveTimeStamp …     (each renewal, after the one before)

The standard's input for the seal's own archive timestamp would reach the subject, homeroom and
decision parts only through the SHA-256 digests of the earlier signatures, which is what an archive
timestamp is meant to outlive. So the input of the k-th archive timestamp is the canonical form
(C14N 1.0, with comments) of the whole document without its ledger receipt (`bn:BienNhan`, added
afterwards) and without the k-th and later archive timestamps: every data part, every signature
with its validation data, and the archive timestamps before it. The first one is over the very bytes whose SHA-256 the
`hocba.issued` event names.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from lxml import etree

from signing.report import Finding
from signing.x509.timestamps import check_timestamp
from signing.xml.document import DS, XADES, wrappers
from signing.xml.longterm import XADES141, unsigned_properties

C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"  # as receipt.document_digest
ARCHIVE = f"{{{XADES141}}}ArchiveTimeStamp"
RECEIPT = "{urn:hocba:receipt:1}BienNhan"


def _seal_properties(root: etree._Element) -> etree._Element | None:
    """The unsigned signature properties of the document's last signature."""
    found = wrappers(root)
    signature = found[-1].find(f"{{{DS}}}Signature") if found else None
    return unsigned_properties(signature) if signature is not None else None


def without_archive(root: etree._Element, keep: int = 0) -> etree._Element:
    """A copy of the document without its receipt and without its archive timestamps but the first
    `keep` ones."""
    copy = etree.fromstring(etree.tostring(root))
    for receipt in copy.findall(RECEIPT):
        copy.remove(receipt)
    for stamp in list(copy.iter(ARCHIVE))[keep:]:
        parent = stamp.getparent()
        if parent is not None:
            parent.remove(stamp)
    return copy


def archive_input(root: etree._Element, index: int) -> bytes:
    """What the `index`-th archive timestamp (from 0) is over: the canonical document without its
    receipt and without that archive timestamp and the later ones."""
    return bytes(etree.tostring(without_archive(root, index), method="c14n"))


def tokens(root: etree._Element) -> list[bytes]:
    """The DER tokens of the document's archive timestamps, in order (b"" for an unreadable one)."""
    found = []
    for stamp in root.iter(ARCHIVE):
        method = stamp.find(f"{{{DS}}}CanonicalizationMethod")
        encapsulated = stamp.find(f"{{{XADES}}}EncapsulatedTimeStamp")
        try:
            if method is None or method.get("Algorithm") != C14N or encapsulated is None:
                raise ValueError
            found.append(base64.b64decode("".join((encapsulated.text or "").split()), validate=True))
        except (ValueError, binascii.Error):
            found.append(b"")
    return found


def add(root: etree._Element, token: bytes) -> None:
    """Put an archive timestamp after the last signature's validation data (and after the archive
    timestamps already there); `token` is over `archive_input(root, len(tokens(root)))`."""
    properties = _seal_properties(root)
    if properties is None:
        raise ValueError("the document has no sealed signature with unsigned properties")
    stamp = etree.SubElement(properties, ARCHIVE, nsmap={"xades141": XADES141})
    etree.SubElement(stamp, f"{{{DS}}}CanonicalizationMethod").set("Algorithm", C14N)
    etree.SubElement(stamp, f"{{{XADES}}}EncapsulatedTimeStamp").text = base64.b64encode(token).decode()


@dataclass
class ArchiveCheck:
    """The archive timestamps of a document, checked from the last back to the first."""

    times: list[datetime] = field(default_factory=list)  # each one's time, in order, when all are valid
    proven: datetime | None = None  # the first one's time: when the signed material is proven to exist
    findings: list[Finding] = field(default_factory=list)
    authority_expires: datetime | None = None  # when the last one's authority certificate expires


async def check(
    root: etree._Element,
    roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList] = (),
    at: datetime | None = None,
) -> ArchiveCheck:
    """The last archive timestamp must be valid at `at` (now when None), its authority's certificate
    not expired then; each earlier one must be valid at the time of the one after it, which covers
    it. Then the first one's time is a time at which the whole signed document existed."""
    found = tokens(root)
    result = ArchiveCheck()
    moment = at
    times: list[datetime] = []
    for index in reversed(range(len(found))):
        checked = await check_timestamp(found[index], archive_input(root, index), roots, crls, moment=moment)
        late = checked.time is not None and moment is not None and checked.time > moment
        if not checked.ok or checked.time is None or late:
            problems = "; ".join(checked.problems) or "it is later than the archive timestamp covering it"
            when = f" (as of {moment.isoformat()})" if moment else ""
            result.findings.append(
                Finding(
                    "archive.timestamp",
                    f"Dấu thời gian lưu trữ thứ {index + 1} không hợp lệ{when}: nội dung đã bị thay đổi sau "
                    "dấu thời gian, hoặc chứng thư của đơn vị cấp dấu thời gian đã hết hạn mà chưa được gia hạn.",
                    f"Archive timestamp {index + 1} is not valid{when}: {problems}",
                )
            )
            return result
        if index == len(found) - 1:
            result.authority_expires = authority_expiry(found[index])
        times.insert(0, checked.time)
        moment = checked.time
    result.times = times
    result.proven = times[0] if times else None
    return result


def authority_expiry(token: bytes) -> datetime | None:
    """When the certificate of the authority that signed a timestamp token expires (None when the
    token does not carry it)."""
    from asn1crypto import cms

    try:
        signed = cms.ContentInfo.load(token)["content"]
        sid = signed["signer_infos"][0]["sid"]
        for choice in signed["certificates"]:
            candidate = choice.chosen
            if sid.name == "issuer_and_serial_number":
                match = candidate.serial_number == sid.chosen["serial_number"].native
            else:
                match = candidate.key_identifier == sid.chosen.native
            if match:
                return x509.load_der_x509_certificate(candidate.dump()).not_valid_after_utc
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None
    return None
