"""The storage contract: insert and select events and checkpoints. Nothing else touches the ledger
tables, and nothing here updates or deletes (the database refuses it anyway)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from sqlalchemy import ARRAY, Uuid, any_, cast, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.checkpoint import Checkpoint
from ledger.envelope import GENESIS_HASH, Event, decode
from ledger.merkle import Frontier
from ledger.schema import checkpoints, events


@dataclass(frozen=True, slots=True)
class Head:
    """The last event of a school's chain (seq 0 and the genesis hash for an empty chain)."""

    seq: int
    hash: bytes
    recorded_at: datetime | None


EMPTY_HEAD = Head(0, GENESIS_HASH, None)


class DuplicateEventId(Exception):
    """An inserted event id is already recorded for the school (a retried request)."""


_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"
_HEAD = "SELECT seq, hash, recorded_at FROM hocba.events WHERE school_id = %s ORDER BY seq DESC LIMIT 1"


def _driver(raw: Any) -> Any:
    return raw.driver_connection


async def lock_school(conn: AsyncConnection, school: str) -> Head:
    """Take the school's append lock until this transaction ends; return the head under the lock.

    A transaction-scoped advisory lock keyed by the school id: writers to one school queue here,
    writers to different schools never meet. The lock is released only at commit, so commit order
    equals seq order, and a reader following seq never sees seq N+1 before seq N is visible. The
    application role has no UPDATE right on ledger tables, so a lockable head row is not an option.

    Both statements go in one pipeline (one network round trip). That is safe: PostgreSQL still runs
    them one after the other, and in READ COMMITTED the head query takes its snapshot when it starts,
    which is after the lock is granted, so it sees every commit made before.
    """
    driver = _driver(await conn.get_raw_connection())
    async with driver.pipeline():
        await driver.execute(_LOCK, (f"school:{school}",))
        cursor = await driver.execute(_HEAD, (school,))
    row = await cursor.fetchone()
    return EMPTY_HEAD if row is None else Head(row[0], row[1], row[2])


async def read_head(conn: AsyncConnection, school: str) -> Head:
    """The head as of this statement, without taking the lock (readers, checkpoints)."""
    row = (
        await conn.execute(
            select(events.c.seq, events.c.hash, events.c.recorded_at)
            .where(events.c.school_id == school)
            .order_by(events.c.seq.desc())
            .limit(1)
        )
    ).first()
    return EMPTY_HEAD if row is None else Head(row.seq, row.hash, row.recorded_at)


_COPY_EVENTS = (
    "COPY hocba.events (school_id, seq, event_id, type, recorded_at, prev_hash, hash, body) FROM STDIN (FORMAT BINARY)"
)
_COPY_TYPES = ["text", "int8", "uuid", "text", "timestamptz", "bytea", "bytea", "bytea"]


async def insert_events(conn: AsyncConnection, batch: Sequence[Event]) -> None:
    """Insert sealed events with one binary COPY (the fastest path PostgreSQL offers for a batch)."""
    driver = _driver(await conn.get_raw_connection())
    try:
        async with driver.cursor() as cursor, cursor.copy(_COPY_EVENTS) as copy:
            copy.set_types(_COPY_TYPES)
            for e in batch:
                await copy.write_row((e.school, e.seq, e.event_id, e.type, e.recorded_at, e.prev_hash, e.hash, e.body))
    except psycopg.errors.UniqueViolation as exc:
        if "event_id" in (exc.diag.constraint_name or ""):
            raise DuplicateEventId(str(exc)) from exc
        raise


def _decode_rows(rows: Iterable[Any]) -> list[Event]:
    return [decode(body, prev, hash_) for body, prev, hash_ in rows]


async def select_events(
    conn: AsyncConnection, school: str, *, after: int = 0, upto: int | None = None, limit: int | None = None
) -> list[Event]:
    query = (
        select(events.c.body, events.c.prev_hash, events.c.hash)
        .where(events.c.school_id == school, events.c.seq > after)
        .order_by(events.c.seq)
    )
    if upto is not None:
        query = query.where(events.c.seq <= upto)
    if limit is not None:
        query = query.limit(limit)
    return _decode_rows(await conn.execute(query))


async def find_events(conn: AsyncConnection, school: str, ids: Sequence[UUID]) -> dict[UUID, Event]:
    rows = await conn.execute(
        select(events.c.body, events.c.prev_hash, events.c.hash).where(
            events.c.school_id == school, events.c.event_id == any_(cast(list(ids), ARRAY(Uuid)))
        )
    )
    return {e.event_id: e for e in _decode_rows(rows)}


async def school_ids(conn: AsyncConnection) -> list[str]:
    """Every school with at least one event (a skip scan over the primary key)."""
    rows = await conn.execute(
        text(
            "WITH RECURSIVE s(id) AS ("
            " SELECT min(school_id) FROM hocba.events"
            " UNION ALL"
            " SELECT (SELECT min(school_id) FROM hocba.events WHERE school_id > s.id)"
            " FROM s WHERE s.id IS NOT NULL"
            ") SELECT id FROM s WHERE id IS NOT NULL"
        )
    )
    return [row[0] for row in rows]


async def leaf_hashes(conn: AsyncConnection, school: str, upto: int, after: int = 0) -> list[bytes]:
    rows = await conn.execute(
        select(events.c.hash)
        .where(events.c.school_id == school, events.c.seq > after, events.c.seq <= upto)
        .order_by(events.c.seq)
    )
    return [row[0] for row in rows]


async def seq_at_time(conn: AsyncConnection, school: str, moment: datetime) -> int:
    """The last seq recorded at or before `moment` (recorded_at never decreases along a chain)."""
    value = await conn.scalar(
        select(func.max(events.c.seq)).where(events.c.school_id == school, events.c.recorded_at <= moment)
    )
    return int(value or 0)


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A checkpoint with what is kept beside it: the Merkle frontier at its size (to extend the tree
    without rehashing from seq 1) and the leaf hashes (leaves_from, tree_size] it added. Both are
    authenticated by the signed root: folding them must give it back."""

    checkpoint: Checkpoint
    frontier: Frontier
    leaves_from: int
    leaves: tuple[bytes, ...]


def _split_hashes(data: bytes) -> list[bytes]:
    return [data[i : i + 32] for i in range(0, len(data), 32)]


async def insert_checkpoint(
    conn: AsyncConnection,
    checkpoint: Checkpoint,
    frontier: Frontier,
    leaves_from: int,
    leaves: Sequence[bytes],
) -> None:
    await conn.execute(
        insert(checkpoints).values(
            school_id=checkpoint.school,
            tree_size=checkpoint.tree_size,
            root=checkpoint.root,
            signed_at=checkpoint.signed_at,
            signature=checkpoint.signature,
            certificate=checkpoint.certificate,
            frontier=b"".join(frontier.nodes),
            leaves_from=leaves_from,
            leaves=b"".join(leaves),
        )
    )


def _stored(row: Any) -> StoredCheckpoint:
    school, size, root, signed_at, signature, certificate, frontier, leaves_from, leaves = row
    nodes = _split_hashes(frontier)
    return StoredCheckpoint(
        Checkpoint(school, size, root, signed_at, signature, certificate),
        Frontier(size, nodes) if len(nodes) == size.bit_count() else Frontier(),
        leaves_from,
        tuple(_split_hashes(leaves)),
    )


_CHECKPOINT_COLUMNS = (
    checkpoints.c.school_id,
    checkpoints.c.tree_size,
    checkpoints.c.root,
    checkpoints.c.signed_at,
    checkpoints.c.signature,
    checkpoints.c.certificate,
    checkpoints.c.frontier,
    checkpoints.c.leaves_from,
    checkpoints.c.leaves,
)


async def select_checkpoints(conn: AsyncConnection, school: str) -> list[StoredCheckpoint]:
    """All checkpoints of a school, by tree size."""
    rows = await conn.execute(
        select(*_CHECKPOINT_COLUMNS).where(checkpoints.c.school_id == school).order_by(checkpoints.c.tree_size)
    )
    return [_stored(row) for row in rows]


async def latest_checkpoint(conn: AsyncConnection, school: str) -> StoredCheckpoint | None:
    row = (
        await conn.execute(
            select(*_CHECKPOINT_COLUMNS)
            .where(checkpoints.c.school_id == school)
            .order_by(checkpoints.c.tree_size.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else _stored(row)
