"""Signing a prepared document on the signer's side: a XAdES-B signature in its placeholder, with
SigningTime (+07:00) and the role in the signed properties, and, for a signature in a departed
teacher's place (Điều 18.5, 18.7), a second ClaimedRole holding the KyThay the placeholder names.
The service adds the timestamp (XAdES-T) when it accepts the signature."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from signxml.algorithms import SignatureMethod
from signxml.xades.xades import XAdESSigner

from ledger.base.clock import VN_TZ
from signing.x509.certs import DocumentKey
from signing.xml.document import (
    DS,
    PLACEHOLDER,
    XADES,
    parse,
    substitution_element,
    substitution_of,
    to_bytes,
    wrappers,
)


class _Signer(XAdESSigner):
    """XAdES-B with the signing time in +07:00 and the role as ClaimedRole."""

    def __init__(
        self, key: DocumentKey, signing_time: datetime, role: str, substitution: Mapping[str, str] | None = None
    ) -> None:
        ecdsa = isinstance(key, ec.EllipticCurvePrivateKey)
        method = SignatureMethod.ECDSA_SHA256 if ecdsa else SignatureMethod.RSA_SHA256
        super().__init__(claimed_roles=[role], signature_algorithm=method)
        self.signing_time = signing_time
        self.substitution = substitution

    def add_signer_role(self, signed_signature_properties: Any, sig_root: Any, signing_settings: Any) -> None:
        super().add_signer_role(signed_signature_properties, sig_root, signing_settings)
        if self.substitution:
            roles = signed_signature_properties.find(f"{{{XADES}}}SignerRole/{{{XADES}}}ClaimedRoles")
            claimed = etree.SubElement(roles, f"{{{XADES}}}ClaimedRole")
            claimed.append(substitution_element(self.substitution))

    def add_signing_time(self, signed_signature_properties: Any, sig_root: Any, signing_settings: Any) -> None:
        element = etree.SubElement(signed_signature_properties, f"{{{XADES}}}SigningTime")
        element.text = self.signing_time.astimezone(VN_TZ).isoformat(timespec="seconds")


def sign_prepared(
    prepared: bytes,
    key: DocumentKey,
    certificate: x509.Certificate,
    *,
    signing_time: datetime,
    chain: Sequence[x509.Certificate] = (),
) -> bytes:
    """Sign a prepared document on the signer's side: the placeholder ChuKy names the role and the
    references; the result goes back to the service, which checks it before recording it."""
    root = parse(prepared)
    [wrapper] = [w for w in wrappers(root) if w.find(f"{{{DS}}}Signature[@Id='{PLACEHOLDER}']") is not None]
    role, references = wrapper.get("VaiTro", ""), (wrapper.get("ThamChieu") or "").split()
    signer = _Signer(key, signing_time, role, substitution_of(wrapper))
    signed = signer.sign(root, key=key, cert=[certificate, *chain], reference_uri=references)
    return to_bytes(signed)
