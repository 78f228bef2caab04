"""Verification of a school's chain and checkpoints: the one entry point is `verify`.

For each school, in order:

1. Checkpoints: each signature verifies with its embedded certificate, and that certificate chains
   to a trusted root, was valid at the checkpoint's time and is the school's service certificate.
2. Chain: seq runs 1, 2, 3, … without gaps; each stored prev_hash equals the hash before it; each
   stored hash equals SHA-256(0x00 || prev_hash || body) recomputed from the body.
3. Merkle: the recomputed hashes, folded as RFC 9162 leaves, give each checkpoint's signed root at
   its tree size. This catches a rewritten tail even when its hashes were recomputed.
4. Truncation: no checkpoint covers more events than are stored.
5. Columns: the indexed columns (school, seq, id, type, recorded_at) agree with the hashed body.

The result is a VerifyReport, never a bare bool: every finding names the first sequence number it
concerns and what is wrong there.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.format.envelope import GENESIS_HASH
from ledger.format.merkle import Frontier
from ledger.log import store
from ledger.log.schema import EVENTS, Chain
from signing.x509.checkpoints import checkpoint_problems

Progress = Callable[[str, int, int], None]  # school, events done, events total
BATCH = 20_000


@dataclass(frozen=True, slots=True)
class Finding:
    seq: int
    problem: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "problem": self.problem, "message": self.message}


@dataclass
class SchoolResult:
    school: str
    events: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH.hex()
    checkpoints: int = 0
    latest_checkpoint: int | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first_bad_seq(self) -> int | None:
        return min((f.seq for f in self.findings), default=None)

    def to_json(self) -> dict[str, Any]:
        return {
            "school": self.school,
            "ok": self.ok,
            "events": self.events,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "checkpoints": self.checkpoints,
            "latest_checkpoint": self.latest_checkpoint,
            "first_bad_seq": self.first_bad_seq,
            "findings": [f.to_json() for f in sorted(self.findings, key=lambda f: f.seq)],
        }


@dataclass
class VerifyReport:
    schools: list[SchoolResult]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.schools)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": sum(s.events for s in self.schools),
            "seconds": round(self.seconds, 3),
            "schools": [s.to_json() for s in self.schools],
        }


class ChainWalker:
    """Recomputes hashes along a chain segment and folds them into a Merkle frontier.

    Shared by verification and by checkpointing, which refuses to sign a segment that does not
    verify. Rows are (seq, prev_hash, hash, body) in seq order.
    """

    def __init__(self, after: int = 0, prev_hash: bytes = GENESIS_HASH, frontier: Frontier | None = None):
        self.expected = after + 1
        self.prev = prev_hash
        self.frontier = frontier or Frontier()
        self.findings: list[Finding] = []

    def feed(self, rows: Sequence[tuple[int, bytes, bytes, bytes]]) -> list[bytes]:
        """Check `rows`; return their recomputed hashes (the Merkle leaves), in order."""
        sha = hashlib.sha256
        leaves: list[bytes] = []
        expected, prev = self.expected, self.prev
        for seq, stored_prev, stored_hash, body in rows:
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
    conn: AsyncConnection, school: str, after: int, upto: int, batch: int = BATCH, chain: Chain = EVENTS
) -> AsyncIterator[list[tuple[int, bytes, bytes, bytes]]]:
    """Rows of one chain segment through a server-side binary cursor (the caller holds a transaction)."""
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    async with driver.cursor(name=f"walk_{id(conn):x}", binary=True) as cursor:
        await cursor.execute(
            f"SELECT seq, prev_hash, hash, body FROM {chain.events_sql}"
            " WHERE school_id = %s AND seq > %s AND seq <= %s ORDER BY seq",
            (school, after, upto),
        )
        while rows := await cursor.fetchmany(batch):
            yield rows


# Step 5 compares bytes, not parsed JSON, so it costs the database little. It relies on the canonical
# layout of §3 of docs/LEDGER-FORMAT.md: top-level keys in order actor, id, payload, recorded_at,
# schema, school, seq, type, v. The first '"id":"' in a body is the top-level one (no string can
# hold an unescaped quote, and the actor object has no "id" key), and a body ends with
# ',"school":"S","seq":N,"type":"T","v":1}' (school ids and types need no escaping; a tampered
# column that would is reported all the same, as it then differs from the body).
_COLUMN_CHECK = """
    SELECT seq, body FROM (
        SELECT seq, body, event_id,
               convert_to(',"school":"' || school_id || '","seq":' || seq
                          || ',"type":"' || type || '","v":1}', 'UTF8') AS tail,
               convert_to('"recorded_at":"'
                          || to_char(recorded_at AT TIME ZONE INTERVAL '+07:00', 'YYYY-MM-DD"T"HH24:MI:SS.US')
                          || '+07:00","schema":', 'UTF8') AS stamp
        FROM {table} WHERE school_id = %(school)s AND seq <= %(upto)s
    ) e
    WHERE substr(body, octet_length(body) - octet_length(tail) + 1) <> tail
       OR substr(body, position(convert_to('"id":"', 'UTF8') in body) + 6, 36)
          <> convert_to(event_id::text, 'UTF8')
       OR position(stamp in body) = 0
    ORDER BY seq LIMIT 100
"""


async def _column_findings(engine: AsyncEngine, school: str, upto: int, chain: Chain) -> list[Finding]:
    findings = []
    query = _COLUMN_CHECK.replace("{table}", chain.events_sql)
    async with engine.connect() as conn:
        rows: list[Any] = list(await conn.exec_driver_sql(query, {"school": school, "upto": upto}))
        for seq, body in rows:
            try:
                doc = json.loads(body)
                placed = (doc.get("school"), doc.get("seq"))
            except ValueError:
                placed = (None, None)
            if placed != (school, seq):
                message = f"row stored as seq {seq} holds the body of seq {placed[1]} of {placed[0]!r}"
                findings.append(Finding(seq, "reordered", message))
            else:
                findings.append(Finding(seq, "column", "indexed columns disagree with the hashed body"))
    return findings


async def _localize(
    conn: AsyncConnection, stored: store.StoredCheckpoint, by_size: dict[int, store.StoredCheckpoint], chain: Chain
) -> int | None:
    """The exact first seq at which the chain departs from what checkpoint `stored` signed.

    The checkpoint keeps the leaf hashes it added after its predecessor. Extending the predecessor's
    frontier with them must give the signed root: then they are exactly what was signed, and the
    first stored hash that differs from them is where the chain was rewritten. None when the kept
    leaves are not authentic (they were altered too) and only the range can be named.
    """
    checkpoint = stored.checkpoint
    if stored.leaves_from == 0:
        frontier = Frontier()
    else:
        previous = by_size.get(stored.leaves_from)
        if previous is None or previous.frontier.root() != previous.checkpoint.root:
            return None
        frontier = previous.frontier.copy()
    frontier.extend(stored.leaves)
    if frontier.size != checkpoint.tree_size or frontier.root() != checkpoint.root:
        return None
    current = await store.leaf_hashes(
        conn, checkpoint.school, checkpoint.tree_size, after=stored.leaves_from, chain=chain
    )
    for offset, (signed, now) in enumerate(zip(stored.leaves, current, strict=False)):
        if signed != now:
            return stored.leaves_from + 1 + offset
    return None


async def verify_school(
    engine: AsyncEngine,
    school: str,
    trusted_roots: Sequence[x509.Certificate],
    progress: Progress | None = None,
    chain: Chain = EVENTS,
) -> SchoolResult:
    result = SchoolResult(school)
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            head = await store.read_head(conn, school, chain)
            stored = await store.select_checkpoints(conn, school, chain)
            result.head_seq, result.head_hash = head.seq, head.hash.hex()
            column_task = asyncio.create_task(_column_findings(engine, school, head.seq, chain))

            # Step 1: signatures and certificates.
            for item in stored:
                for problem in checkpoint_problems(item.checkpoint, trusted_roots):
                    result.findings.append(Finding(item.checkpoint.tree_size, "checkpoint-signature", problem))
            result.checkpoints = len(stored)
            result.latest_checkpoint = stored[-1].checkpoint.tree_size if stored else None

            # Steps 2 and 3: walk the chain, compare roots at every checkpoint size.
            pending = [item for item in stored if item.checkpoint.tree_size <= head.seq]
            mismatched: list[tuple[store.StoredCheckpoint, int]] = []
            walker = ChainWalker()
            last_good = 0
            async for rows in stream_rows(conn, school, 0, head.seq, chain=chain):
                leaves = walker.feed(rows)
                start = 0
                while pending and walker.frontier.size + len(leaves) - start >= pending[0].checkpoint.tree_size:
                    item = pending.pop(0)
                    cut = start + item.checkpoint.tree_size - walker.frontier.size
                    walker.frontier.extend(leaves[start:cut])
                    start = cut
                    if walker.frontier.root() == item.checkpoint.root:
                        last_good = item.checkpoint.tree_size
                    else:
                        mismatched.append((item, last_good))
                walker.frontier.extend(leaves[start:])
                result.events += len(rows)
                if progress:
                    progress(school, result.events, head.seq)
            result.findings += walker.findings

            by_size = {item.checkpoint.tree_size: item for item in stored}
            for item, good_before in mismatched:
                checkpoint = item.checkpoint
                inside = [f.seq for f in walker.findings if good_before < f.seq <= checkpoint.tree_size]
                first = min(inside) if inside else await _localize(conn, item, by_size, chain)
                result.findings.append(
                    Finding(
                        first if first is not None else good_before + 1,
                        "checkpoint",
                        f"the chain up to seq {checkpoint.tree_size} is not the one signed at "
                        f"{checkpoint.signed_at}"
                        + (
                            ""
                            if first is not None
                            else f"; the change lies in {good_before + 1}..{checkpoint.tree_size}"
                        ),
                    )
                )

            # Step 4: checkpoints that cover events no longer stored.
            for item in stored:
                checkpoint = item.checkpoint
                if checkpoint.tree_size > walker.frontier.size:
                    result.findings.append(
                        Finding(
                            walker.frontier.size + 1,
                            "truncated",
                            f"checkpoint signed {checkpoint.signed_at} covers {checkpoint.tree_size} events, "
                            f"but only {walker.frontier.size} are stored",
                        )
                    )
            # Step 5.
            result.findings += await column_task
    return result


async def verify(
    engine: AsyncEngine,
    trusted_roots: Sequence[x509.Certificate],
    schools: Sequence[str] | None = None,
    progress: Progress | None = None,
    chain: Chain = EVENTS,
) -> VerifyReport:
    started = time.perf_counter()
    if schools is None:
        async with engine.connect() as conn:
            schools = await store.school_ids(conn, chain)
    results = [await verify_school(engine, school, trusted_roots, progress, chain) for school in schools]
    return VerifyReport(results, time.perf_counter() - started)
