"""Verification of a school's two logs and their checkpoints: the one entry point is `verify`.

For each school and each log (the events, then the access trail), in one pass over the rows:

1. Chain: seq runs 1, 2, 3, … without gaps; each stored prev_hash equals the hash before it; each
   stored hash equals SHA-256(0x00 || prev_hash || body) recomputed from the body.
2. Canonical form: each body is exactly the RFC 8785 encoding of what it holds (no duplicate key, no
   other spacing, order or number form), and its school, seq, id, type and recorded_at are the row's.
3. Merkle: the recomputed hashes, folded as RFC 9162 leaves, give each checkpoint's signed root at its
   tree size. This catches a rewritten tail even when its hashes were recomputed.
4. Truncation: no checkpoint covers more events than are stored.

Then the checkpoints themselves (ledger.log.checks): their signatures and certificates, the chain
they form (a deleted one breaks it), the other log they name, their timestamps and signed notes, the
events still waiting for one past the policy's limit, the witnesses' quorum on the latest, and every
tree known outside this database (a client's checkpoint, a backup's, a receipt's, a witness's):
this database must hold it, not fork from it.

The result is a VerifyReport, never a bare bool. Every finding names the first sequence number it
concerns and what is wrong there; a checkpoint's fault is reported as the checkpoint's (its tree
size), never as a bad event.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from cryptography import x509
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.format.merkle import Frontier
from ledger.log import checks, store
from ledger.log.report import Finding, SchoolResult, VerifyPolicy, VerifyReport
from ledger.log.schema import ACCESS, EVENTS, Chain
from ledger.log.walk import ChainWalker, checked_batch, stream_rows

Progress = Callable[[str, int, int], None]  # school, events done, events total
BESIDE_FROM = 50_000  # entries from which a log's rows are read on a second connection (walk.stream_rows)


async def _walk(
    conn: AsyncConnection,
    result: SchoolResult,
    chain: Chain,
    stored: list[store.StoredCheckpoint],
    progress: Progress | None,
) -> tuple[ChainWalker, list[tuple[store.StoredCheckpoint, int]], list[Finding]]:
    """Steps 1 to 3 in one pass: the chain, the canonical bodies, the roots at every checkpoint size."""
    school = result.school
    pending = [item for item in stored if item.checkpoint.tree_size <= result.head_seq]
    mismatched: list[tuple[store.StoredCheckpoint, int]] = []
    canonical: list[Finding] = []
    walker = ChainWalker()
    last_good = 0
    async for rows in stream_rows(conn, school, 0, result.head_seq, chain=chain, beside_from=BESIDE_FROM):
        leaves, problems = checked_batch(walker, rows, school)
        canonical += [Finding(seq, kind, problem) for seq, kind, problem in problems]
        last_good = _fold(walker, leaves, pending, mismatched, last_good)
        result.events += len(rows)
        if progress:
            progress(school, result.events, result.head_seq)
    return walker, mismatched, canonical


def _fold(
    walker: ChainWalker,
    leaves: list[bytes],
    pending: list[store.StoredCheckpoint],
    mismatched: list[tuple[store.StoredCheckpoint, int]],
    last_good: int,
) -> int:
    """Fold a batch's leaves into the frontier, checking each checkpoint's root at its size."""
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
    return last_good


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
    policy: VerifyPolicy | None = None,
) -> SchoolResult:
    policy = policy or VerifyPolicy()
    result = SchoolResult(school, chain.name)
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            head = await store.read_head(conn, school, chain)
            stored = await store.select_checkpoints(conn, school, chain)
            result.head_seq, result.head_hash = head.seq, head.hash.hex()
            result.checkpoints = len(stored)
            result.latest_checkpoint = stored[-1].checkpoint.tree_size if stored else None

            walker, mismatched, canonical = await _walk(conn, result, chain, stored, progress)
            result.findings += walker.findings + canonical
            by_size = {item.checkpoint.tree_size: item for item in stored}
            for item, good_before in mismatched:
                checkpoint = item.checkpoint
                inside = [f.seq for f in walker.findings if good_before < f.seq <= checkpoint.tree_size]
                first = min(inside) if inside else await _localize(conn, item, by_size, chain)
                where = "" if first is not None else f"; the change lies in {good_before + 1}..{checkpoint.tree_size}"
                message = f"the chain up to seq {checkpoint.tree_size} is not the one signed at {checkpoint.signed_at}"
                result.findings.append(
                    Finding(first if first is not None else good_before + 1, "checkpoint", message + where)
                )
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
            result.findings += await checks.checkpoint_findings(conn, school, chain, stored, trusted_roots, policy)
            result.findings += await checks.anchor_findings(conn, school, chain, head.seq, stored, policy)
    return result


async def verify(
    engine: AsyncEngine,
    trusted_roots: Sequence[x509.Certificate],
    schools: Sequence[str] | None = None,
    progress: Progress | None = None,
    chains: Sequence[Chain] = (EVENTS, ACCESS),
    policy: VerifyPolicy | None = None,
) -> VerifyReport:
    """Verify both logs (or `chains`) of `schools` (default: every school that has entries)."""
    started = time.perf_counter()
    results = []
    for chain in chains:
        names = schools
        if names is None:
            async with engine.connect() as conn:
                names = await store.school_ids(conn, chain)
        for school in names:  # a school named is verified in every log, even one it has no entry in
            results.append(await verify_school(engine, school, trusted_roots, progress, chain, policy))
    return VerifyReport(results, time.perf_counter() - started)
