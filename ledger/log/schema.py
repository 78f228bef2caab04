"""Table definitions used by queries. The DDL itself (partitions, triggers, roles, grants) lives in the
Alembic migrations; tests/log/test_schema.py checks that the two agree.

Every table is keyed by school first, so one school's chain never needs another school's rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)

LEDGER_SCHEMA = "hocba"
READ_SCHEMA = "hocba_read"

metadata = MetaData()


def _chain_tables(events_name: str, checkpoints_name: str) -> tuple[Table, Table]:
    events = Table(
        events_name,
        metadata,
        Column("school_id", Text, nullable=False),
        Column("seq", BigInteger, nullable=False),
        Column("event_id", Uuid, nullable=False),
        Column("type", Text, nullable=False),
        Column("recorded_at", DateTime(timezone=True), nullable=False),
        Column("prev_hash", LargeBinary, nullable=False),
        Column("hash", LargeBinary, nullable=False),
        Column("body", LargeBinary, nullable=False),
        PrimaryKeyConstraint("school_id", "seq", name=f"{events_name}_pkey"),
        UniqueConstraint("school_id", "event_id", name=f"{events_name}_event_id_key"),
        Index(f"{events_name}_type_idx", "school_id", "type", "seq"),
        Index(f"{events_name}_recorded_at_idx", "school_id", "recorded_at"),
        schema=LEDGER_SCHEMA,
    )
    checkpoints = Table(
        checkpoints_name,
        metadata,
        Column("school_id", Text, nullable=False),
        Column("tree_size", BigInteger, nullable=False),
        Column("root", LargeBinary, nullable=False),
        Column("signed_at", Text, nullable=False),
        Column("signature", LargeBinary, nullable=False),
        Column("certificate", LargeBinary, nullable=False),
        Column("frontier", LargeBinary, nullable=False),
        Column("leaves_from", BigInteger, nullable=False),
        Column("leaves", LargeBinary, nullable=False),
        Column("version", SmallInteger, nullable=False, server_default=text("1")),
        Column("head", LargeBinary),
        Column("prev_size", BigInteger),
        Column("prev_root", LargeBinary),
        Column("peer_size", BigInteger),
        Column("peer_root", LargeBinary),
        Column("note", LargeBinary),
        Column("time_stamp_token", LargeBinary),
        PrimaryKeyConstraint("school_id", "tree_size", name=f"{checkpoints_name}_pkey"),
        schema=LEDGER_SCHEMA,
    )
    return events, checkpoints


@dataclass(frozen=True)
class Chain:
    """One kind of hash-chained log, a chain per school: the ledger of events, or the access trail.
    Both share the format of docs/LEDGER-FORMAT.md; `name` goes into their checkpoints."""

    name: str
    events: Table
    checkpoints: Table

    @property
    def events_sql(self) -> str:
        return f"{LEDGER_SCHEMA}.{self.events.name}"


events, checkpoints = _chain_tables("events", "checkpoints")
access_log, access_checkpoints = _chain_tables("access_log", "access_checkpoints")
EVENTS = Chain("events", events, checkpoints)
ACCESS = Chain("access", access_log, access_checkpoints)


# Witnesses' cosignatures of the checkpoints of both logs (docs/LEDGER-FORMAT.md §9); append-only.
cosignatures = Table(
    "cosignatures",
    metadata,
    Column("school_id", Text, nullable=False),
    Column("log", Text, nullable=False),
    Column("tree_size", BigInteger, nullable=False),
    Column("witness", Text, nullable=False),
    Column("line", LargeBinary, nullable=False),
    Column("cosigned_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("school_id", "log", "tree_size", "witness", name="cosignatures_pkey"),
    schema=LEDGER_SCHEMA,
)


def projection_table(name: str, keys: list[Column[object]], values: list[Column[object]]) -> Table:
    """A versioned read-model table: each row version is valid for seq in [seq_from, seq_to).

    The current version has seq_to NULL; reading "as of seq N" selects
    seq_from <= N < coalesce(seq_to, infinity). Only projections write these tables.
    """
    key_names = [column.name for column in keys]
    table = Table(
        name,
        metadata,
        Column("school_id", Text, nullable=False),
        *keys,
        *values,
        Column("seq_from", BigInteger, nullable=False),
        Column("seq_to", BigInteger, nullable=True),
        PrimaryKeyConstraint("school_id", *key_names, "seq_from", name=f"{name}_pkey"),
        schema=READ_SCHEMA,
    )
    Index(
        f"{name}_current",
        table.c.school_id,
        *(table.c[k] for k in key_names),
        unique=True,
        postgresql_where=table.c.seq_to.is_(None),
    )
    table.info["key"] = tuple(key_names)
    table.info["values"] = tuple(column.name for column in values)
    return table
