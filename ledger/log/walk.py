"""Walking a chain: its rows streamed from the database, each hash recomputed and each body checked
to be the canonical encoding of the event its row holds. Shared by verification and checkpointing."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import msgspec
import psycopg
import psycopg.conninfo
import psycopg.sql
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base.logs import get_logger
from ledger.format.canonical import CanonicalError, canonical_bytes
from ledger.format.envelope import GENESIS_HASH
from ledger.format.merkle import Frontier
from ledger.log.report import Finding
from ledger.log.schema import EVENTS, Chain

BATCH = 20_000
log = get_logger(__name__)


def _reject_float(kind: type, value: Any) -> Any:
    raise ValueError("a number with a fraction or an exponent")


_DECODER = msgspec.json.Decoder(float_hook=_reject_float)  # type: ignore[arg-type]
_ENCODER = msgspec.json.Encoder(order="sorted")
_TIME_SQL = "to_char(recorded_at AT TIME ZONE INTERVAL '+07:00', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+07:00'"

NOT_CANONICAL = "the body is not in canonical RFC 8785 form (a key twice, or another encoding of the same data)"
NOT_JSON = "the body is not JSON the ledger accepts (a fraction, an integer too large, invalid text)"


def body_problem(body: bytes, school: str, seq: int) -> tuple[Any, str | None]:
    """The body decoded (None when it is not a JSON object), and why it is not the canonical encoding
    of the event at `seq` of `school` (None when it is).

    Fast path: decoding refuses fractions, exponents and invalid UTF-8, and the encoder's sorted
    compact output must give back the very bytes (a duplicate key, other spacing, order or escapes
    would not). The RFC 8785 path decides only when keys hold characters above U+D7FF, which the
    two order differently."""
    try:
        doc = _DECODER.decode(body)
        canonical = _ENCODER.encode(doc) == body or canonical_bytes(doc) == body
    except (msgspec.DecodeError, msgspec.ValidationError, msgspec.EncodeError, CanonicalError, ValueError):
        return None, NOT_JSON
    if not isinstance(doc, dict):
        return None, "the body is not a JSON object"
    if not canonical:
        return doc, NOT_CANONICAL
    if type(doc.get("seq")) is not int or doc.get("seq") != seq or doc.get("school") != school:
        return doc, f"row stored as seq {seq} holds the body of seq {doc.get('seq')} of {doc.get('school')!r}"
    return doc, None


def canonical_problem(body: bytes, school: str, row: Sequence[Any]) -> tuple[str, str] | None:
    """What kind of problem a row's body has and what it is: not the canonical encoding of an event
    at this row ("canonical"), another seq's or school's ("reordered"), or an event whose id, type or
    recorded_at the row's indexed columns do not hold ("column"). None when there is none."""
    seq, _, _, _, event_id, kind, recorded_at = row
    doc, problem = body_problem(body, school, seq)
    if problem is not None:
        return ("reordered" if problem.startswith("row stored") else "canonical"), problem
    if (doc.get("id"), doc.get("type"), doc.get("recorded_at")) != (event_id, kind, recorded_at):
        return "column", "indexed columns disagree with the hashed body"
    return None


Problem = tuple[int, str, str]  # seq, kind, what is wrong


def checked_batch(walker: ChainWalker, rows: Sequence[Sequence[Any]], school: str) -> tuple[list[bytes], list[Problem]]:
    """Check a batch of rows (seq, prev_hash, hash, body, event id, type, recorded_at) that continues
    `walker`'s chain: each hash recomputed and linked, each body the canonical encoding of the event
    at its seq of this school, whose id, type and recorded_at the row's indexed columns hold, all in
    one pass. Returns the recomputed hashes (the Merkle leaves) and the bodies' problems; the chain's
    findings go to `walker`.

    A body that re-encodes to its own bytes and names this row passes in the loop itself; any other
    goes to `canonical_problem`, which decides (the exact RFC 8785 path included) and says why."""
    sha = hashlib.sha256
    decode, encode = _DECODER.decode, _ENCODER.encode
    leaves: list[bytes] = []
    add = leaves.append
    found: list[Problem] = []
    expected, prev, findings = walker.expected, walker.prev, walker.findings
    for row in rows:
        seq, stored_prev, stored_hash, body = row[0], row[1], row[2], row[3]
        if seq != expected:
            findings.append(Finding(expected, "missing", f"events {expected}..{seq - 1} are missing"))
            prev = stored_prev  # the link across a gap cannot be checked; check what follows
        elif stored_prev != prev:
            findings.append(Finding(seq, "link", "prev_hash is not the hash of the event before it"))
        leaf = sha(b"\x00" + prev + body).digest()
        add(leaf)
        if leaf != stored_hash:
            findings.append(Finding(seq, "hash", "body does not match the stored hash"))
            leaf = stored_hash  # resynchronise so one bad row is reported once
        prev, expected = leaf, seq + 1
        try:
            doc = decode(body)
            good = (
                encode(doc) == body
                and type(doc["seq"]) is int
                and doc["seq"] == seq
                and doc["school"] == school
                and doc["id"] == row[4]
                and doc["type"] == row[5]
                and doc["recorded_at"] == row[6]
            )
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError, TypeError, KeyError, IndexError):
            good = False
        if not good:
            problem = canonical_problem(body, school, row)
            if problem is not None:
                found.append((seq, *problem))
    walker.expected, walker.prev = expected, prev
    return leaves, found


class ChainWalker:
    """Where a walk along a chain segment stands: the seq and hash it expects next, the Merkle
    frontier of the hashes so far, and the chain's findings. Shared by verification and by
    checkpointing, which refuses to sign a segment that does not verify."""

    def __init__(self, after: int = 0, prev_hash: bytes = GENESIS_HASH, frontier: Frontier | None = None):
        self.expected = after + 1
        self.prev = prev_hash
        self.frontier = frontier or Frontier()
        self.findings: list[Finding] = []


async def stream_rows(
    conn: AsyncConnection,
    school: str,
    after: int,
    upto: int,
    batch: int = BATCH,
    chain: Chain = EVENTS,
    *,
    columns: bool = True,
    beside_from: int | None = None,
) -> AsyncIterator[list[Any]]:
    """Rows of one chain segment through a server-side binary cursor (the caller holds a transaction),
    (seq, prev_hash, hash, body), then the indexed columns as the body writes them (event id, type,
    recorded_at) unless `columns` is false. The next batch is asked for before the current one is
    handed over, so the server reads while the caller checks.

    With `beside_from`, a segment of at least that many rows is read on a second connection in the
    same snapshot (`_side_connection`), where the server gives one; the caller's transaction must be
    REPEATABLE READ."""
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    extra = f", event_id::text, type, {_TIME_SQL}" if columns else ""
    query = (
        f"SELECT seq, prev_hash, hash, body{extra} FROM {chain.events_sql}"
        " WHERE school_id = %s AND seq > %s AND seq <= %s ORDER BY seq"
    )
    params = (school, after, upto)
    side = await _side_connection(driver) if beside_from is not None and upto - after >= beside_from else None
    if side is not None:
        async for rows in _rows_beside(side, query, params, batch):
            yield rows
        return
    async with driver.cursor(name=f"walk_{id(conn):x}", binary=True) as cursor:
        await cursor.execute(query, params)
        pending = asyncio.ensure_future(cursor.fetchmany(batch))
        try:
            while rows := await pending:
                pending = asyncio.ensure_future(cursor.fetchmany(batch))
                yield rows
        finally:
            if not pending.done():
                await pending


def _same_server(info: psycopg.ConnectionInfo) -> str:
    """The connection string of the server `info` is connected to (not the list of servers it was
    chosen from), as the same role and with the same options."""
    chosen = ("target_session_attrs", "hostaddr")
    params = {key: value for key, value in info.get_parameters().items() if key not in chosen}
    params |= {"host": info.host, "port": str(info.port)}
    return psycopg.conninfo.make_conninfo(**params)


async def _side_connection(driver: Any) -> psycopg.Connection[Any] | None:
    """A second, blocking connection to the same server, as the same role, in the snapshot the
    caller's transaction exports (`SET TRANSACTION SNAPSHOT`, as parallel pg_dump does); None when the
    server does not give one (connection limit, authentication), and the caller reads on its own."""
    cursor = await driver.execute("SELECT pg_export_snapshot()")
    snapshot = (await cursor.fetchone())[0]
    info = driver.info

    def connect() -> psycopg.Connection[Any]:
        side = psycopg.connect(_same_server(info), password=info.password)
        try:
            side.isolation_level, side.read_only = psycopg.IsolationLevel.REPEATABLE_READ, True
            side.execute(psycopg.sql.SQL("SET TRANSACTION SNAPSHOT {}").format(psycopg.sql.Literal(snapshot)))
        except BaseException:
            side.close()
            raise
        return side

    try:
        return await asyncio.to_thread(connect)
    except psycopg.OperationalError as exc:
        log.warning("reading on the verifying connection itself", reason=str(exc).strip())
        return None


async def _rows_beside(
    side: psycopg.Connection[Any], query: str, params: tuple[Any, ...], batch: int
) -> AsyncIterator[list[Any]]:
    """A long segment's rows read on `side` in a worker thread. A blocking read takes whole buffers
    of rows while the thread waits without the interpreter's lock; an asyncio read wakes the event
    loop for every few kilobytes, which costs more than a microsecond a row."""
    pending: asyncio.Future[list[Any]] | None = None
    try:
        reader = side.cursor(name="walk", binary=True)
        await asyncio.to_thread(reader.execute, query, params)
        pending = asyncio.ensure_future(asyncio.to_thread(reader.fetchmany, batch))
        while rows := await pending:
            pending = asyncio.ensure_future(asyncio.to_thread(reader.fetchmany, batch))
            yield rows
    finally:
        if pending is not None and not pending.done():
            await asyncio.wait([pending])
        await asyncio.to_thread(side.close)
