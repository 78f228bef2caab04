"""Who signs: a private key with its certificate. The ledger service signs checkpoints and signed
projections with `Signer`s (an Ed25519 key held by a PKCS#11 token, signing.x509.pkcs11, or in
development a key in memory); people sign học bạ with document keys (ECDSA or RSA) on their side."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from signing.x509.certs import DocumentKey, PrivateKey, sign_bytes

K = TypeVar("K", bound=PrivateKey)


def algorithm_of(certificate: x509.Certificate) -> str:
    """The signature algorithm a certificate's key signs with: "Ed25519", "ES256" or "RS256"."""
    public = certificate.public_key()
    if isinstance(public, ed25519.Ed25519PublicKey):
        return "Ed25519"
    return "ES256" if isinstance(public, ec.EllipticCurvePublicKey) else "RS256"


def raw_public_key(certificate: x509.Certificate) -> bytes | None:
    """The 32 bytes of an Ed25519 certificate's public key, as signed notes name it; None otherwise."""
    public = certificate.public_key()
    if not isinstance(public, ed25519.Ed25519PublicKey):
        return None
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class Signer(Protocol):
    """Signs bytes under a certificate: the signature algorithm follows the certificate's key
    (signing.x509.certs)."""

    @property
    def certificate(self) -> x509.Certificate: ...

    @property
    def certificate_der(self) -> bytes: ...

    def sign(self, message: bytes) -> bytes: ...


@dataclass(frozen=True)
class KeySigner(Generic[K]):
    """Signs with a key in memory, under its certificate."""

    key: K
    certificate: x509.Certificate

    def sign(self, message: bytes) -> bytes:
        return sign_bytes(self.key, message)

    @property
    def certificate_der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)


DocumentSigner = KeySigner[DocumentKey]  # a demo signer of học bạ: ECDSA or RSA, never Ed25519
