"""The table definitions queries use (ledger/log/schema.py and the projections) agree with what the
migrations create, so neither can drift from the other unnoticed."""

from __future__ import annotations

import re

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, pool

from audit.trail import ACCESS_PROJECTIONS
from ledger.app.db import sqlalchemy_url
from ledger.app.limits import attempt_counters  # noqa: F401 - declares its table
from ledger.log.schema import LEDGER_SCHEMA, READ_SCHEMA, metadata
from ledger.school.accounts.tables import accounts  # noqa: F401 - declares its table
from ledger.school.readmodels import PROJECTIONS
from ledger.witness import tables as witness_tables  # noqa: F401 - declares the witness's tables

PARTITION = re.compile(r"_p\d\d$")
DECLARED = {t.name for p in (*PROJECTIONS, *ACCESS_PROJECTIONS) for t in p.tables} | {
    "events",
    "checkpoints",
    "access_log",
    "access_checkpoints",
    "accounts",
    "revoked_tokens",
    "documents",
    "cosignatures",
    "attempt_counters",
}


WITNESS = {"witness_logs", "witness_checkpoints", "witness_evidence"}  # the witness role's own state, not per school


def test_migrations_create_exactly_the_declared_tables(database_url: str) -> None:
    declared = DECLARED | WITNESS

    def include(obj: object, name: str | None, kind: str, reflected: bool, compare_to: object) -> bool:
        if kind == "table":
            schema = getattr(obj, "schema", None)
            return schema in {LEDGER_SCHEMA, READ_SCHEMA} and name in declared
        return True

    engine = create_engine(sqlalchemy_url(database_url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"include_schemas": True, "include_object": include, "compare_type": True}
            )
            diffs = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert diffs == []


def test_every_table_is_partitioned_by_school_and_a_school_query_reads_one_partition(database_url: str) -> None:
    """Province scale: every table of the ledger and its read models is partitioned by hash of
    school_id, so the hot queries of one school (its head, its read models, its accounts) read one
    partition, and a sharded PostgreSQL can take the tables as they are."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        plain = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname IN ('hocba', 'hocba_read') AND c.relkind = 'r' AND NOT c.relispartition"
        ).fetchall()
        assert [name for (name,) in plain if name in DECLARED] == []  # (tests may add tables of their own)
        keys = conn.execute(
            "SELECT c.relname, pg_get_partkeydef(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname IN ('hocba', 'hocba_read') AND c.relkind = 'p'"
        ).fetchall()
        assert {name for name, key in keys if key == "HASH (school_id)"} == DECLARED
        for query in (
            "SELECT seq, hash FROM hocba.events WHERE school_id = 'kp' ORDER BY seq DESC LIMIT 1",
            "SELECT * FROM hocba_read.assessments WHERE school_id = 'kp' AND year = '2025-2026' AND seq_to IS NULL",
            "SELECT * FROM hocba.accounts WHERE school_id = 'kp' AND api_key_hash = 'x'",
            "SELECT content FROM hocba.documents WHERE school_id = 'kp' AND sha256 = 'x'",
        ):
            plan = "\n".join(row[0] for row in conn.execute(f"EXPLAIN {query}"))
            scanned = set(re.findall(r" on (\w+_p\d\d)\b", plan))
            assert len(scanned) == 1, plan
