"""The checks of verification that concern checkpoints rather than events (ledger.log.verify):

- each checkpoint's signature, and its certificate's chain, validity and revocation;
- the chain the checkpoints form: each version 2 checkpoint names the one before it, so a deleted
  checkpoint leaves a gap; and the other log's checkpoint it names must be stored, over entries the
  other log still holds, so that neither log can be cut alone;
- each version 2 checkpoint's RFC 3161 timestamp (a trusted authority's time, close to the time it
  states) and its signed note (the same tree, signed by the same key);
- the events still waiting for a checkpoint longer than the policy allows;
- the latest checkpoint (past the waiting time) cosigned by a quorum of the configured witnesses;
- every tree known outside this database (anchors): the database holds it, and does not fork from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from cryptography import x509
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base.clock import format_time
from ledger.format import merkle
from ledger.format.checkpoint import Checkpoint, TreeRef, other_log
from ledger.format.note import ED25519, CheckpointText, Note, NoteError, VerifierKey, cosigned_at, verify_log_signature
from ledger.log import store
from ledger.log.report import Finding, VerifyPolicy
from ledger.log.schema import ACCESS, EVENTS, Chain, cosignatures
from signing.x509.checkpoints import checkpoint_problems
from signing.x509.keys import raw_public_key
from signing.x509.timestamps import check_timestamp

TIME_TOLERANCE = timedelta(minutes=10)  # between the time a checkpoint states and its timestamp's


def _other(chain: Chain) -> Chain:
    return ACCESS if chain is EVENTS else EVENTS


async def checkpoint_findings(
    conn: AsyncConnection,
    school: str,
    chain: Chain,
    stored: Sequence[store.StoredCheckpoint],
    roots: Sequence[x509.Certificate],
    policy: VerifyPolicy,
) -> list[Finding]:
    findings: list[Finding] = []
    for item in stored:
        checkpoint = item.checkpoint
        for problem in checkpoint_problems(checkpoint, roots, policy.crls):
            findings.append(Finding(checkpoint.tree_size, "checkpoint-signature", problem))
        if checkpoint.version >= 2:
            findings += await _timestamp(checkpoint, roots, policy)
            findings += _note(checkpoint)
    findings += _chain(stored)
    findings += await _peers(conn, school, chain, stored)
    findings += await _unsigned(conn, school, chain, stored, policy)
    findings += await _quorum(conn, school, chain, stored, policy)
    return findings


def _chain(stored: Sequence[store.StoredCheckpoint]) -> list[Finding]:
    """Each version 2 checkpoint names the checkpoint before it: a gap means one was deleted."""
    findings = []
    sizes = {item.checkpoint.tree_size for item in stored}
    previous: Checkpoint | None = None
    for item in stored:
        checkpoint = item.checkpoint
        if checkpoint.version >= 2:
            expected = previous.tree if previous else None
            if checkpoint.prev != expected:
                if checkpoint.prev is not None and checkpoint.prev.tree_size not in sizes:
                    findings.append(
                        Finding(
                            checkpoint.prev.tree_size,
                            "checkpoint-missing",
                            f"the checkpoint of size {checkpoint.prev.tree_size}, which the one of size "
                            f"{checkpoint.tree_size} follows, is not stored",
                        )
                    )
                else:
                    named = f"size {checkpoint.prev.tree_size}" if checkpoint.prev else "none"
                    findings.append(
                        Finding(
                            checkpoint.tree_size,
                            "checkpoint-chain",
                            f"the checkpoint of size {checkpoint.tree_size} follows {named}, not the checkpoint "
                            f"stored before it ({'size ' + str(previous.tree_size) if previous else 'none'})",
                        )
                    )
        previous = checkpoint
    return findings


async def _peers(
    conn: AsyncConnection, school: str, chain: Chain, stored: Sequence[store.StoredCheckpoint]
) -> list[Finding]:
    """The other log's checkpoint each one names is stored, over entries the other log still holds."""
    named = [item.checkpoint for item in stored if item.checkpoint.peer is not None]
    if not named:
        return []
    other = _other(chain)
    theirs = {item.checkpoint.tree for item in await store.select_checkpoints(conn, school, other)}
    held = (await store.read_head(conn, school, other)).seq
    findings = []
    for checkpoint in named:
        peer = checkpoint.peer
        assert peer is not None
        if peer.tree_size > held:
            findings.append(
                Finding(
                    checkpoint.tree_size,
                    "checkpoint-peer",
                    f"the checkpoint of size {checkpoint.tree_size} names {other.name} of {peer.tree_size} "
                    f"entries, but that log holds only {held}",
                )
            )
        elif peer not in theirs:
            findings.append(
                Finding(
                    checkpoint.tree_size,
                    "checkpoint-peer",
                    f"the checkpoint of size {checkpoint.tree_size} names a {other_log(chain.name)} checkpoint of "
                    f"size {peer.tree_size} that is not stored (or has another root)",
                )
            )
    return findings


async def _timestamp(checkpoint: Checkpoint, roots: Sequence[x509.Certificate], policy: VerifyPolicy) -> list[Finding]:
    size = checkpoint.tree_size
    if checkpoint.time_stamp_token is None:
        if policy.require_timestamps:
            return [Finding(size, "checkpoint-time", "the checkpoint carries no timestamp of a trusted authority")]
        return []
    check = await check_timestamp(checkpoint.time_stamp_token, checkpoint.signature, roots, policy.crls)
    findings = [Finding(size, "checkpoint-time", problem) for problem in check.problems]
    if check.time is not None and abs(check.time - checkpoint.time) > TIME_TOLERANCE:
        findings.append(
            Finding(
                size,
                "checkpoint-time",
                f"the checkpoint says it was signed at {checkpoint.signed_at}, its timestamp says "
                f"{format_time(check.time)}",
            )
        )
    return findings


def _note(checkpoint: Checkpoint) -> list[Finding]:
    """The signed note, if any, states the same tree and is signed by the checkpoint's key."""
    if checkpoint.note is None:
        return []
    size = checkpoint.tree_size
    try:
        note = Note.parse(checkpoint.note)
        text = CheckpointText.parse(note.text)
    except NoteError as exc:
        return [Finding(size, "checkpoint-note", f"the signed note is malformed: {exc}")]
    public = raw_public_key(checkpoint.x509())
    if not text.origin.endswith(f"/{checkpoint.school}/{checkpoint.log}") or (text.tree_size, text.root) != (
        checkpoint.tree_size,
        checkpoint.root,
    ):
        return [Finding(size, "checkpoint-note", "the signed note states another log or another tree")]
    if public is None or not verify_log_signature(note, VerifierKey(text.origin, ED25519, public)):
        return [Finding(size, "checkpoint-note", "the signed note is not signed by the checkpoint's key")]
    return []


async def _unsigned(
    conn: AsyncConnection, school: str, chain: Chain, stored: Sequence[store.StoredCheckpoint], policy: VerifyPolicy
) -> list[Finding]:
    """Events recorded longer ago than the policy allows, that no checkpoint covers."""
    if policy.now is None or policy.max_unsigned is None:
        return []
    cutoff = policy.now - policy.max_unsigned
    signed = stored[-1].checkpoint.tree_size if stored else 0
    t = chain.events
    last = await conn.scalar(
        select(func.max(t.c.seq)).where(t.c.school_id == school, t.c.seq > signed, t.c.recorded_at < cutoff)
    )
    if last is None:
        return []
    return [
        Finding(
            signed + 1,
            "unsigned",
            f"entries {signed + 1}..{last}, recorded before {format_time(cutoff)}, are covered by no checkpoint"
            + (" (there is none at all)" if not stored else ""),
        )
    ]


async def _quorum(
    conn: AsyncConnection, school: str, chain: Chain, stored: Sequence[store.StoredCheckpoint], policy: VerifyPolicy
) -> list[Finding]:
    """The latest checkpoint older than the waiting time is cosigned by a quorum of the witnesses."""
    if not policy.quorum or not stored:
        return []
    due = [
        item.checkpoint
        for item in stored
        if policy.now is None or policy.max_unsigned is None or item.checkpoint.time < policy.now - policy.max_unsigned
    ]
    if not due:
        return []
    checkpoint = due[-1]
    t = cosignatures
    rows = await conn.execute(
        select(t.c.witness, t.c.line).where(
            t.c.school_id == school, t.c.log == chain.name, t.c.tree_size == checkpoint.tree_size
        )
    )
    note = Note.parse(checkpoint.note) if checkpoint.note else None
    keys = {key.name: key for key in policy.witnesses}
    cosigned = set()
    for witness, line in rows:
        key = keys.get(witness)
        if key is None or note is None:
            continue
        lines = Note.parse(note.text + "\n" + bytes(line).decode()).signatures
        if cosigned_at(Note(note.text, lines), key) is not None:
            cosigned.add(witness)
    if len(cosigned) >= policy.quorum:
        return []
    return [
        Finding(
            checkpoint.tree_size,
            "quorum",
            f"the checkpoint of size {checkpoint.tree_size} is cosigned by {len(cosigned)} of the witnesses, "
            f"fewer than the {policy.quorum} required",
        )
    ]


async def anchor_findings(
    conn: AsyncConnection,
    school: str,
    chain: Chain,
    head: int,
    stored: Sequence[store.StoredCheckpoint],
    policy: VerifyPolicy,
) -> list[Finding]:
    """Every tree known outside this database: the database holds it, unchanged, and still keeps the
    checkpoint that signed it (each is one of this school's checkpoints)."""
    trees = {item.checkpoint.tree for item in stored}
    findings = []
    for anchor in policy.anchors:
        if (anchor.school, anchor.log) != (school, chain.name):
            continue
        if anchor.tree_size > head:
            findings.append(
                Finding(
                    head + 1,
                    "rolled-back",
                    f"{anchor.source} holds a tree of {anchor.tree_size} entries; this database holds only {head}: "
                    "it was rolled back or cut",
                )
            )
            continue
        leaves = await store.leaf_hashes(conn, school, anchor.tree_size, chain=chain)
        if merkle.root(leaves) == anchor.root and TreeRef(anchor.tree_size, anchor.root) not in trees:
            findings.append(
                Finding(
                    anchor.tree_size,
                    "checkpoint-missing",
                    f"{anchor.source} holds a checkpoint of size {anchor.tree_size} that is no longer stored here",
                )
            )
        if merkle.root(leaves) != anchor.root:
            findings.append(
                Finding(
                    anchor.tree_size,
                    "fork",
                    f"this database's tree of {anchor.tree_size} entries is not the one {anchor.source} holds: "
                    "history was rewritten",
                )
            )
    return findings
