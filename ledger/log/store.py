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

from ledger.base.errors import HocbaError
from ledger.format.checkpoint import Checkpoint, TreeRef
from ledger.format.envelope import GENESIS_HASH, Event, decode
from ledger.format.merkle import Frontier
from ledger.log.schema import EVENTS, Chain


@dataclass(frozen=True, slots=True)
class Head:
    """The last event of a school's chain (seq 0 and the genesis hash for an empty chain)."""

    seq: int
    hash: bytes
    recorded_at: datetime | None


EMPTY_HEAD = Head(0, GENESIS_HASH, None)


class DuplicateEventId(HocbaError):
    """An inserted event id is already recorded for the school (a retried request)."""


_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"
_HEAD = "SELECT seq, hash, recorded_at FROM {table} WHERE school_id = %s ORDER BY seq DESC LIMIT 1"


def append_lock(school: str, chain: Chain = EVENTS) -> tuple[str, tuple[str]]:
    """The statement (and its parameters) that takes the school's append lock on `chain`, for a
    writer that sends it in a pipeline of its own."""
    return _LOCK, (f"{chain.name}:{school}",)


def _driver(raw: Any) -> Any:
    return raw.driver_connection


async def lock_school(conn: AsyncConnection, school: str, chain: Chain = EVENTS) -> Head:
    """Take the school's append lock on `chain` until this transaction ends; return the head under it.

    A transaction-scoped advisory lock keyed by chain and school: writers to one school's chain queue
    here, writers to different schools never meet. The lock is released only at commit, so commit
    order equals seq order, and a reader following seq never sees seq N+1 before seq N is visible.
    The application role has no UPDATE right on ledger tables, so a lockable head row is not an
    option.

    Both statements go in one pipeline (one network round trip). That is safe: PostgreSQL still runs
    them one after the other, and in READ COMMITTED the head query takes its snapshot when it starts,
    which is after the lock is granted, so it sees every commit made before.
    """
    driver = _driver(await conn.get_raw_connection())
    async with driver.pipeline():
        await driver.execute(_LOCK, (f"{chain.name}:{school}",))
        cursor = await driver.execute(_HEAD.format(table=chain.events_sql), (school,))
    row = await cursor.fetchone()
    return EMPTY_HEAD if row is None else Head(row[0], row[1], row[2])


async def read_head(conn: AsyncConnection, school: str, chain: Chain = EVENTS) -> Head:
    """The head as of this statement, without taking the lock (readers, checkpoints)."""
    t = chain.events
    row = (
        await conn.execute(
            select(t.c.seq, t.c.hash, t.c.recorded_at).where(t.c.school_id == school).order_by(t.c.seq.desc()).limit(1)
        )
    ).first()
    return EMPTY_HEAD if row is None else Head(row.seq, row.hash, row.recorded_at)


_COPY_EVENTS = (
    "COPY {table} (school_id, seq, event_id, type, recorded_at, prev_hash, hash, body) FROM STDIN (FORMAT BINARY)"
)
_COPY_TYPES = ["text", "int8", "uuid", "text", "timestamptz", "bytea", "bytea", "bytea"]


async def insert_events(conn: AsyncConnection, batch: Sequence[Event], chain: Chain = EVENTS) -> None:
    """Insert sealed events with one binary COPY (the fastest path PostgreSQL offers for a batch)."""
    driver = _driver(await conn.get_raw_connection())
    try:
        async with driver.cursor() as cursor, cursor.copy(_COPY_EVENTS.format(table=chain.events_sql)) as copy:
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
    conn: AsyncConnection,
    school: str,
    *,
    after: int = 0,
    upto: int | None = None,
    limit: int | None = None,
    chain: Chain = EVENTS,
) -> list[Event]:
    t = chain.events
    query = select(t.c.body, t.c.prev_hash, t.c.hash).where(t.c.school_id == school, t.c.seq > after).order_by(t.c.seq)
    if upto is not None:
        query = query.where(t.c.seq <= upto)
    if limit is not None:
        query = query.limit(limit)
    return _decode_rows(await conn.execute(query))


async def find_events(
    conn: AsyncConnection, school: str, ids: Sequence[UUID], chain: Chain = EVENTS
) -> dict[UUID, Event]:
    t = chain.events
    rows = await conn.execute(
        select(t.c.body, t.c.prev_hash, t.c.hash).where(
            t.c.school_id == school, t.c.event_id == any_(cast(list(ids), ARRAY(Uuid)))
        )
    )
    return {e.event_id: e for e in _decode_rows(rows)}


async def events_at(conn: AsyncConnection, school: str, seqs: Sequence[int], chain: Chain = EVENTS) -> dict[int, Event]:
    """The events at these seqs, by seq (those that exist)."""
    if not seqs:
        return {}
    t = chain.events
    rows = await conn.execute(
        select(t.c.body, t.c.prev_hash, t.c.hash).where(t.c.school_id == school, t.c.seq.in_(sorted(set(seqs))))
    )
    return {e.seq: e for e in _decode_rows(rows)}


async def events_mentioning(
    conn: AsyncConnection,
    school: str,
    needle: str,
    *,
    before: int | None = None,
    after: int = 0,
    limit: int = 200,
    chain: Chain = EVENTS,
) -> list[Event]:
    """Events of a school whose stored body contains `needle` (a personal identifier, or a payload
    field as canonical JSON writes it, e.g. '"class":"6A1"'), newest first: an auditor's timeline.
    Reads the school's partition; `before` is the cursor of the previous page."""
    t = chain.events
    query = (
        select(t.c.body, t.c.prev_hash, t.c.hash)
        .where(t.c.school_id == school, t.c.seq > after, text("position(:needle in body) > 0"))
        .order_by(t.c.seq.desc())
        .limit(limit)
        .params(needle=needle.encode())
    )
    if before is not None:
        query = query.where(t.c.seq < before)
    return _decode_rows(await conn.execute(query))


async def school_ids(conn: AsyncConnection, chain: Chain = EVENTS) -> list[str]:
    """Every school with at least one entry in `chain` (a skip scan over the primary key)."""
    table = chain.events_sql
    rows = await conn.execute(
        text(
            "WITH RECURSIVE s(id) AS ("
            f" SELECT min(school_id) FROM {table}"
            " UNION ALL"
            f" SELECT (SELECT min(school_id) FROM {table} WHERE school_id > s.id)"
            " FROM s WHERE s.id IS NOT NULL"
            ") SELECT id FROM s WHERE id IS NOT NULL"
        )
    )
    return [row[0] for row in rows]


async def count_types(
    conn: AsyncConnection, school: str, types: Sequence[str], chain: Chain = EVENTS
) -> dict[str, int]:
    """How many entries of each of `types` the school's chain holds (none: absent)."""
    table = chain.events_sql
    rows = await conn.execute(
        text(f"SELECT type, count(*) FROM {table} WHERE school_id = :school AND type = ANY(:types) GROUP BY type"),
        {"school": school, "types": list(types)},
    )
    return {row[0]: int(row[1]) for row in rows}


async def leaf_hashes(
    conn: AsyncConnection, school: str, upto: int, after: int = 0, chain: Chain = EVENTS
) -> list[bytes]:
    t = chain.events
    rows = await conn.execute(
        select(t.c.hash).where(t.c.school_id == school, t.c.seq > after, t.c.seq <= upto).order_by(t.c.seq)
    )
    return [row[0] for row in rows]


async def seq_at_time(conn: AsyncConnection, school: str, moment: datetime, chain: Chain = EVENTS) -> int:
    """The last seq recorded at or before `moment` (recorded_at never decreases along a chain)."""
    t = chain.events
    value = await conn.scalar(select(func.max(t.c.seq)).where(t.c.school_id == school, t.c.recorded_at <= moment))
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
    chain: Chain = EVENTS,
) -> None:
    await conn.execute(
        insert(chain.checkpoints).values(
            school_id=checkpoint.school,
            tree_size=checkpoint.tree_size,
            root=checkpoint.root,
            signed_at=checkpoint.signed_at,
            signature=checkpoint.signature,
            certificate=checkpoint.certificate,
            frontier=b"".join(frontier.nodes),
            leaves_from=leaves_from,
            leaves=b"".join(leaves),
            version=checkpoint.version,
            head=checkpoint.head,
            prev_size=checkpoint.prev.tree_size if checkpoint.prev else None,
            prev_root=checkpoint.prev.root if checkpoint.prev else None,
            peer_size=checkpoint.peer.tree_size if checkpoint.peer else None,
            peer_root=checkpoint.peer.root if checkpoint.peer else None,
            note=checkpoint.note,
            time_stamp_token=checkpoint.time_stamp_token,
        )
    )


def _tree(size: int | None, root: bytes | None) -> TreeRef | None:
    return TreeRef(size, root) if size is not None and root is not None else None


def _stored(row: Any, chain: Chain) -> StoredCheckpoint:
    school, size, root, signed_at, signature, certificate, frontier, leaves_from, leaves, *more = row
    version, head, prev_size, prev_root, peer_size, peer_root, note, token = more
    nodes = _split_hashes(frontier)
    checkpoint = Checkpoint(
        school,
        size,
        root,
        signed_at,
        signature,
        certificate,
        chain.name,
        version,
        head,
        _tree(prev_size, prev_root),
        _tree(peer_size, peer_root),
        note,
        token,
    )
    return StoredCheckpoint(
        checkpoint,
        Frontier(size, nodes) if len(nodes) == size.bit_count() else Frontier(),
        leaves_from,
        tuple(_split_hashes(leaves)),
    )


def _checkpoint_columns(chain: Chain) -> tuple[Any, ...]:
    c = chain.checkpoints.c
    return (
        c.school_id,
        c.tree_size,
        c.root,
        c.signed_at,
        c.signature,
        c.certificate,
        c.frontier,
        c.leaves_from,
        c.leaves,
        c.version,
        c.head,
        c.prev_size,
        c.prev_root,
        c.peer_size,
        c.peer_root,
        c.note,
        c.time_stamp_token,
    )


async def select_checkpoints(conn: AsyncConnection, school: str, chain: Chain = EVENTS) -> list[StoredCheckpoint]:
    """All checkpoints of a school's chain, by tree size."""
    t = chain.checkpoints
    rows = await conn.execute(
        select(*_checkpoint_columns(chain)).where(t.c.school_id == school).order_by(t.c.tree_size)
    )
    return [_stored(row, chain) for row in rows]


async def latest_checkpoint(conn: AsyncConnection, school: str, chain: Chain = EVENTS) -> StoredCheckpoint | None:
    t = chain.checkpoints
    row = (
        await conn.execute(
            select(*_checkpoint_columns(chain)).where(t.c.school_id == school).order_by(t.c.tree_size.desc()).limit(1)
        )
    ).first()
    return None if row is None else _stored(row, chain)
