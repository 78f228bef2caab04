"""Making checkpoints, and the proofs that tie events and checkpoints together."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.base.clock import Clock, SystemClock
from ledger.base.errors import HocbaError
from ledger.base.logs import get_logger
from ledger.format import merkle
from ledger.format.checkpoint import Checkpoint, CheckpointSigner, sign_checkpoint
from ledger.format.envelope import GENESIS_HASH
from ledger.format.merkle import Frontier
from ledger.log import store
from ledger.log.schema import EVENTS, Chain
from ledger.log.verify import ChainWalker, Finding, stream_rows

log = get_logger(__name__)


class LedgerCorrupted(HocbaError, RuntimeError):
    """The stored chain does not verify; no checkpoint is signed over it."""

    def __init__(self, school: str, findings: list[Finding]) -> None:
        first = min(findings, key=lambda f: f.seq)
        super().__init__(f"school {school}: seq {first.seq}: {first.message}")
        self.school = school
        self.findings = findings


async def _hash_at(conn: AsyncConnection, school: str, seq: int, chain: Chain) -> bytes:
    if seq == 0:
        return GENESIS_HASH
    t = chain.events
    value = await conn.scalar(select(t.c.hash).where(t.c.school_id == school, t.c.seq == seq))
    return value if value is not None else GENESIS_HASH


async def make_checkpoint(
    engine: AsyncEngine, school: str, signer: CheckpointSigner, clock: Clock | None = None, chain: Chain = EVENTS
) -> Checkpoint | None:
    """Sign a checkpoint over the school's current chain; None when the chain is empty.

    Returns the latest checkpoint unchanged when nothing was appended since. Only the events after
    the latest checkpoint are re-hashed: its stored frontier is used when it folds to the signed root.
    """
    clock = clock or SystemClock()
    async with engine.begin() as conn:
        await conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"checkpoint:{chain.name}:{school}"},
        )
        head = await store.read_head(conn, school, chain)
        if head.seq == 0:
            return None
        latest = await store.latest_checkpoint(conn, school, chain)
        after, frontier = 0, Frontier()
        if latest is not None:
            size = latest.checkpoint.tree_size
            if size > head.seq:
                raise LedgerCorrupted(school, [Finding(head.seq + 1, "truncated", f"checkpoint covers {size} events")])
            if size == head.seq:
                return latest.checkpoint
            if latest.frontier.size == size and latest.frontier.root() == latest.checkpoint.root:
                after, frontier = size, latest.frontier.copy()
        prev = await _hash_at(conn, school, after, chain)
        if after and latest is not None and latest.leaves and latest.leaves[-1] != prev:
            raise LedgerCorrupted(
                school,
                [Finding(after, "checkpoint", f"event {after} is not the one the last checkpoint signed")],
            )
        walker = ChainWalker(after, prev, frontier)
        leaves: list[bytes] = []
        async for rows in stream_rows(conn, school, after, head.seq, chain=chain):
            batch = walker.feed(rows)
            walker.frontier.extend(batch)
            leaves += batch
        if walker.findings:
            raise LedgerCorrupted(school, walker.findings)
        now = clock.now()
        if head.recorded_at is not None and now < head.recorded_at:
            now = head.recorded_at
        checkpoint = sign_checkpoint(school, head.seq, walker.frontier.root(), now, signer, chain.name)
        await store.insert_checkpoint(conn, checkpoint, walker.frontier, after, leaves, chain)
    log.info("checkpoint signed", school=school, log=chain.name, tree_size=checkpoint.tree_size)
    return checkpoint


@dataclass
class CheckpointRun:
    """What a run over every school did: the checkpoints signed, and the schools whose chain does not
    verify (no checkpoint is signed over them; the others are not held back)."""

    made: list[Checkpoint] = field(default_factory=list)
    refused: list[LedgerCorrupted] = field(default_factory=list)


async def checkpoint_all(
    engine: AsyncEngine,
    signer_for: Callable[[str], CheckpointSigner],
    clock: Clock | None = None,
    chain: Chain = EVENTS,
) -> CheckpointRun:
    """A checkpoint for every school with new entries in `chain` (the scheduled job). A school whose
    chain does not verify is logged and passed over, so that one corrupted chain cannot stop the
    checkpoints of every other school."""
    async with engine.connect() as conn:
        schools = await store.school_ids(conn, chain)
    run = CheckpointRun()
    for school in schools:
        try:
            checkpoint = await make_checkpoint(engine, school, signer_for(school), clock, chain)
        except LedgerCorrupted as corrupted:
            log.error(
                "no checkpoint over a chain that does not verify", school=school, log=chain.name, problem=str(corrupted)
            )
            run.refused.append(corrupted)
            continue
        if checkpoint is not None:
            run.made.append(checkpoint)
    return run


async def _leaves(conn: AsyncConnection, school: str, tree_size: int, chain: Chain) -> list[bytes]:
    leaves = await store.leaf_hashes(conn, school, tree_size, chain=chain)
    if len(leaves) != tree_size:
        raise ValueError(f"the chain of {school} holds {len(leaves)} events, not {tree_size}")
    return leaves


async def inclusion_proof(
    conn: AsyncConnection, school: str, seq: int, tree_size: int, chain: Chain = EVENTS
) -> list[bytes]:
    """Audit path of event `seq` in the school's tree of `tree_size` events (leaf index seq - 1)."""
    if not 1 <= seq <= tree_size:
        raise ValueError(f"seq {seq} is not in a tree of {tree_size} events")
    return merkle.inclusion_proof(await _leaves(conn, school, tree_size, chain), seq - 1)


async def consistency_proof(
    conn: AsyncConnection, school: str, first: int, second: int, chain: Chain = EVENTS
) -> list[bytes]:
    """Proof that the school's tree of `second` events extends its tree of `first` events."""
    if not 0 <= first <= second:
        raise ValueError(f"sizes must satisfy 0 <= first <= second, got {first} and {second}")
    return merkle.consistency_proof(await _leaves(conn, school, second, chain), first)
