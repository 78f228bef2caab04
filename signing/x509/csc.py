"""A key at a remote-signing service, over the Cloud Signature Consortium API (CSC v1), through
pyHanko's CSC client: the service holds the key; the signer authorises a number of signatures over
given hashes (`credentials/authorize`, with `numSignatures` and the hashes), then has them all made
in one request (`signatures/signHash`). A whole class is one authorisation, or as few as the
service's limit of signatures per authorisation (`multisign`) allows."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers import csc_signer

from signing.x509.signers import SignerError

SIGN_TIMEOUT = 120


class AuthorisationRefused(SignerError):
    """The service refused to authorise the signatures: the PIN or OTP is wrong, expired or locked."""


def _certificate(asn1: asn1_x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(asn1.dump())


class _Authorisation(csc_signer.CSCAuthorizationManager):
    """Asks the service for the signature activation data over exactly the hashes about to be signed,
    once per batch, with the signer's PIN or OTP where the credential asks for one (explicit
    authorisation); `count` tells how many authorisations were asked."""

    def __init__(
        self,
        info: csc_signer.CSCServiceSessionInfo,
        credential: csc_signer.CSCCredentialInfo,
        http: Any,
        pin: str | None = None,
        otp: str | None = None,
    ):
        super().__init__(info, credential)
        self.http = http
        self.count = 0
        self.refused: str | None = None  # why the service refused the last authorisation
        self._pin, self._otp = pin, otp

    async def authorize_signature(self, hash_b64s: list[str]) -> csc_signer.CSCAuthorizationInfo:
        request = self.format_csc_auth_request(
            num_signatures=len(hash_b64s), hash_b64s=hash_b64s, pin=self._pin, otp=self._otp
        )
        url = self.csc_session_info.endpoint_url("credentials/authorize")  # type: ignore[no-untyped-call]
        self.count += 1
        try:
            async with self.http.post(
                url, headers=self.auth_headers, json=request, raise_for_status=True, timeout=_timeout()
            ) as response:
                answer = await response.json()
        except aiohttp.ClientError as exc:
            # the request's body (with the PIN) is never part of the message
            self.refused = _status(exc)
            raise SigningError(f"the remote-signing service refused the authorisation: {self.refused}") from None
        return self.parse_csc_auth_response(answer)


def _status(exc: aiohttp.ClientError) -> str:
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"{exc.status} {exc.message}"
    return type(exc).__name__


def _timeout() -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=SIGN_TIMEOUT)


@dataclass
class CscKey:
    """A credential at a CSC remote-signing service: its base URL (before `/csc/v1`), the credential's
    id, the bearer token the service issued, and the signer's PIN or OTP for the credential's
    authorisation (kept in memory for the batch only, never shown). Use it as an async context manager."""

    service_url: str
    credential_id: str
    token: str | None = field(default=None, repr=False)
    pin: str | None = field(default=None, repr=False)
    otp: str | None = field(default=None, repr=False)
    _http: Any = field(default=None, init=False, repr=False)
    _auth: _Authorisation | None = field(default=None, init=False, repr=False)

    async def __aenter__(self) -> CscKey:
        self._http = aiohttp.ClientSession()
        info = csc_signer.CSCServiceSessionInfo(
            self.service_url.rstrip("/"), self.credential_id, oauth_token=self.token
        )
        try:
            credential = await csc_signer.fetch_certs_in_csc_credential(self._http, info)
        except SigningError as exc:
            await self._http.close()
            raise SignerError(
                f"the remote-signing service at {self.service_url} gives no credential {self.credential_id!r}: "
                f"{exc.__cause__ or exc}"
            ) from None
        self._auth = _Authorisation(info, credential, self._http, self.pin, self.otp)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.close()

    @property
    def _authorisation(self) -> _Authorisation:
        if self._auth is None:
            raise SignerError("the remote-signing credential is not open")
        return self._auth

    @property
    def authorisations(self) -> int:
        """How many authorisations were asked of the service so far."""
        return self._authorisation.count

    @property
    def certificate(self) -> x509.Certificate:
        return _certificate(self._authorisation.credential_info.signing_cert)

    @property
    def chain(self) -> Sequence[x509.Certificate]:
        credential = self._authorisation.credential_info
        return [_certificate(c) for c in credential.chain if c.dump() != credential.signing_cert.dump()]

    def pdf_signer(self, batch_size: int = 1) -> csc_signer.CSCSigner:
        return csc_signer.CSCSigner(self._http, self._authorisation, sign_timeout=SIGN_TIMEOUT, batch_size=batch_size)

    async def sign_many(self, messages: Sequence[bytes]) -> list[bytes]:
        """Every message in one authorisation, or in as few as the service's `multisign` allows."""
        limit = self.batch_limit(len(messages))
        signatures: list[bytes] = []
        for start in range(0, len(messages), limit):
            chunk = messages[start : start + limit]
            signer = self.pdf_signer(batch_size=len(chunk))
            try:
                signatures += await asyncio.gather(*(signer.async_sign_raw(m, "sha256") for m in chunk))
            except (SigningError, aiohttp.ClientError) as exc:
                raise self.failure(exc) from None
        return signatures

    def batch_limit(self, count: int) -> int:
        """How many of `count` signatures one authorisation may cover: the service's `multisign`."""
        return max(1, self._authorisation.credential_info.max_batch_size or count or 1)

    def failure(self, exc: Exception) -> SignerError:
        """What a failed signing at the service was: the authorisation refused, or another failure."""
        if self._authorisation.refused is not None:
            return AuthorisationRefused(
                f"the remote-signing service refused the authorisation: {self._authorisation.refused}"
            )
        return SignerError(f"the remote-signing service did not sign: {exc}")
