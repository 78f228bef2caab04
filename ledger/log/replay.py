"""Rebuilding every projection from seq 1 into scratch tables and comparing digests with the live ones.

Replay runs in one REPEATABLE READ transaction, so the events it folds and the live tables it
compares come from the same snapshot. The scratch tables are session-local temporary tables with
the live tables' definition, so replay needs no write right on anything that lasts: the auditor role
can run it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.log import store
from ledger.log.projection import Projection, apply
from ledger.log.schema import EVENTS, READ_SCHEMA, Chain

SCRATCH = "pg_temp"
BATCH = 5_000


async def table_digest(conn: AsyncConnection, table: Table, schema: str, school: str | None) -> str:
    """SHA-256 over every row version of `table` in `schema` (ordered by primary key), hex."""
    keys = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
    where = "WHERE school_id = :school" if school is not None else ""
    digest = await conn.scalar(
        text(
            f"SELECT encode(sha256(convert_to(coalesce(string_agg("
            f"encode(sha256(convert_to(t::text, 'UTF8')), 'hex'), '' ORDER BY {keys}), ''), 'UTF8')), 'hex')"
            f' FROM {schema}."{table.name}" t {where}'
        ),
        {"school": school} if school is not None else {},
    )
    return str(digest)


@dataclass
class TableComparison:
    table: str
    live: str
    replayed: str

    @property
    def equal(self) -> bool:
        return self.live == self.replayed


@dataclass
class ReplayReport:
    events: int
    tables: list[TableComparison]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(t.equal for t in self.tables)

    def __add__(self, other: ReplayReport) -> ReplayReport:
        """Two chains' reports as one (the events log's read models and the access trail's)."""
        return ReplayReport(self.events + other.events, self.tables + other.tables, self.seconds + other.seconds)

    @property
    def different(self) -> list[str]:
        return [str(t.table) for t in self.tables if not t.equal]

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "seconds": round(self.seconds, 3),
            "tables": [
                {"table": t.table, "equal": t.equal, "live": t.live, "replayed": t.replayed} for t in self.tables
            ],
        }


async def replay(
    engine: AsyncEngine,
    projections: Sequence[Projection],
    school: str | None = None,
    chain: Chain = EVENTS,
) -> ReplayReport:
    started = time.perf_counter()
    tables = [table for projection in projections for table in projection.tables]
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            for table in tables:
                await conn.execute(
                    text(
                        f'CREATE TEMP TABLE "{table.name}" (LIKE {READ_SCHEMA}."{table.name}" INCLUDING ALL)'
                        " ON COMMIT DROP"
                    )
                )
            scratch = await conn.execution_options(schema_translate_map={READ_SCHEMA: SCRATCH})
            schools = [school] if school is not None else await store.school_ids(conn, chain)
            count = 0
            for current in schools:
                after = 0
                while batch := await store.select_events(conn, current, after=after, limit=BATCH, chain=chain):
                    await apply(scratch, projections, batch)
                    after = batch[-1].seq
                    count += len(batch)
            comparisons = [
                TableComparison(
                    table.name,
                    await table_digest(conn, table, READ_SCHEMA, school),
                    await table_digest(conn, table, SCRATCH, school),
                )
                for table in tables
            ]
    return ReplayReport(count, comparisons, time.perf_counter() - started)
