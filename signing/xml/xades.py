"""Signing a prepared document on the signer's side: a XAdES-B signature in its placeholder, with
SigningTime (+07:00) and the role in the signed properties, and, for a signature in a departed
teacher's place (Điều 18.5, 18.7), a second ClaimedRole holding the KyThay the placeholder names.
The service adds the timestamp (XAdES-T) when it accepts the signature.

The key signs the canonical SignedInfo and nothing else, wherever it is kept (a token, a
remote-signing service, a file: signing.x509.signers): every document of a batch is made ready
first, then the key signs all their SignedInfo at once, under one authorisation."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from lxml import etree
from signxml.algorithms import SignatureMethod
from signxml.xades.xades import XAdESSigner

from ledger.base.clock import VN_TZ
from signing.x509.certs import DocumentKey
from signing.x509.signers import KeyHolder, MemoryKey, SignerError, signature_size
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
        self,
        certificate: x509.Certificate,
        signing_time: datetime,
        role: str,
        substitution: Mapping[str, str] | None = None,
    ) -> None:
        ecdsa = isinstance(certificate.public_key(), ec.EllipticCurvePublicKey)
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


class _Deferred:
    """Stands in for the key while the signature is built: keeps the canonical SignedInfo the key is
    to sign, and gives a value of the right shape, replaced once the key has signed."""

    def __init__(self, certificate: x509.Certificate) -> None:
        self.public = certificate.public_key()
        self.key_size = signature_size(certificate) * 8
        self.ecdsa = isinstance(self.public, ec.EllipticCurvePublicKey)
        self.curve = self.public.curve if isinstance(self.public, ec.EllipticCurvePublicKey) else None
        self.signed_info: bytes | None = None

    def public_key(self) -> Any:
        """The public half, which the signature's KeyValue shows next to the certificate."""
        return self.public

    def sign(self, data: bytes, *args: Any, **kwargs: Any) -> bytes:
        self.signed_info = bytes(data)
        return encode_dss_signature(1, 1) if self.ecdsa else bytes(self.key_size // 8)


@dataclass
class Ready:
    """A prepared document with its signature built, but for the value: `signed_info` is what the key
    signs (SHA-256)."""

    root: Any
    signature: Any
    signed_info: bytes
    certificate: x509.Certificate

    def complete(self, value: bytes) -> bytes:
        """The signed document, given the key's signature value over `signed_info` (ECDSA in DER, as
        keys give it; XML-DSig writes r and s side by side)."""
        public = self.certificate.public_key()
        if isinstance(public, ec.EllipticCurvePublicKey):
            size = signature_size(self.certificate)
            try:
                r, s = decode_dss_signature(value)
            except ValueError:
                raise SignerError("the signer returned a malformed ECDSA signature") from None
            value = r.to_bytes(size, "big") + s.to_bytes(size, "big")
        elif not isinstance(public, rsa.RSAPublicKey):
            raise SignerError("a học bạ is signed with an ECDSA or RSA key")
        self.signature.find(f"{{{DS}}}SignatureValue").text = base64.b64encode(value).decode()
        return to_bytes(self.root)


def ready(
    prepared: bytes,
    certificate: x509.Certificate,
    *,
    signing_time: datetime,
    chain: Sequence[x509.Certificate] = (),
) -> Ready:
    """Build the signature in a prepared document's placeholder: the placeholder ChuKy names the role
    and the references; only the signature value is left for the key."""
    root = parse(prepared)
    [wrapper] = [w for w in wrappers(root) if w.find(f"{{{DS}}}Signature[@Id='{PLACEHOLDER}']") is not None]
    role, references = wrapper.get("VaiTro", ""), (wrapper.get("ThamChieu") or "").split()
    signer = _Signer(certificate, signing_time, role, substitution_of(wrapper))
    deferred = _Deferred(certificate)
    signed = signer.sign(root, key=deferred, cert=[certificate, *chain], reference_uri=references)  # type: ignore[arg-type]
    if deferred.signed_info is None:
        raise SignerError("the signature was built without a SignedInfo")
    [signature] = [w.find(f"{{{DS}}}Signature") for w in wrappers(signed) if w.get("Id") == wrapper.get("Id")]
    return Ready(signed, signature, deferred.signed_info, certificate)


def sign_prepared(
    prepared: bytes,
    key: DocumentKey,
    certificate: x509.Certificate,
    *,
    signing_time: datetime,
    chain: Sequence[x509.Certificate] = (),
) -> bytes:
    """Sign a prepared document on the signer's side with a key in memory (the demo signers); the
    result goes back to the service, which checks it before recording it."""
    made = ready(prepared, certificate, signing_time=signing_time, chain=chain)
    return made.complete(MemoryKey(key, certificate).sign_now(made.signed_info))


async def sign_all(prepared: Sequence[bytes], holder: KeyHolder, *, signing_time: datetime) -> list[bytes]:
    """Sign several prepared documents (a class) with one signer, in one authorisation of its key:
    one PIN entry for a token, one authorisation over every hash for a remote-signing service."""
    chain = [c for c in holder.chain if c != holder.certificate]
    made = [ready(p, holder.certificate, signing_time=signing_time, chain=chain) for p in prepared]
    values = await holder.sign_many([m.signed_info for m in made])
    if len(values) != len(made):
        raise SignerError(f"the signer returned {len(values)} signatures for {len(made)} documents")
    return [m.complete(v) for m, v in zip(made, values, strict=True)]
