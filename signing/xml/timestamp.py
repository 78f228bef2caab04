"""XAdES-T (ETSI EN 319 132-1, 5.3): the school's RFC 3161 timestamp over a signature's value, kept
in the signature itself as an unsigned property. It sits outside SignedInfo, so adding it leaves the
signature valid; a later signature covers it with the whole ChuKy (Điều 12, 15).

    ds:Signature/ds:Object/xades:QualifyingProperties
        xades:SignedProperties …
        xades:UnsignedProperties/xades:UnsignedSignatureProperties/xades:SignatureTimeStamp
            ds:CanonicalizationMethod   (inclusive C14N 1.0, how the SignatureValue was canonicalised)
            xades:EncapsulatedTimeStamp (base64 of the DER token)
"""

from __future__ import annotations

import base64
import binascii

from lxml import etree

from signing.xml.document import DS, XADES, canonical

C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
_UNSIGNED = f"{{{XADES}}}UnsignedProperties"
_STAMP = f"{_UNSIGNED}/{{{XADES}}}UnsignedSignatureProperties/{{{XADES}}}SignatureTimeStamp"


def signature_value(signature: etree._Element) -> bytes | None:
    """What the time-stamping authority stamps (XAdES SignatureTimeStamp): the canonical form of the
    signature's ds:SignatureValue element; None when it has none."""
    value = signature.find(f"{{{DS}}}SignatureValue")
    return canonical(value) if value is not None else None


def _qualifying(signature: etree._Element) -> etree._Element | None:
    return signature.find(f"{{{DS}}}Object/{{{XADES}}}QualifyingProperties")


def embed(signature: etree._Element, token: bytes) -> None:
    """Put the timestamp `token` in `signature` as its only unsigned property (whatever unsigned
    properties the signer sent are dropped: they are nobody's word). A plain XMLDSig signature gets
    qualifying properties holding just the timestamp."""
    qualifying = _qualifying(signature)
    if qualifying is None:
        holder = etree.SubElement(signature, f"{{{DS}}}Object", nsmap={"xades": XADES})
        qualifying = etree.SubElement(holder, f"{{{XADES}}}QualifyingProperties")
        qualifying.set("Target", f"#{signature.get('Id', '')}")
    for unsigned in qualifying.findall(_UNSIGNED):
        qualifying.remove(unsigned)
    properties = etree.SubElement(etree.SubElement(qualifying, _UNSIGNED), f"{{{XADES}}}UnsignedSignatureProperties")
    stamp = etree.SubElement(properties, f"{{{XADES}}}SignatureTimeStamp")
    etree.SubElement(stamp, f"{{{DS}}}CanonicalizationMethod").set("Algorithm", C14N)
    etree.SubElement(stamp, f"{{{XADES}}}EncapsulatedTimeStamp").text = base64.b64encode(token).decode()


def strip(signature: etree._Element) -> None:
    """Drop any unsigned properties a signer sent with a new signature."""
    qualifying = _qualifying(signature)
    if qualifying is not None:
        for unsigned in qualifying.findall(_UNSIGNED):
            qualifying.remove(unsigned)


def embedded(signature: etree._Element) -> bytes | None:
    """The DER token of the signature's XAdES SignatureTimeStamp; b"" when one is there but
    unreadable; None when the signature has none (XAdES-B)."""
    qualifying = _qualifying(signature)
    stamp = qualifying.find(_STAMP) if qualifying is not None else None
    if stamp is None:
        return None
    method = stamp.find(f"{{{DS}}}CanonicalizationMethod")
    encapsulated = stamp.find(f"{{{XADES}}}EncapsulatedTimeStamp")
    if encapsulated is None or not encapsulated.text or (method is not None and method.get("Algorithm") != C14N):
        return b""
    try:
        return base64.b64decode("".join(encapsulated.text.split()), validate=True)
    except (ValueError, binascii.Error):
        return b""
