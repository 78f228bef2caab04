"""Long-term validation material of an XML signature (ETSI EN 319 132-1).

XAdES-LT (5.4): the certificates and the revocation information the service validated a signature
with when it accepted it, kept in the signature's unsigned properties after its timestamp, so that
the signature can be checked offline once the certificates have expired and the OCSP responders
and CRLs are gone:

    xades:UnsignedSignatureProperties
        xades:SignatureTimeStamp …
        xades:CertificateValues/xades:EncapsulatedX509Certificate*    (base64 DER)
        xades:RevocationValues
            xades:CRLValues/xades:EncapsulatedCRLValue*               (base64 DER)
            xades:OCSPValues/xades:EncapsulatedOCSPValue*             (base64 DER OCSPResponse)

XAdES-LTA (5.5.2): archive timestamps (`xades141:ArchiveTimeStamp`) after them, in the last signature
of an issued học bạ (the clerk's seal), each over the canonical form of the whole document as it
stood before it (signing.xml.archive).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field

from lxml import etree

from signing.x509.validation import is_ocsp_response
from signing.xml.document import DS, XADES

XADES141 = "http://uri.etsi.org/01903/v1.4.1#"
_PROPERTIES = f"{{{DS}}}Object/{{{XADES}}}QualifyingProperties/{{{XADES}}}UnsignedProperties/"
_PROPERTIES += f"{{{XADES}}}UnsignedSignatureProperties"


@dataclass
class ValidationData:
    """What a signature carries for its long-term validation (DER)."""

    certificates: list[bytes] = field(default_factory=list)
    crls: list[bytes] = field(default_factory=list)
    ocsp_responses: list[bytes] = field(default_factory=list)
    present: bool = False  # the signature has CertificateValues and RevocationValues (XAdES-LT)


def unsigned_properties(signature: etree._Element) -> etree._Element | None:
    return signature.find(_PROPERTIES)


def embed(signature: etree._Element, certificates: Sequence[bytes], revocation: Sequence[bytes]) -> None:
    """Add the chain's certificates and the revocation values (CRLs and OCSP responses, told apart by
    their form) after the signature's timestamp (signing.xml.timestamp.embed puts it first)."""
    properties = unsigned_properties(signature)
    if properties is None:
        raise ValueError("the signature has no unsigned properties to hold its validation data")
    values = etree.SubElement(properties, f"{{{XADES}}}CertificateValues")
    for der in _unique(certificates):
        etree.SubElement(values, f"{{{XADES}}}EncapsulatedX509Certificate").text = base64.b64encode(der).decode()
    holder = etree.SubElement(properties, f"{{{XADES}}}RevocationValues")
    crls = [r for r in _unique(revocation) if not is_ocsp_response(r)]
    ocsps = [r for r in _unique(revocation) if is_ocsp_response(r)]
    if crls:
        crl_values = etree.SubElement(holder, f"{{{XADES}}}CRLValues")
        for der in crls:
            etree.SubElement(crl_values, f"{{{XADES}}}EncapsulatedCRLValue").text = base64.b64encode(der).decode()
    if ocsps:
        ocsp_values = etree.SubElement(holder, f"{{{XADES}}}OCSPValues")
        for der in ocsps:
            etree.SubElement(ocsp_values, f"{{{XADES}}}EncapsulatedOCSPValue").text = base64.b64encode(der).decode()


def _unique(values: Sequence[bytes]) -> list[bytes]:
    return list(dict.fromkeys(values))


def _decoded(elements: Sequence[etree._Element]) -> list[bytes]:
    found = []
    for element in elements:
        try:
            found.append(base64.b64decode("".join((element.text or "").split()), validate=True))
        except (ValueError, binascii.Error):
            continue  # unreadable: it proves nothing
    return found


def embedded(signature: etree._Element) -> ValidationData:
    """The certificates and revocation values the signature carries (XAdES-LT), unverified."""
    properties = unsigned_properties(signature)
    if properties is None:
        return ValidationData()
    certificates = properties.find(f"{{{XADES}}}CertificateValues")
    revocation = properties.find(f"{{{XADES}}}RevocationValues")
    data = ValidationData(present=certificates is not None and revocation is not None)
    if certificates is not None:
        data.certificates = _decoded(certificates.findall(f"{{{XADES}}}EncapsulatedX509Certificate"))
    if revocation is not None:
        data.crls = _decoded(revocation.findall(f"{{{XADES}}}CRLValues/{{{XADES}}}EncapsulatedCRLValue"))
        data.ocsp_responses = _decoded(revocation.findall(f"{{{XADES}}}OCSPValues/{{{XADES}}}EncapsulatedOCSPValue"))
    return data
