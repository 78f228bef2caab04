"""Creating accounts and changing passwords."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.base.errors import Conflict, NotFound, ValidationError
from ledger.log.projection import read
from ledger.school.accounts.passwords import USERNAME, api_key_hash, hash_password
from ledger.school.accounts.tables import accounts
from ledger.school.rules import identity
from ledger.school.rules.policy import AccountKind
from ledger.school.years.tables import staff, students


@dataclass(frozen=True)
class NewAccount:
    username: str
    kind: AccountKind
    password: str | None  # shown once
    api_key: str | None  # shown once


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
    if not isinstance(username, str) or not USERNAME.match(username):
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
    hashed = await hash_password(secret) if secret else None
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
    """Replace an account's password (at least 10 characters)."""
    if len(password) < 10:
        raise ValidationError(
            "account.password",
            "mật khẩu cần ít nhất 10 ký tự",
            "a password has at least 10 characters",
            field="password",
        )
    hashed = await hash_password(password)
    async with engine.begin() as conn:
        await conn.execute(
            update(accounts)
            .where(accounts.c.school_id == school, accounts.c.username == username)
            .values(password_hash=hashed, updated_at=now)
        )
