"""Applying the Alembic migrations in migrations/ from code (`hocba db upgrade`, `hocba serve`)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, pool, text

import migrations
from ledger.app.db import sqlalchemy_url


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    config.attributes["database_url"] = url
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("postgresql://")).get_current_head()


def current_revision(url: str) -> str | None:
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)
    carried = _carried_accounts(url)
    if carried:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(_record_carried(url, carried))
        else:  # called from a coroutine: the recording runs on a loop of its own
            with ThreadPoolExecutor(1) as thread:
                thread.submit(asyncio.run, _record_carried(url, carried)).result()
    owner = _owner_engine(url)
    try:
        with owner.begin() as conn:  # every carried account is recorded: the list has done its work
            listed = conn.execute(text("SELECT to_regclass('hocba.accounts_carried')")).scalar()
            if listed and not conn.execute(text("SELECT count(*) FROM hocba.accounts_carried")).scalar():
                conn.execute(text("DROP TABLE hocba.accounts_carried"))
    finally:
        owner.dispose()


def _owner_engine(url: str) -> Engine:
    return create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)


def _carried_accounts(url: str) -> list[dict[str, Any]]:
    """The accounts revision 0014 found, still to be recorded on the ledger."""
    owner = _owner_engine(url)
    try:
        with owner.connect() as conn:
            if not conn.execute(text("SELECT to_regclass('hocba.accounts_carried')")).scalar():
                return []
            query = text(
                "SELECT a.school_id, a.username, a.kind, a.staff_id, a.student_id, a.disabled "
                "FROM hocba.accounts_carried c JOIN hocba.accounts a USING (school_id, username) ORDER BY 1, 2"
            )
            return [dict(row) for row in conn.execute(query).mappings()]
    finally:
        owner.dispose()


async def _record_carried(url: str, carried: list[dict[str, Any]]) -> None:
    """Accounts made before accounts were ledger events each get their account.opened event, by the
    service and marked carried over, so that they keep signing in. Only the upgrade that applies
    revision 0014 does this: a row added to the accounts table later is never carried."""
    from ledger.app.db import create_engine as async_engine
    from ledger.format.envelope import SYSTEM, NewEvent
    from ledger.log.projection import read
    from ledger.school.accounts.tables import ACCOUNT_DISABLED, ACCOUNT_OPENED, account_records
    from ledger.school.readmodels import school_ledger

    engine = async_engine(url)
    owner = _owner_engine(url)
    try:
        ledger = school_ledger(engine)
        for row in carried:
            school, username = row["school_id"], row["username"]
            async with engine.connect() as conn:
                known = await read(conn, account_records, school, username=username)
            if not known:
                payload = {
                    "username": username,
                    "kind": row["kind"],
                    "staff": row["staff_id"],
                    "student": row["student_id"],
                    "carried_over": True,
                }
                events = [NewEvent(ACCOUNT_OPENED, payload, SYSTEM)]
                if row["disabled"]:  # closed before: closed on the ledger too, not only in the table
                    reason = "tài khoản đã khóa trước khi ghi vào sổ cái / disabled before accounts were events"
                    events.append(NewEvent(ACCOUNT_DISABLED, {"username": username, "reason": reason}, SYSTEM))
                await ledger.append(school, events)
            with owner.begin() as conn:
                conn.execute(
                    text("DELETE FROM hocba.accounts_carried WHERE school_id = :s AND username = :u"),
                    {"s": school, "u": username},
                )
    finally:
        owner.dispose()
        await engine.dispose()


def is_current(url: str) -> bool:
    return current_revision(url) == head_revision()
