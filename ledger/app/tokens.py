"""Short-lived signed access tokens (HS256 JWT) and signed login challenges for certificate login
(Điều 10.2), with the secret they are signed with."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509

from ledger.base.clock import VN_TZ, Clock
from ledger.base.errors import AuthenticationFailed
from ledger.base.settings import Settings
from ledger.school.rules.policy import AccountKind
from signing.x509.certs import certificate_problems, san_uris, signature_valid
from signing.x509.names import staff_uri

TOKEN_TTL = timedelta(minutes=15)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def token_secret(settings: Settings) -> bytes:
    """HOCBA_TOKEN_SECRET (hex), or a random key kept in HOCBA_HOME/token.key (made on first use)."""
    if settings.token_secret:
        return bytes.fromhex(settings.token_secret)
    path = settings.home / "token.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
    return Path(path).read_bytes()


@dataclass(frozen=True)
class Claims:
    username: str
    school: str
    kind: AccountKind
    expires: datetime
    jti: str = ""  # the token's own name, by which signing out revokes it
    issued: float | None = None  # seconds since the epoch (`iat`): a password changed later ends the token


class Tokens:
    """Short-lived access tokens: JWS compact serialisation, HS256 (RFC 7515, 7519)."""

    def __init__(self, secret: bytes, clock: Clock, ttl: timedelta = TOKEN_TTL) -> None:
        self.secret, self.clock, self.ttl = secret, clock, ttl

    def _sign(self, signing_input: bytes) -> bytes:
        return hmac.new(self.secret, signing_input, hashlib.sha256).digest()

    def issue(self, username: str, school: str, kind: AccountKind) -> tuple[str, datetime]:
        now = self.clock.now()
        expires = now + self.ttl
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = {
            "iss": "hocba-ledger",
            "sub": username,
            "sch": school,
            "knd": kind.value,
            "iat": round(now.timestamp(), 6),  # a NumericDate may have a fraction (RFC 7519 §2)
            "exp": int(expires.timestamp()),
            "jti": secrets.token_hex(8),
        }
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{header}.{body}".encode()
        return f"{header}.{body}.{_b64(self._sign(signing_input))}", expires

    def read(self, token: str) -> Claims:
        try:
            header, body, signature = token.split(".")
            if not hmac.compare_digest(_unb64(signature), self._sign(f"{header}.{body}".encode())):
                raise AuthenticationFailed("token.signature")
            if json.loads(_unb64(header)).get("alg") != "HS256":
                raise AuthenticationFailed("token.algorithm")
            claims = json.loads(_unb64(body))
            expires = datetime.fromtimestamp(int(claims["exp"]), VN_TZ)
            kind = AccountKind(claims["knd"])
            username, school, jti = str(claims["sub"]), str(claims["sch"]), str(claims["jti"])
            issued = float(claims["iat"]) if "iat" in claims else None
        except AuthenticationFailed:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError, OSError) as exc:
            # not a JSON object, an expiry beyond any date: a forged or broken token, never a server error
            raise AuthenticationFailed("token.malformed") from exc
        if expires <= self.clock.now():
            raise AuthenticationFailed("token.expired")
        return Claims(username, school, kind, expires, jti, issued)


class Challenges:
    """Signed, expiring login challenges: the server keeps no state until the answer comes back."""

    def __init__(self, secret: bytes, clock: Clock, ttl: timedelta = timedelta(minutes=2)) -> None:
        self.secret, self.clock, self.ttl = secret, clock, ttl

    def issue(self, school: str, username: str) -> str:
        expires = int((self.clock.now() + self.ttl).timestamp())
        body = f"hocba-login:{school}:{username}:{expires}:{secrets.token_hex(16)}"
        mac = hmac.new(self.secret, body.encode(), hashlib.sha256).hexdigest()
        return f"{body}:{mac}"

    def check(self, challenge: str, school: str, username: str) -> None:
        body, _, mac = challenge.rpartition(":")
        expected = hmac.new(self.secret, body.encode(), hashlib.sha256).hexdigest()
        parts = body.split(":")
        if (
            not hmac.compare_digest(mac.encode(), expected.encode())
            or len(parts) != 5
            or parts[1:3] != [school, username]
        ):
            raise AuthenticationFailed("challenge.invalid")
        if int(parts[3]) < self.clock.now().timestamp():
            raise AuthenticationFailed("challenge.expired")


def check_certificate_login(
    certificate_der: bytes,
    challenge: str,
    signature: bytes,
    school: str,
    staff_id: str,
    roots: list[x509.Certificate],
    now: datetime,
) -> None:
    try:
        cert = x509.load_der_x509_certificate(certificate_der)
    except ValueError:
        raise AuthenticationFailed("certificate.malformed") from None
    if not signature_valid(cert, challenge.encode(), signature):
        raise AuthenticationFailed("certificate.signature")
    if certificate_problems(cert, roots, now):
        raise AuthenticationFailed("certificate.untrusted")
    if staff_uri(school, staff_id) not in san_uris(cert):
        raise AuthenticationFailed("certificate.not_yours")
