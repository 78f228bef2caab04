"""Keys held by a PKCS#11 token (an HSM, a USB token, or SoftHSM2 in development and tests), through
python-pkcs11: the private key never leaves the token, so a copy of the server's files or of its
database is not a copy of the key. A key is found by its label.

The service's own Ed25519 keys sign checkpoints (`TokenSigner`); a staff member's ECDSA or RSA key
signs học bạ (`TokenKey`, a `signing.x509.signers.KeyHolder`), all of a class in one logged-in
session: one PIN entry."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pkcs11
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import PKCS11Error
from pkcs11.util.ec import encode_ecdsa_signature, encode_named_curve_parameters
from pyhanko.sign import signers as pyhanko_signers
from pyhanko.sign.pkcs11 import PKCS11Signer

from ledger.base.errors import HocbaError
from signing.x509.certs import asn1_certificate

ED25519_OID = "1.3.101.112"


class TokenError(HocbaError, RuntimeError):
    """The token cannot be opened, or holds no such key."""


_SESSIONS: dict[tuple[str, str], tuple[int, Any, threading.Lock]] = {}
_SESSIONS_LOCK = threading.Lock()


def _shared_session(module: str, label: str, pin: str | Callable[[], str]) -> tuple[Any, threading.Lock]:
    """One logged-in session per token per process, shared by every Token object of it: a PKCS#11
    login belongs to the whole process, so a second login to the same token is refused
    (CKR_USER_ALREADY_LOGGED_IN). A process made by fork opens its own."""
    with _SESSIONS_LOCK:
        found = _SESSIONS.get((module, label))
        if found is not None and found[0] == os.getpid():
            return found[1], found[2]
        token = pkcs11.lib(module).get_token(token_label=label)
        try:
            session = token.open(user_pin=pin() if callable(pin) else pin, rw=True)
        except pkcs11.exceptions.UserAlreadyLoggedIn:  # logged in by a session this process still holds
            session = token.open(rw=True)
        lock = threading.Lock()
        _SESSIONS[(module, label)] = (os.getpid(), session, lock)
        return session, lock


def _close_session(module: str, label: str) -> None:
    with _SESSIONS_LOCK:
        found = _SESSIONS.pop((module, label), None)
    if found is not None and found[0] == os.getpid():
        with found[2]:
            found[1].close()


@dataclass
class Token:
    """A PKCS#11 token: its module (the vendor's library), its label and the user PIN, or what asks
    for it (a prompt, called at most once per login). The process's one session to it is opened on
    first use and shared by its threads (python-pkcs11 sessions are not safe across a fork, so each
    service process opens its own)."""

    module: str
    label: str
    pin: str | Callable[[], str] = field(repr=False)

    def close(self) -> None:
        """Log out and close the process's session to the token."""
        _close_session(self.module, self.label)

    def _open(self) -> Any:
        return self._session_and_lock()[0]

    @property
    def _lock(self) -> threading.Lock:
        return self._session_and_lock()[1]

    def _session_and_lock(self) -> tuple[Any, threading.Lock]:
        try:
            return _shared_session(self.module, self.label, self.pin)
        except (PKCS11Error, RuntimeError, OSError) as exc:
            raise TokenError(f"cannot open the PKCS#11 token {self.label!r} ({self.module}): {exc!r}") from exc

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


def _ecdsa(private: Any) -> bool:
    return bool(private[Attribute.KEY_TYPE] == KeyType.EC)


@dataclass
class TokenKey:
    """A staff member's document key on a token (ECDSA or RSA), under the certificate the token holds
    with the same label (or the one given). Every signature of a batch is made in the process's one
    session: the PIN is asked once."""

    token: Token
    key_label: str
    given_certificate: x509.Certificate | None = None
    chain: Sequence[x509.Certificate] = ()

    @cached_property
    def certificate(self) -> x509.Certificate:
        if self.given_certificate is not None:
            return self.given_certificate
        with self.token._lock:
            try:
                found = self.token._open().get_objects(
                    {Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.LABEL: self.key_label}
                )
                values = [item[Attribute.VALUE] for item in found]
            except PKCS11Error as exc:
                raise TokenError(f"cannot read the certificate {self.key_label!r}: {exc!r}") from exc
        if len(values) != 1:
            raise TokenError(f"the token {self.token.label!r} holds no single certificate {self.key_label!r}")
        return x509.load_der_x509_certificate(bytes(values[0]))

    def _sign(self, messages: Sequence[bytes]) -> list[bytes]:
        with self.token._lock:
            private = self.token._private(self.key_label)
            try:
                if _ecdsa(private):  # the digest is made here: plain ECDSA is what every token offers
                    return [
                        encode_ecdsa_signature(private.sign(hashlib.sha256(m).digest(), mechanism=Mechanism.ECDSA))
                        for m in messages
                    ]
                return [private.sign(m, mechanism=Mechanism.SHA256_RSA_PKCS) for m in messages]
            except PKCS11Error as exc:
                raise TokenError(f"the token refused to sign with {self.key_label!r}: {exc!r}") from exc

    async def sign_many(self, messages: Sequence[bytes]) -> list[bytes]:
        return await asyncio.to_thread(self._sign, messages)

    def pdf_signer(self, batch_size: int = 1) -> pyhanko_signers.Signer:
        ecdsa = isinstance(self.certificate.public_key(), ec.EllipticCurvePublicKey)
        return PKCS11Signer(
            self.token._open(),
            key_label=self.key_label,
            signing_cert=asn1_certificate(self.certificate),
            ca_chain=[asn1_certificate(c) for c in self.chain],
            use_raw_mechanism=ecdsa,  # the digest made here, plain ECDSA on the token, as for the XML
        )
