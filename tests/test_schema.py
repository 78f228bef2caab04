"""The table definitions queries use (ledger/schema.py and the projections) agree with what the
migrations create, so neither can drift from the other unnoticed."""

from __future__ import annotations

import re

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, pool

from audit.trail import ACCESS_PROJECTIONS
from ledger.db import sqlalchemy_url
from ledger.readmodels import PROJECTIONS
from ledger.schema import LEDGER_SCHEMA, READ_SCHEMA, metadata

PARTITION = re.compile(r"_p\d\d$")


def test_migrations_create_exactly_the_declared_tables(database_url: str) -> None:
    declared = {t.name for p in (*PROJECTIONS, *ACCESS_PROJECTIONS) for t in p.tables}
    declared |= {"events", "checkpoints", "access_log", "access_checkpoints", "accounts", "documents"}

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
