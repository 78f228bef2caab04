"""Keys held by a PKCS#11 token (an HSM, a USB token, or SoftHSM2 in development and tests), through
python-pkcs11: the private key never leaves the token, so a copy of the server's files or of its
database is not a copy of the key. A key is found by its label."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pkcs11
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import PKCS11Error
from pkcs11.util.ec import encode_named_curve_parameters

from ledger.base.errors import HocbaError

ED25519_OID = "1.3.101.112"


class TokenError(HocbaError, RuntimeError):
    """The token cannot be opened, or holds no such key."""


@dataclass
class Token:
    """A PKCS#11 token: its module (the vendor's library), its label and the user PIN. One session is
    opened on first use and shared by the process's threads (python-pkcs11 sessions are not safe
    across a fork, so each service process opens its own)."""

    module: str
    label: str
    pin: str
    _session: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _open(self) -> Any:
        if self._session is None:
            try:
                token = pkcs11.lib(self.module).get_token(token_label=self.label)
                self._session = token.open(user_pin=self.pin, rw=True)
            except (PKCS11Error, RuntimeError, OSError) as exc:
                raise TokenError(f"cannot open the PKCS#11 token {self.label!r} ({self.module}): {exc!r}") from exc
        return self._session

    def _private(self, label: str) -> Any:
        try:
            return self._open().get_key(object_class=ObjectClass.PRIVATE_KEY, label=label)
        except (pkcs11.NoSuchKey, pkcs11.MultipleObjectsReturned):
            raise TokenError(f"the token {self.label!r} holds no single private key {label!r}") from None

    def ed25519_public_key(self, label: str) -> bytes | None:
        """The raw 32-byte public key of the Ed25519 key pair `label`, or None when there is none."""
        with self._lock:
            try:
                public = self._open().get_key(object_class=ObjectClass.PUBLIC_KEY, label=label)
            except pkcs11.NoSuchKey:
                return None
            point: bytes = public[Attribute.EC_POINT]
        if len(point) == 34 and point[:2] == b"\x04\x20":  # DER OCTET STRING around the 32 bytes
            return point[2:]
        if len(point) == 32:
            return point
        raise TokenError(f"the public key {label!r} is not an Ed25519 key")

    def generate_ed25519(self, label: str) -> bytes:
        """Make an Ed25519 key pair on the token (the private key is not extractable)."""
        with self._lock:
            session = self._open()
            parameters = session.create_domain_parameters(
                KeyType.EC_EDWARDS, {Attribute.EC_PARAMS: encode_named_curve_parameters(ED25519_OID)}, local=True
            )
            parameters.generate_keypair(
                store=True,
                label=label,
                private_template={Attribute.EXTRACTABLE: False, Attribute.SENSITIVE: True},
            )
        public = self.ed25519_public_key(label)
        assert public is not None
        return public

    def sign_ed25519(self, label: str, message: bytes) -> bytes:
        with self._lock:
            try:
                signature: bytes = self._private(label).sign(message, mechanism=Mechanism.EDDSA)
            except PKCS11Error as exc:
                raise TokenError(f"the token refused to sign with {label!r}: {exc!r}") from exc
        return signature


@dataclass(frozen=True)
class TokenSigner:
    """A signer whose Ed25519 private key is on a token, under its certificate."""

    token: Token
    label: str
    certificate: x509.Certificate

    def sign(self, message: bytes) -> bytes:
        return self.token.sign_ed25519(self.label, message)

    @cached_property
    def certificate_der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)
