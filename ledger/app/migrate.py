"""Applying the Alembic migrations in migrations/ from code (`hocba db upgrade`, `hocba serve`)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool, text

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
    before = current_revision(url)
    command.upgrade(alembic_config(url), revision)
    owner = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        with owner.connect() as conn:
            carried_table = conn.execute(text("SELECT to_regclass('hocba.accounts_carried')")).scalar()
            carried = [dict(row) for row in conn.execute(text(_CARRIED)).mappings()] if carried_table else []
        if carried:
            _run(_record_carried(url, carried))
        if carried_table:  # every carried account is recorded: the list has done its work
            with owner.begin() as conn:
                conn.execute(text("DROP TABLE hocba.accounts_carried"))
        if before is not None and before < "0016" <= (current_revision(url) or ""):
            _run(_fold_new_read_models(url))
    finally:
        owner.dispose()


def _run(work: Coroutine[Any, Any, None]) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(work)
    else:  # called from a coroutine: the work runs on a loop of its own
        with ThreadPoolExecutor(1) as thread:
            thread.submit(asyncio.run, work).result()


async def _fold_new_read_models(url: str) -> None:
    """Read models a revision adds start empty: the events already recorded are folded into them, as
    a replay from seq 1 would, so that they agree with a replay at once (revision 0016: the notices
    owed to families)."""
    from ledger.app.db import create_engine as async_engine
    from ledger.log import store
    from ledger.log.projection import apply
    from ledger.school.notices.projection import PROJECTION as NOTICES

    engine = async_engine(url)
    try:
        async with engine.begin() as conn:
            for school in await store.school_ids(conn):
                after = 0
                while batch := await store.select_events(conn, school, after=after, limit=5000):
                    await apply(conn, [NOTICES], [e for e in batch if e.type in NOTICES.handlers])
                    after = batch[-1].seq
    finally:
        await engine.dispose()


# The accounts revision 0014 found, still to be recorded on the ledger.
_CARRIED = (
    "SELECT a.school_id, a.username, a.kind, a.staff_id, a.student_id, a.disabled "
    "FROM hocba.accounts_carried c JOIN hocba.accounts a USING (school_id, username) ORDER BY 1, 2"
)


async def _record_carried(url: str, carried: list[dict[str, Any]]) -> None:
    """Accounts made before accounts were ledger events each get their account.opened event, by the
    service and marked carried over, so that they keep signing in. Only the upgrade that applies
    revision 0014 does this: a row added to the accounts table later is never carried. An account
    already recorded (an upgrade cut short and run again) is not recorded twice."""
    from ledger.app.db import create_engine as async_engine
    from ledger.format.envelope import SYSTEM, NewEvent
    from ledger.log.projection import read
    from ledger.school.accounts.tables import ACCOUNT_DISABLED, ACCOUNT_OPENED, account_records
    from ledger.school.readmodels import school_ledger

    engine = async_engine(url)
    try:
        ledger = school_ledger(engine)
        for row in carried:
            school, username = row["school_id"], row["username"]
            async with engine.connect() as conn:
                if await read(conn, account_records, school, username=username):
                    continue
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
    finally:
        await engine.dispose()


def is_current(url: str) -> bool:
    return current_revision(url) == head_revision()
