"""Authentication: accounts with argon2 password hashes, short-lived signed access tokens (HS256
JWT), API keys for integration clients, certificate login with a signed challenge (Điều 10.2), and
the rate limit on failed logins."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography import x509
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.base.clock import VN_TZ, Clock
from ledger.base.errors import Conflict, NotFound, ValidationError
from ledger.base.settings import Settings
from ledger.log.projection import read
from ledger.log.schema import accounts
from ledger.school.rules import identity
from ledger.school.rules.policy import FIXED_ROLES, AccountKind, Grant, Principal
from ledger.school.rules.roles import Role
from ledger.school.years import assignments, staff, students
from signing.x509.certs import certificate_problems, san_uris, signature_valid
from signing.x509.pki import staff_uri

TOKEN_TTL = timedelta(minutes=15)
LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_ATTEMPTS = 5
ADDRESS_ATTEMPTS = 20
# Every way to sign in counts towards the same limit: the API's password and certificate logins and
# the sign-in page.
LOGIN_ACTIONS = ("auth_token", "auth_certificate", "page_login_submit")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
# OWASP's minimum for argon2id: 19 MiB, two passes.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class AuthenticationFailed(Exception):
    """No valid credential: the response is 401 and says no more than that."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TooManyAttempts(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


# --- tokens ------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def token_secret(settings: Settings) -> bytes:
    """HOCBA_TOKEN_SECRET (hex), or a random key kept in HOCBA_HOME/token.key (made on first use)."""
    configured = os.environ.get("HOCBA_TOKEN_SECRET")
    if configured:
        return bytes.fromhex(configured)
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
            "iat": int(now.timestamp()),
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
            username, school = str(claims["sub"]), str(claims["sch"])
        except AuthenticationFailed:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise AuthenticationFailed("token.malformed") from exc
        if expires <= self.clock.now():
            raise AuthenticationFailed("token.expired")
        return Claims(username, school, kind, expires)


# --- accounts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewAccount:
    username: str
    kind: AccountKind
    password: str | None  # shown once
    api_key: str | None  # shown once


def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_account(
    engine: AsyncEngine,
    school: str,
    username: str,
    kind: AccountKind,
    *,
    staff_id: str | None = None,
    student_id: str | None = None,
    password: str | None = None,
    now: datetime,
) -> NewAccount:
    """Create an account. Staff accounts name a registered staff member; guardian and student
    accounts a registered student; integration clients receive an API key instead of a password."""
    if not isinstance(username, str) or not _USERNAME.match(username):
        raise ValidationError(
            "account.username",
            "tên đăng nhập gồm chữ thường, số, '.', '_', '@' hoặc '-'",
            "a username is lowercase letters, digits, '.', '_', '@' or '-'",
            field="username",
        )
    if password is not None and len(password) < 10:
        raise ValidationError(
            "account.password",
            "mật khẩu cần ít nhất 10 ký tự",
            "a password has at least 10 characters",
            field="password",
        )
    async with engine.connect() as conn:
        if kind is AccountKind.STAFF:
            staff_id = identity.staff_id(staff_id or username, "staff_id")
            if not await read(conn, staff, school, staff_id=staff_id):
                raise NotFound(
                    "staff.unknown", "cán bộ chưa có hồ sơ", "the staff member has no record", field="staff_id"
                )
        elif kind in (AccountKind.GUARDIAN, AccountKind.STUDENT):
            student_id = identity.personal_id(student_id, "student_id")
            if not await read(conn, students, school, student_id=student_id):
                raise NotFound(
                    "student.unknown", "học sinh chưa có hồ sơ", "the student has no record", field="student_id"
                )
    # The key names its school, so that finding its account reads one school's partition.
    key = f"hbk_{school}.{secrets.token_urlsafe(32)}" if kind is AccountKind.INTEGRATION else None
    secret = None if key else (password or secrets.token_urlsafe(12))
    hashed = await asyncio.to_thread(_hasher.hash, secret) if secret else None
    row = {
        "school_id": school,
        "username": username,
        "kind": kind.value,
        "staff_id": staff_id,
        "student_id": student_id,
        "password_hash": hashed,
        "api_key_hash": api_key_hash(key) if key else None,
        "disabled": False,
        "created_at": now,
        "updated_at": now,
    }
    async with engine.begin() as conn:
        exists = await conn.scalar(
            select(func.count())
            .select_from(accounts)
            .where(accounts.c.school_id == school, accounts.c.username == username)
        )
        if exists:
            raise Conflict("account.exists", "tài khoản đã tồn tại", "the account already exists", field="username")
        await conn.execute(insert(accounts).values(row))
    return NewAccount(username, kind, None if password else secret, key)


async def set_password(engine: AsyncEngine, school: str, username: str, password: str, now: datetime) -> None:
    if len(password) < 10:
        raise ValidationError(
            "account.password",
            "mật khẩu cần ít nhất 10 ký tự",
            "a password has at least 10 characters",
            field="password",
        )
    hashed = await asyncio.to_thread(_hasher.hash, password)
    async with engine.begin() as conn:
        await conn.execute(
            update(accounts)
            .where(accounts.c.school_id == school, accounts.c.username == username)
            .values(password_hash=hashed, updated_at=now)
        )


async def _account(conn: AsyncConnection, school: str, username: str) -> Any:
    return (
        (await conn.execute(select(accounts).where(accounts.c.school_id == school, accounts.c.username == username)))
        .mappings()
        .first()
    )


async def check_password(engine: AsyncEngine, school: str, username: str, password: str) -> AccountKind:
    async with engine.connect() as conn:
        account = await _account(conn, school, username)
    if account is None or account["disabled"] or not account["password_hash"]:
        await asyncio.to_thread(_burn_time)
        raise AuthenticationFailed("login.unknown")
    try:
        await asyncio.to_thread(_hasher.verify, account["password_hash"], password)
    except (VerificationError, InvalidHashError):
        raise AuthenticationFailed("login.password") from None
    return AccountKind(account["kind"])


def _burn_time() -> None:
    """Spend about as long as a real verification, so timing does not tell which usernames exist."""
    _hasher.hash("not a password")


async def account_by_api_key(engine: AsyncEngine, key: str) -> tuple[str, str, AccountKind]:
    school = key.removeprefix("hbk_").partition(".")[0] if key.startswith("hbk_") and "." in key else ""
    if not school:
        raise AuthenticationFailed("api_key.unknown")
    async with engine.connect() as conn:
        query = select(accounts).where(accounts.c.school_id == school, accounts.c.api_key_hash == api_key_hash(key))
        row = (await conn.execute(query)).mappings().first()
    if row is None or row["disabled"]:
        raise AuthenticationFailed("api_key.unknown")
    return row["school_id"], row["username"], AccountKind(row["kind"])


async def load_principal(
    conn: AsyncConnection, school: str, username: str, kind: AccountKind, today: date
) -> Principal:
    """The principal with the roles it holds today: role × assignment × time."""
    account = await _account(conn, school, username)
    if account is None or account["disabled"] or AccountKind(account["kind"]) is not kind:
        raise AuthenticationFailed("account.unavailable")
    if kind is not AccountKind.STAFF:
        return Principal(username, school, kind, (Grant(FIXED_ROLES[kind]),), student_id=account["student_id"])
    t = assignments
    rows = await conn.execute(
        select(t).where(
            t.c.school_id == school,
            t.c.staff_id == account["staff_id"],
            t.c.seq_to.is_(None),
            t.c.valid_from <= today,
            or_(t.c.valid_to.is_(None), t.c.valid_to >= today),
        )
    )
    grants = tuple(Grant(Role(r["role"]), r["year"], r["class_id"], r["subject"], r["term"]) for r in rows.mappings())
    return Principal(username, school, kind, grants, staff_id=account["staff_id"])


async def login_blocked(conn: AsyncConnection, school: str, username: str, client: str | None, since: datetime) -> int:
    """How many refused logins since `since` block this one: for this username, LOGIN_ATTEMPTS of
    them; from this address (a whole school may share one), ADDRESS_ATTEMPTS. 0 when not blocked."""
    from audit.trail import access_index as t

    def count(who: Any) -> Any:
        return select(func.count()).where(
            t.c.school_id == school, t.c.action.in_(LOGIN_ACTIONS), t.c.outcome == "denied", t.c.at >= since, who
        )

    by_user = int(await conn.scalar(count(t.c.username == username)) or 0)
    if by_user >= LOGIN_ATTEMPTS:
        return by_user
    by_address = int(await conn.scalar(count(t.c.client == client)) or 0) if client else 0
    return by_address if by_address >= ADDRESS_ATTEMPTS else 0


# --- certificate login (Điều 10.2) --------------------------------------------------------------


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
