"""Walking a chain: its rows streamed from the database, each hash recomputed and each body checked
to be the canonical encoding of the event its row holds. Shared by verification and checkpointing."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.format.canonical import CanonicalError, canonical_bytes
from ledger.format.envelope import GENESIS_HASH
from ledger.format.merkle import Frontier
from ledger.log.report import Finding
from ledger.log.schema import EVENTS, Chain

BATCH = 20_000


def _reject_float(kind: type, value: Any) -> Any:
    raise ValueError("a number with a fraction or an exponent")


_DECODER = msgspec.json.Decoder(float_hook=_reject_float)  # type: ignore[arg-type]
_ENCODER = msgspec.json.Encoder(order="sorted")
_TIME_SQL = "to_char(recorded_at AT TIME ZONE INTERVAL '+07:00', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+07:00'"

NOT_CANONICAL = "the body is not in canonical RFC 8785 form (a key twice, or another encoding of the same data)"
NOT_JSON = "the body is not JSON the ledger accepts (a fraction, an integer too large, invalid text)"
Row = tuple[int, bytes, bytes, bytes, str, str, str]  # seq, prev_hash, hash, body, event id, type, recorded_at


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
    if doc.get("seq") != seq or doc.get("school") != school:
        return doc, f"row stored as seq {seq} holds the body of seq {doc.get('seq')} of {doc.get('school')!r}"
    return doc, None


def canonical_problem(body: bytes, school: str, row: Row) -> str | None:
    """Why a body is not the canonical encoding of an event of this row, its indexed columns included,
    or None when it is."""
    seq, _, _, _, event_id, kind, recorded_at = row
    doc, problem = body_problem(body, school, seq)
    if problem is not None:
        return problem
    if (doc.get("id"), doc.get("type"), doc.get("recorded_at")) != (event_id, kind, recorded_at):
        return "indexed columns disagree with the hashed body"
    return None


COLUMN_CHUNK = 10_000  # seqs per digest of the indexed columns


def checked_batch(
    walker: ChainWalker, rows: Sequence[Sequence[Any]], school: str, columns: dict[int, list[Any]]
) -> tuple[list[bytes], list[tuple[int, str]]]:
    """`walker.feed` and the canonical-form and placement check of `canonical_problem`, in one loop
    over rows without their indexed columns: each body is hashed and linked, decoded once, must
    re-encode to its own bytes and name this school and seq. What the indexed columns must hold (id,
    type, recorded_at) is collected in `columns` by chunk of seqs, to be compared with the database's
    digests of the same chunks (`column_digests`). Returns the leaves and the bodies' problems."""
    sha = hashlib.sha256
    leaves: list[bytes] = []
    found: list[tuple[int, str]] = []
    expected, prev, findings = walker.expected, walker.prev, walker.findings
    chunk, pieces = -1, []
    for row in rows:
        seq, stored_prev, stored_hash, body = row[0], row[1], row[2], row[3]
        if seq != expected:
            findings.append(Finding(expected, "missing", f"events {expected}..{seq - 1} are missing"))
            prev = stored_prev  # the link across a gap cannot be checked; check what follows
        elif stored_prev != prev:
            findings.append(Finding(seq, "link", "prev_hash is not the hash of the event before it"))
        leaf = sha(b"\x00" + prev + body).digest()
        leaves.append(leaf)
        if leaf != stored_hash:
            findings.append(Finding(seq, "hash", "body does not match the stored hash"))
            leaf = stored_hash  # resynchronise so one bad row is reported once
        prev, expected = leaf, seq + 1
        doc, problem = body_problem(body, school, seq)
        if problem is not None:
            found.append((seq, problem))
        if doc is None:
            continue
        if (seq - 1) // COLUMN_CHUNK != chunk:
            chunk = (seq - 1) // COLUMN_CHUNK
            pieces = columns.setdefault(chunk, [])
        pieces += (doc.get("id"), doc.get("type"), doc.get("recorded_at"))
    walker.expected, walker.prev = expected, prev
    return leaves, found


async def column_digests(conn: AsyncConnection, school: str, upto: int, chain: Chain = EVENTS) -> dict[int, bytes]:
    """The database's SHA-256 of each chunk's indexed columns (id, type, recorded_at), computed by the
    server while the rows' bodies are walked, so the column check costs no second pass here."""
    result = await conn.exec_driver_sql(
        f"SELECT (seq - 1) / {COLUMN_CHUNK}, sha256(convert_to(string_agg("
        f"event_id::text || chr(31) || type || chr(31) || {_TIME_SQL}, chr(31) ORDER BY seq), 'UTF8'))"
        f" FROM {chain.events_sql} WHERE school_id = %(school)s AND seq <= %(upto)s GROUP BY 1",
        {"school": school, "upto": upto},
    )
    rows: list[Any] = list(result.all())
    return {int(chunk): bytes(digest) for chunk, digest in rows}


def mismatched_chunks(columns: dict[int, list[Any]], digests: dict[int, bytes]) -> list[int]:
    """The chunks whose indexed columns, as the database holds them, differ from what their bodies say.

    Both sides join every field with U+001F. The bodies' fields hold no U+001F (a UUID, a type name, a
    time the service wrote), so a column that held one would add a separator the bodies do not have:
    equal strings mean equal fields, row by row."""

    def digest(fields: list[Any]) -> bytes | None:
        try:
            return hashlib.sha256("\x1f".join(fields).encode()).digest()
        except TypeError:  # a body whose id, type or time is not text: its rows are compared one by one
            return None

    return sorted(
        chunk for chunk in set(columns) | set(digests) if digest(columns.get(chunk, [])) != digests.get(chunk)
    )


class ChainWalker:
    """Recomputes hashes along a chain segment and folds them into a Merkle frontier.

    Shared by verification and by checkpointing, which refuses to sign a segment that does not
    verify. Rows are (seq, prev_hash, hash, body, …) in seq order.
    """

    def __init__(self, after: int = 0, prev_hash: bytes = GENESIS_HASH, frontier: Frontier | None = None):
        self.expected = after + 1
        self.prev = prev_hash
        self.frontier = frontier or Frontier()
        self.findings: list[Finding] = []

    def feed(self, rows: Sequence[Sequence[Any]]) -> list[bytes]:
        """Check `rows`; return their recomputed hashes (the Merkle leaves), in order."""
        sha = hashlib.sha256
        leaves: list[bytes] = []
        expected, prev = self.expected, self.prev
        for row in rows:
            seq, stored_prev, stored_hash, body = row[0], row[1], row[2], row[3]
            if seq != expected:
                self.findings.append(Finding(expected, "missing", f"events {expected}..{seq - 1} are missing"))
                prev = stored_prev  # the link across a gap cannot be checked; check what follows
            elif stored_prev != prev:
                self.findings.append(Finding(seq, "link", "prev_hash is not the hash of the event before it"))
            leaf = sha(b"\x00" + prev + body).digest()
            if leaf != stored_hash:
                self.findings.append(Finding(seq, "hash", "body does not match the stored hash"))
                leaf_for_chain = stored_hash  # resynchronise so one bad row is reported once
            else:
                leaf_for_chain = leaf
            leaves.append(leaf)
            prev = leaf_for_chain
            expected = seq + 1
        self.expected, self.prev = expected, prev
        return leaves


async def stream_rows(
    conn: AsyncConnection,
    school: str,
    after: int,
    upto: int,
    batch: int = BATCH,
    chain: Chain = EVENTS,
    *,
    columns: bool = False,
) -> AsyncIterator[list[Any]]:
    """Rows of one chain segment through a server-side binary cursor (the caller holds a transaction),
    (seq, prev_hash, hash, body), with the indexed columns as text when `columns`. The next batch is
    asked for before the current one is handed over, so the server reads while the caller hashes."""
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    extra = f", event_id::text, type, {_TIME_SQL}" if columns else ""
    async with driver.cursor(name=f"walk_{id(conn):x}", binary=True) as cursor:
        await cursor.execute(
            f"SELECT seq, prev_hash, hash, body{extra} FROM {chain.events_sql}"
            " WHERE school_id = %s AND seq > %s AND seq <= %s ORDER BY seq",
            (school, after, upto),
        )
        pending = asyncio.ensure_future(cursor.fetchmany(batch))
        try:
            while rows := await pending:
                pending = asyncio.ensure_future(cursor.fetchmany(batch))
                yield rows
        finally:
            if not pending.done():
                await pending
