"""Finding an account and the roles it holds today (role × assignment × time)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.base.errors import AuthenticationFailed
from ledger.log.projection import read
from ledger.school.accounts.passwords import api_key_hash, password_matches
from ledger.school.accounts.tables import account_records, accounts, revoked_tokens
from ledger.school.rules.policy import FIXED_ROLES, AccountKind, Grant, Principal
from ledger.school.rules.roles import Role
from ledger.school.schools.tables import schools
from ledger.school.signatures.tables import CLIENT_HOLDER, certificates
from ledger.school.years.tables import assignments, staff, students
from signing.x509.names import integration_uri


def _as_recorded() -> ColumnElement[bool]:
    """An account row that agrees with its ledger record: opened by an account.opened event, bound
    to the same person, of the same kind. A row written into the table behind the ledger's back has
    no record, and opens nothing."""
    r, a = account_records, accounts
    return and_(
        r.c.school_id == a.c.school_id,
        r.c.username == a.c.username,
        r.c.seq_to.is_(None),
        r.c.kind == a.c.kind,
        r.c.staff_id.is_not_distinct_from(a.c.staff_id),
        r.c.student_id.is_not_distinct_from(a.c.student_id),
    )


def _recorded_accounts() -> Select[Any]:
    """Accounts with their ledger record; `disabled` holds when either says so."""
    disabled = or_(accounts.c.disabled, account_records.c.disabled_by.is_not(None)).label("disabled")
    columns = [c for c in accounts.c if c.name != "disabled"]
    return select(*columns, disabled).join(account_records, _as_recorded())


async def account_row(conn: AsyncConnection, school: str, username: str) -> Any:
    """The account's row, or None when there is none or it has no ledger record."""
    query = _recorded_accounts().where(accounts.c.school_id == school, accounts.c.username == username)
    return (await conn.execute(query)).mappings().first()


async def active_usernames(conn: AsyncConnection, school: str) -> list[str]:
    """The usernames of the school's accounts that are not disabled, sorted."""
    query = select(accounts.c.username).where(accounts.c.school_id == school, accounts.c.disabled.is_(False))
    return sorted((await conn.execute(query)).scalars())


async def check_password(engine: AsyncEngine, school: str, username: str, password: str) -> AccountKind:
    """The kind of the account whose password this is; AuthenticationFailed otherwise."""
    async with engine.connect() as conn:
        account = await account_row(conn, school, username)
    usable = account is not None and not account["disabled"] and account["password_hash"]
    if not await password_matches(account["password_hash"] if usable else None, password):
        raise AuthenticationFailed("login.password" if usable else "login.unknown")
    return AccountKind(account["kind"])


async def account_by_api_key(engine: AsyncEngine, key: str) -> tuple[str, str, AccountKind]:
    """The school, username and kind of the active account this API key belongs to."""
    school = key.removeprefix("hbk_").partition(".")[0] if key.startswith("hbk_") and "." in key else ""
    if not school:
        raise AuthenticationFailed("api_key.unknown")
    async with engine.connect() as conn:
        query = _recorded_accounts().where(accounts.c.school_id == school, accounts.c.api_key_hash == api_key_hash(key))
        row = (await conn.execute(query)).mappings().first()
    if row is None or row["disabled"]:
        raise AuthenticationFailed("api_key.unknown")
    return row["school_id"], row["username"], AccountKind(row["kind"])


def named_integration_account(uris: list[str]) -> tuple[str, str] | None:
    """The (school, username) a client certificate's subjectAltName URIs name, if one does."""
    prefix = integration_uri("", "")[:-1]  # "urn:hocba:integration:"
    for uri in uris:
        school, colon, username = uri.removeprefix(prefix).partition(":")
        if uri.startswith(prefix) and colon and school and username:
            return school, username
    return None


async def account_by_client_certificate(
    engine: AsyncEngine, uris: list[str], cert_fingerprint: str
) -> tuple[str, str, bool]:
    """The school and username of the integration account that registered this client certificate
    (by its SHA-256 fingerprint) in the school's ledger, and whether it was revoked there since. The
    certificate's subjectAltName names the school, so one school's partition is read."""
    named = named_integration_account(uris)
    if named is None:
        raise AuthenticationFailed("client_cert.unknown")
    school, username = named
    async with engine.connect() as conn:
        registered = await read(conn, certificates, school, fingerprint=cert_fingerprint)
    if not registered or registered[0]["holder"] != f"{CLIENT_HOLDER}{username}":
        raise AuthenticationFailed("client_cert.unknown")
    return school, username, bool(registered[0]["revoked_at"])


async def load_principal(
    conn: AsyncConnection, school: str, username: str, kind: AccountKind, today: date, *, token: str | None = None
) -> Principal:
    """The principal with the roles it holds today: role × assignment × time. A token (its jti) that
    was signed out is refused."""
    if token and await conn.scalar(
        select(revoked_tokens.c.jti).where(revoked_tokens.c.school_id == school, revoked_tokens.c.jti == token)
    ):
        raise AuthenticationFailed("token.revoked")
    account = await account_row(conn, school, username)
    if account is None or account["disabled"] or AccountKind(account["kind"]) is not kind:
        raise AuthenticationFailed("account.unavailable")
    registered = await read(conn, schools, school)
    named = (registered[0]["name"] if registered else None) or school
    if kind is not AccountKind.STAFF:
        fixed = (Grant(FIXED_ROLES[kind]),)
        return Principal(username, school, kind, fixed, student_id=account["student_id"], school_name=named)
    t = assignments
    rows = await conn.execute(
        select(t).where(
            t.c.school_id == school,
            t.c.staff_id == account["staff_id"],
            t.c.seq_to.is_(None),
            t.c.pending.is_not(True),  # a grant waiting for the principal's approval grants nothing
            t.c.valid_from <= today,
            or_(t.c.valid_to.is_(None), t.c.valid_to >= today),
        )
    )
    grants = tuple(Grant(Role(r["role"]), r["year"], r["class_id"], r["subject"], r["term"]) for r in rows.mappings())
    return Principal(username, school, kind, grants, staff_id=account["staff_id"], school_name=named)


async def account_list(conn: AsyncConnection, school: str) -> list[dict[str, Any]]:
    """Every account the ledger records, with the person it is bound to and whether it is disabled;
    no credential (readable by auditors)."""
    people = {row["staff_id"]: row["full_name"] for row in await read(conn, staff, school)}
    students_named = {row["student_id"]: row["full_name"] for row in await read(conn, students, school)}
    return [
        {
            "username": row["username"],
            "kind": row["kind"],
            "staff": row["staff_id"],
            "student": row["student_id"],
            "name": people.get(row["staff_id"]) or students_named.get(row["student_id"]),
            "disabled": row["disabled_by"] is not None,
            "opened_by": row["opened_by"],
        }
        for row in await read(conn, account_records, school)
    ]
