"""Invariant 1: no role can UPDATE, DELETE or TRUNCATE an event or a checkpoint; a trigger refuses it
even for the table owner and a superuser. The application role holds INSERT and SELECT only."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from ledger.app.runtime import Runtime
from ledger.format.envelope import NewEvent
from ledger.log.append import Ledger
from tests.support.helpers import ADMIN

STATEMENTS = {
    "update": "UPDATE hocba.{table} SET school_id = school_id WHERE school_id = %(school)s",
    "delete": "DELETE FROM hocba.{table} WHERE school_id = %(school)s",
    "truncate": "TRUNCATE hocba.{table}",
    "truncate a partition": "TRUNCATE hocba.{table}_p00, hocba.{table}_p07",
}


@pytest.fixture
async def populated(ledger: Ledger, runtime: Runtime, school: str) -> str:
    await ledger.append(school, [NewEvent("test.noted", {"n": i}, ADMIN) for i in range(3)])
    await runtime.checkpoint(school, clock=ledger.clock)
    return school


@pytest.mark.parametrize("table", ["events", "checkpoints"])
@pytest.mark.parametrize("statement", list(STATEMENTS))
@pytest.mark.parametrize("role", [None, "hocba_owner"])
def test_changes_are_refused_even_for_owner_and_superuser(
    superuser: psycopg.Connection, populated: str, table: str, statement: str, role: str | None
) -> None:
    if role:
        superuser.execute(f"SET ROLE {role}")
    with pytest.raises(errors.InsufficientPrivilege, match="append-only"):
        superuser.execute(STATEMENTS[statement].format(table=table), {"school": populated})
    superuser.execute("RESET ROLE")
    count = superuser.execute(f"SELECT count(*) FROM hocba.{table} WHERE school_id = %s", (populated,)).fetchone()
    assert count is not None and count[0] >= 1


@pytest.mark.parametrize("table", ["events", "checkpoints"])
def test_application_role_has_insert_and_select_only(superuser: psycopg.Connection, table: str) -> None:
    granted = {
        row[0]
        for row in superuser.execute(
            "SELECT privilege_type FROM information_schema.role_table_grants"
            " WHERE grantee = 'hocba_app' AND table_schema = 'hocba' AND table_name = %s",
            (table,),
        )
    }
    assert granted == {"INSERT", "SELECT"}


def test_application_role_cannot_update_even_before_the_trigger(superuser: psycopg.Connection, populated: str) -> None:
    superuser.execute("SET ROLE hocba_app")
    with pytest.raises(errors.InsufficientPrivilege, match="permission denied"):
        superuser.execute("UPDATE hocba.events SET type = 'x' WHERE school_id = %s", (populated,))


def test_auditor_role_reads_but_cannot_insert(superuser: psycopg.Connection, populated: str) -> None:
    superuser.execute("SET ROLE hocba_auditor")
    rows = superuser.execute("SELECT count(*) FROM hocba.events WHERE school_id = %s", (populated,)).fetchone()
    assert rows == (3,)
    with pytest.raises(errors.InsufficientPrivilege, match="permission denied"):
        superuser.execute(
            "INSERT INTO hocba.events SELECT * FROM hocba.events WHERE school_id = %s LIMIT 1", (populated,)
        )


@pytest.mark.parametrize("table", ["hocba.accounts", "hocba.accounts_p00"])
@pytest.mark.parametrize("column", ["password_hash", "api_key_hash"])
def test_the_auditor_role_never_reads_a_credential(superuser: psycopg.Connection, table: str, column: str) -> None:
    """Auditors see who has an account (Điều 20.3), never a password or API-key hash: not through the
    table, not through one of its partitions."""
    superuser.execute("SET ROLE hocba_auditor")
    try:
        if table == "hocba.accounts":
            assert superuser.execute("SELECT count(username) FROM hocba.accounts").fetchone() is not None
        with pytest.raises(errors.InsufficientPrivilege, match="permission denied"):
            superuser.execute(f"SELECT {column} FROM {table}")
    finally:
        superuser.rollback()
        superuser.execute("RESET ROLE")
