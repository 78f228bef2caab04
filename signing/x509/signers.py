"""Who signs a học bạ: one interface over three kinds of key (Điều 8, 12, 14).

A signer signs two things only: the canonical SignedInfo of a prepared XML document, and a PDF's
CMS signed attributes. Each is signed with SHA-256: ECDSA (the value DER-encoded) or RSA PKCS#1 v1.5.

- a key on a PKCS#11 token (a USB token, an HSM): `signing.x509.pkcs11.TokenKey`;
- a key at a remote-signing service, over the Cloud Signature Consortium API: `signing.x509.csc.CscKey`;
- a PKCS#12 file, for the demo only (`MemoryKey`, `load_pkcs12`), refused in production.

A signer signs many messages at once (`sign_many`) under one authorisation: one PIN entry for a
whole class."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.sign import signers as pyhanko_signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from ledger.base.errors import HocbaError
from signing.x509.certs import DocumentKey, asn1_certificate, sign_bytes


class SignerError(HocbaError, RuntimeError):
    """A signer cannot be opened, or refused to sign."""


class KeyHolder(Protocol):
    """A signer's key and certificate, wherever the key is kept."""

    @property
    def certificate(self) -> x509.Certificate: ...

    @property
    def chain(self) -> Sequence[x509.Certificate]:
        """The certificates between the signer's and the root, as the signer has them."""
        ...

    async def sign_many(self, messages: Sequence[bytes]) -> list[bytes]:
        """The signature value over each message (SHA-256; ECDSA in DER, or RSA PKCS#1 v1.5), all
        under one authorisation of the key."""
        ...

    def pdf_signer(self, batch_size: int = 1) -> pyhanko_signers.Signer:
        """pyHanko's signer over this key, for PAdES; `batch_size` PDFs signed together share one
        authorisation where the key needs one."""
        ...


def cert_store(chain: Sequence[x509.Certificate]) -> SimpleCertificateStore:
    store: SimpleCertificateStore = SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
        [asn1_certificate(c) for c in chain]
    )
    return store


@dataclass(frozen=True)
class MemoryKey:
    """A key in memory with its certificate: the demo signers, and a PKCS#12 file."""

    key: DocumentKey
    certificate: x509.Certificate
    chain: Sequence[x509.Certificate] = field(default=())

    def sign_now(self, message: bytes) -> bytes:
        return sign_bytes(self.key, message)

    async def sign_many(self, messages: Sequence[bytes]) -> list[bytes]:
        return [sign_bytes(self.key, message) for message in messages]

    def pdf_signer(self, batch_size: int = 1) -> pyhanko_signers.Signer:
        key_der = self.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return pyhanko_signers.SimpleSigner(
            signing_cert=asn1_certificate(self.certificate),
            signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
            cert_registry=cert_store(self.chain),
        )


PKCS12_IN_PRODUCTION = (
    "a PKCS#12 key file is for the demo only; in production sign with a USB token or HSM (--pkcs11-module) "
    "or a remote-signing service (--csc-url)"
)


def load_pkcs12(data: bytes, password: bytes | None, *, production: bool) -> MemoryKey:
    """A PKCS#12 file's key and certificate, for the demo; refused in production, where a signer's key
    is on a token or at a remote-signing service, never in a file (Điều 8)."""
    if production:
        raise SignerError(PKCS12_IN_PRODUCTION)
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password)
    except ValueError as exc:
        raise SignerError(f"cannot open the PKCS#12 file: {exc}") from None
    if key is None or cert is None or not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        raise SignerError("the PKCS#12 file holds no ECDSA or RSA key with its certificate")
    return MemoryKey(key, cert, tuple(c for c in extra if c != cert))


def read_pkcs12(path: Path, password: bytes | None, *, production: bool) -> MemoryKey:
    if production:
        raise SignerError(PKCS12_IN_PRODUCTION)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SignerError(f"cannot read {path}: {exc.strerror}") from None
    return load_pkcs12(data, password, production=production)


def signature_size(certificate: x509.Certificate) -> int:
    """Bytes of the key's size, as XML-DSig's raw ECDSA signature value uses it per integer."""
    public: Any = certificate.public_key()
    return (int(public.key_size) + 7) // 8
