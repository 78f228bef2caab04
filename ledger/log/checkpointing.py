"""Making checkpoints, and the proofs that tie events and checkpoints together."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace

from cryptography import x509
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.base.clock import Clock, SystemClock
from ledger.base.errors import HocbaError
from ledger.base.logs import get_logger
from ledger.format import merkle
from ledger.format.checkpoint import Checkpoint, CheckpointSigner, origin, sign_checkpoint
from ledger.format.envelope import GENESIS_HASH
from ledger.format.merkle import Frontier
from ledger.format.note import ED25519, CheckpointText, VerifierKey, sign_checkpoint_note
from ledger.log import store
from ledger.log.report import Finding
from ledger.log.schema import ACCESS, EVENTS, Chain
from ledger.log.walk import ChainWalker, checked_batch, stream_rows
from signing.x509.keys import raw_public_key

log = get_logger(__name__)
DEFAULT_ORIGIN_PREFIX = "hocba-ledger"


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


Stamp = Callable[[bytes], Awaitable[bytes]]  # bytes -> an RFC 3161 token over their SHA-256


@dataclass(frozen=True)
class CheckpointPolicy:
    """How checkpoints are made: the origin prefix their notes name (`<prefix>/<school>/<log>`), and
    the time-stamping authority that timestamps each signature (none only in tests of the core)."""

    origin_prefix: str = DEFAULT_ORIGIN_PREFIX
    stamp: Stamp | None = None


def _note(checkpoint: Checkpoint, signer: CheckpointSigner, prefix: str) -> bytes | None:
    """The checkpoint as a C2SP signed note, when the service key is an Ed25519 key."""
    public = raw_public_key(x509.load_der_x509_certificate(signer.certificate_der))
    if public is None:
        return None
    name = origin(prefix, checkpoint.school, checkpoint.log)
    text = CheckpointText(name, checkpoint.tree_size, checkpoint.root)
    return sign_checkpoint_note(text, VerifierKey(name, ED25519, public), signer.sign).encode()


async def make_checkpoint(
    engine: AsyncEngine,
    school: str,
    signer: CheckpointSigner,
    clock: Clock | None = None,
    chain: Chain = EVENTS,
    policy: CheckpointPolicy | None = None,
) -> Checkpoint | None:
    """Sign a checkpoint over the school's current chain; None when the chain is empty.

    Returns the latest checkpoint unchanged when nothing was appended since. Only the events after
    the latest checkpoint are re-hashed: its stored frontier is used when it folds to the signed root.
    The checkpoint names the previous one of this chain and the latest of the other chain, is
    published as a signed note too, and is timestamped by the policy's authority.
    """
    clock = clock or SystemClock()
    policy = policy or CheckpointPolicy()
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
            batch, problems = checked_batch(walker, rows, school)  # nothing but events' canonical encodings is signed
            walker.findings += [Finding(seq, kind, problem) for seq, kind, problem in problems]
            walker.frontier.extend(batch)
            leaves += batch
        if walker.findings:
            raise LedgerCorrupted(school, walker.findings)
        now = clock.now()
        if head.recorded_at is not None and now < head.recorded_at:
            now = head.recorded_at
        peer = await store.latest_checkpoint(conn, school, ACCESS if chain == EVENTS else EVENTS)
        checkpoint = sign_checkpoint(
            school,
            head.seq,
            walker.frontier.root(),
            now,
            signer,
            chain.name,
            head=head.hash,
            prev=latest.checkpoint.tree if latest else None,
            peer=peer.checkpoint.tree if peer else None,
        )
        token = await policy.stamp(checkpoint.signature) if policy.stamp else None
        checkpoint = replace(checkpoint, note=_note(checkpoint, signer, policy.origin_prefix), time_stamp_token=token)
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
    policy: CheckpointPolicy | None = None,
    schools: Sequence[str] | None = None,
) -> CheckpointRun:
    """A checkpoint for every school with new entries in `chain` (or for `schools`). A school whose
    chain does not verify is logged and passed over, so that one corrupted chain cannot stop the
    checkpoints of every other school."""
    if schools is None:
        async with engine.connect() as conn:
            schools = await store.school_ids(conn, chain)
    run = CheckpointRun()
    for school in schools:
        try:
            checkpoint = await make_checkpoint(engine, school, signer_for(school), clock, chain, policy)
        except LedgerCorrupted as corrupted:
            log.error(
                "no checkpoint over a chain that does not verify", school=school, log=chain.name, problem=str(corrupted)
            )
            run.refused.append(corrupted)
            continue
        if checkpoint is not None:
            run.made.append(checkpoint)
    return run


async def checkpoint_logs(
    engine: AsyncEngine,
    signer_for: Callable[[str], CheckpointSigner],
    clock: Clock | None = None,
    policy: CheckpointPolicy | None = None,
    schools: Sequence[str] | None = None,
) -> CheckpointRun:
    """Checkpoints of both logs, the access trail's first, so that the events' checkpoint names the
    access trail's latest (every school with new entries, or `schools`)."""
    run = CheckpointRun()
    for chain in (ACCESS, EVENTS):
        each = await checkpoint_all(engine, signer_for, clock, chain, policy, schools)
        run.made += each.made
        run.refused += each.refused
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


async def inclusion_proofs(
    conn: AsyncConnection, school: str, seqs: Sequence[int], tree_size: int, chain: Chain = EVENTS
) -> dict[int, list[bytes]]:
    """Audit paths of several events in the school's tree of `tree_size` events, by seq, from one
    read of the tree's leaves."""
    if any(not 1 <= seq <= tree_size for seq in seqs):
        raise ValueError(f"seqs {list(seqs)} are not all in a tree of {tree_size} events")
    leaves = await _leaves(conn, school, tree_size, chain)
    return {seq: merkle.inclusion_proof(leaves, seq - 1) for seq in seqs}


async def consistency_proof(
    conn: AsyncConnection, school: str, first: int, second: int, chain: Chain = EVENTS
) -> list[bytes]:
    """Proof that the school's tree of `second` events extends its tree of `first` events."""
    if not 0 <= first <= second:
        raise ValueError(f"sizes must satisfy 0 <= first <= second, got {first} and {second}")
    return merkle.consistency_proof(await _leaves(conn, school, second, chain), first)
