"""A private key held by this process, with its certificate: the ledger service's key that signs
checkpoints, and, in development and tests, a demo signer's key."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from signing.x509.certs import PrivateKey, sign_bytes


@dataclass(frozen=True)
class KeySigner:
    """Signs with a key in memory, under its certificate."""

    key: PrivateKey
    certificate: x509.Certificate

    def sign(self, message: bytes) -> bytes:
        return sign_bytes(self.key, message)

    @property
    def certificate_der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)
