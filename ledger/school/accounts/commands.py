"""Opening and disabling accounts (ledger events, with their credentials), signing out, passwords."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.base.errors import Conflict, Forbidden, NotFound, ValidationError
from ledger.format.envelope import Actor, NewEvent
from ledger.log.append import Ledger, SchoolSession
from ledger.log.projection import read
from ledger.school.accounts.passwords import USERNAME, api_key_hash, hash_password
from ledger.school.accounts.tables import ACCOUNT_DISABLED, ACCOUNT_OPENED, accounts, revoked_tokens
from ledger.school.rules import identity
from ledger.school.rules.policy import AccountKind
from ledger.school.rules.roles import Role
from ledger.school.years.grants import PRIVILEGED as LEADING_ROLES
from ledger.school.years.grants import acting_holds
from ledger.school.years.tables import assignments, staff, students

# Accounts that read every record: opened only on the principal's own act (Điều 5.3c).
PRIVILEGED = (AccountKind.AUDITOR, AccountKind.INTEGRATION)


@dataclass(frozen=True)
class NewAccount:
    username: str
    kind: AccountKind
    password: str | None  # shown once
    api_key: str | None  # shown once
    privileged: bool = False  # reads every record, or belongs to someone who holds a leadership role


async def create_account(
    ledger: Ledger,
    school: str,
    username: str,
    kind: AccountKind,
    *,
    actor: Actor,
    staff_id: str | None = None,
    student_id: str | None = None,
    password: str | None = None,
    bootstrap: bool = False,
) -> NewAccount:
    """Open an account: an account.opened event and its credentials, in one transaction. Staff
    accounts name a registered staff member; guardian and student accounts a registered student;
    integration clients receive an API key instead of a password. The admin or the principal opens
    accounts; only the principal opens the accounts that read every record (auditors, integration
    clients) and those of the staff who hold or wait for a leadership role, so that no one but the
    principal can put an account in a leader's name (Điều 5.3c). `bootstrap`: the school's first
    account, opened by the operator of a school that never had one."""
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
    if kind is AccountKind.STAFF:
        staff_id = identity.staff_id(staff_id or username, "staff_id")
    elif kind in (AccountKind.GUARDIAN, AccountKind.STUDENT):
        student_id = identity.personal_id(student_id, "student_id")
    # The key names its school, so that finding its account reads one school's partition.
    key = f"hbk_{school}.{secrets.token_urlsafe(32)}" if kind is AccountKind.INTEGRATION else None
    secret = None if key else (password or secrets.token_urlsafe(12))
    hashed = await hash_password(secret) if secret else None  # slow on purpose: before the school's lock

    async def decide(session: SchoolSession) -> bool:
        conn = session.conn
        if staff_id is not None and not await read(conn, staff, school, staff_id=staff_id):
            raise NotFound("staff.unknown", "cán bộ chưa có hồ sơ", "the staff member has no record", field="staff_id")
        if student_id is not None and not await read(conn, students, school, student_id=student_id):
            raise NotFound("student.unknown", "học sinh chưa có hồ sơ", "the student has no record", field="student_id")
        exists = await conn.scalar(
            select(func.count())
            .select_from(accounts)
            .where(accounts.c.school_id == school, accounts.c.username == username)
        )
        if exists:
            raise Conflict("account.exists", "tài khoản đã tồn tại", "the account already exists", field="username")
        privileged = kind in PRIVILEGED or await _leads(session, staff_id)
        if not bootstrap:
            _entitled(actor, privileged, f"Tài khoản loại {kind.value}", f"A {kind.value} account")
            await acting_holds(session, actor)
        await _one_active(conn, school, kind, staff_id, student_id)
        payload = {"username": username, "kind": kind.value, "staff": staff_id, "student": student_id}
        await session.append([NewEvent(ACCOUNT_OPENED, payload, actor)])
        now = session.now()
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
        await conn.execute(insert(accounts).values(row))
        return privileged

    privileged = await ledger.execute(school, decide)
    return NewAccount(username, kind, None if password else secret, key, privileged)


async def _leads(session: SchoolSession, staff_id: str | None) -> bool:
    """Does the staff member hold, or wait for, a role the principal gives (or the principal's own),
    now or from a later day?"""
    if staff_id is None:
        return False
    today = session.now().date()
    rows = await read(session.conn, assignments, session.school, staff_id=staff_id)
    return any(Role(r["role"]) in LEADING_ROLES and (r["valid_to"] is None or r["valid_to"] >= today) for r in rows)


def _entitled(actor: Actor, privileged: bool, what_vi: str, what_en: str) -> None:
    """The principal acts on every account; the admin on all but the privileged ones."""
    allowed = {Role.PRINCIPAL.value} if privileged else {Role.PRINCIPAL.value, Role.ADMIN.value}
    if str(actor.role) not in allowed:
        raise Forbidden(
            "account.not_yours",
            f"{what_vi} này do Hiệu trưởng quản lý: tài khoản đọc mọi hồ sơ, hoặc của người giữ vai trò lãnh "
            "đạo, quản trị, văn thư.",
            f"{what_en} like this one is the principal's to manage: it reads every record, or belongs to "
            "someone who holds a leadership, admin or clerk role.",
            field="kind",
            rule="Điều 5.3c",
        )


async def _one_active(
    conn: AsyncConnection, school: str, kind: AccountKind, staff_id: str | None, student_id: str | None
) -> None:
    """One person, one active account (a unique index holds it under concurrency too): a second
    account bound to the principal's staff id would act and sign as the principal (Điều 5.3c, 24.3)."""
    t = accounts
    if staff_id is not None:
        taken = t.c.staff_id == staff_id
        who_vi, who_en, field = f"cán bộ {staff_id}", f"staff member {staff_id}", "staff_id"
    elif kind is AccountKind.STUDENT and student_id is not None:
        taken = (t.c.student_id == student_id) & (t.c.kind == AccountKind.STUDENT.value)
        who_vi, who_en, field = f"học sinh {student_id}", f"student {student_id}", "student_id"
    else:
        return
    holder = await conn.scalar(select(t.c.username).where(t.c.school_id == school, taken, t.c.disabled.is_(False)))
    if holder is not None:
        raise Conflict(
            "account.person_taken",
            f"{who_vi} đã có tài khoản đang hoạt động ({holder}); mỗi người chỉ có một tài khoản. Muốn đổi, hãy "
            "khóa tài khoản cũ trước.",
            f"{who_en} already has an active account ({holder}); one person has one account. Disable the old "
            "one first.",
            field=field,
        )


async def disable_account(ledger: Ledger, school: str, username: str, actor: Actor, reason: str | None = None) -> None:
    """Disable an account (the person left, or the account is compromised): an account.disabled
    event, and its password, API key and every token it holds stop working at the next request."""
    reason = identity.text(reason, "reason", required=False, limit=300)

    async def decide(session: SchoolSession) -> None:
        conn = session.conn
        row = (
            await conn.execute(
                select(accounts.c.disabled, accounts.c.kind, accounts.c.staff_id).where(
                    accounts.c.school_id == school, accounts.c.username == username
                )
            )
        ).first()
        if row is None:
            raise NotFound("account.unknown", "không có tài khoản này", "no such account", field="username")
        if row.disabled:
            return
        mine = actor.account is not None and actor.account == username  # one may always close one's own
        if not mine:
            leads = AccountKind(row.kind) in PRIVILEGED or await _leads(session, row.staff_id)
            _entitled(actor, leads, "Tài khoản", "An account")
            await acting_holds(session, actor)
        await session.append([NewEvent(ACCOUNT_DISABLED, {"username": username, "reason": reason}, actor)])
        await conn.execute(
            update(accounts)
            .where(accounts.c.school_id == school, accounts.c.username == username)
            .values(disabled=True, updated_at=session.now())
        )

    await ledger.execute(school, decide)


async def revoke_token(
    engine: AsyncEngine, school: str, username: str, jti: str, expires: datetime, now: datetime
) -> None:
    """End one token before it expires (signing out): refused from the next request on."""
    if not jti:
        return
    async with engine.begin() as conn:
        await conn.execute(
            pg_insert(revoked_tokens)
            .values(school_id=school, jti=jti, username=username, expires_at=expires, revoked_at=now)
            .on_conflict_do_nothing()
        )


async def set_password(engine: AsyncEngine, school: str, username: str, password: str, now: datetime) -> None:
    """Replace an account's password (at least 10 characters). Every token of the account issued
    until now is refused from its next request on: whoever had learnt the old password and signed in
    with it is signed out with everyone else."""
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
            .values(password_hash=hashed, updated_at=now, sessions_from=now)
        )
