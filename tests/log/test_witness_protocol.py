"""The witness's add-checkpoint (c2sp.org/tlog-witness) on a real database: it cosigns only a
consistent extension of what it cosigned last, answers as the specification says, keeps a smaller or
forked tree as evidence, and never lets two requests roll its state back."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Sequence

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.format import merkle
from ledger.format.note import (
    COSIGNATURE_V1,
    ED25519,
    CheckpointText,
    Note,
    VerifierKey,
    cosigned_at,
    sign_checkpoint_note,
)
from ledger.witness.state import Witness, WitnessKey, request_body


def _key(name: str, kind: int) -> tuple[VerifierKey, Ed25519PrivateKey]:
    private = Ed25519PrivateKey.generate()
    return VerifierKey(name, kind, private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)), private


class Log:
    """A log of its own, signing notes with its own key."""

    def __init__(self) -> None:
        self.origin = f"hocba-ledger/t-{uuid.uuid4().hex[:10]}/events"
        self.key, self.private = _key(self.origin, ED25519)
        self.leaves: list[bytes] = []

    def grow(self, count: int) -> None:
        self.leaves += [hashlib.sha256(uuid.uuid4().bytes).digest() for _ in range(count)]

    def note(self, size: int, leaves: Sequence[bytes] | None = None) -> bytes:
        tree = merkle.root(list(leaves if leaves is not None else self.leaves)[:size])
        return sign_checkpoint_note(CheckpointText(self.origin, size, tree), self.key, self.private.sign).encode()

    def request(self, old: int, size: int) -> bytes:
        proof = merkle.consistency_proof(self.leaves[:size], old) if old else []
        return request_body(old, proof, self.note(size))


@pytest.fixture
def witness(app_engine: AsyncEngine) -> tuple[Witness, VerifierKey]:
    key, private = _key("witness.so-gddt.test", COSIGNATURE_V1)
    return Witness(app_engine, WitnessKey(key.name, key.public_key, private.sign)), key


async def test_the_witness_cosigns_each_consistent_extension_and_nothing_else(
    witness: tuple[Witness, VerifierKey],
) -> None:
    server, key = witness
    log = Log()
    log.grow(5)
    assert (await server.add_checkpoint(log.request(0, 5))).status == 404  # not a log it witnesses
    assert await server.add_log(log.origin, log.key)
    first = await server.add_checkpoint(log.request(0, 5))
    assert first.status == 200
    cosigned = Note.parse(log.note(5).decode() + first.body.decode())
    assert cosigned_at(cosigned, key) is not None
    log.grow(7)
    assert (await server.add_checkpoint(log.request(0, 12))).status == 409  # it holds 5, not 0
    stale = await server.add_checkpoint(log.request(3, 12))
    assert (stale.status, stale.body, stale.content_type) == (409, b"5\n", "text/x.tlog.size")
    assert (await server.add_checkpoint(log.request(5, 12))).status == 200
    latest = await server.latest(hashlib.sha256(log.origin.encode()).hexdigest())
    assert latest is not None and CheckpointText.parse(Note.parse(latest).text).tree_size == 12
    assert await server.evidence() == []


async def test_a_forged_note_a_fork_and_a_smaller_tree_are_refused_and_kept_as_evidence(
    witness: tuple[Witness, VerifierKey],
) -> None:
    server, _ = witness
    log = Log()
    log.grow(8)
    await server.add_log(log.origin, log.key)
    assert (await server.add_checkpoint(log.request(0, 8))).status == 200

    stranger, private = _key(log.origin, ED25519)
    forged = sign_checkpoint_note(CheckpointText(log.origin, 9, bytes(32)), stranger, private.sign).encode()
    assert (await server.add_checkpoint(request_body(8, [], forged))).status == 403

    rewritten = [*log.leaves[:3], hashlib.sha256(b"rewritten").digest(), *log.leaves[4:]]
    fork = await server.add_checkpoint(request_body(8, [], log.note(8, rewritten)))
    assert fork.status == 422  # the same size, another root
    rewritten.append(hashlib.sha256(b"more").digest())
    proof = merkle.consistency_proof(rewritten, 8)
    inconsistent = await server.add_checkpoint(request_body(8, proof, log.note(9, rewritten)))
    assert inconsistent.status == 422  # the proof cannot tie the new tree to the one it holds
    smaller = await server.add_checkpoint(request_body(8, [], log.note(6)))
    assert smaller.status == 400  # old is larger than the tree offered
    kinds = [e["problem"] for e in await server.evidence() if e["origin"] == log.origin]
    assert kinds == ["fork", "inconsistent", "smaller"]


async def test_concurrent_requests_never_roll_the_witness_back(witness: tuple[Witness, VerifierKey]) -> None:
    """Twenty requests from the same old size: exactly one is cosigned; the others learn the new size."""
    server, _ = witness
    log = Log()
    log.grow(4)
    await server.add_log(log.origin, log.key)
    assert (await server.add_checkpoint(log.request(0, 4))).status == 200
    bodies = []
    for extra in range(1, 21):
        log.grow(1)
        bodies.append(log.request(4, 4 + extra))
    answers = await asyncio.gather(*(server.add_checkpoint(body) for body in bodies))
    assert sorted(a.status for a in answers) == [200] + [409] * 19
    held = await server.latest(hashlib.sha256(log.origin.encode()).hexdigest())
    assert held is not None
    [winner] = [4 + extra for extra, answer in enumerate(answers, 1) if answer.status == 200]
    assert CheckpointText.parse(Note.parse(held).text).tree_size == winner
    assert {a.body for a in answers if a.status == 409} == {f"{winner}\n".encode()}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"old x\n\nnot a note\n",
        b"old 1\nnot-base64!\n\norigin\n1\nAAAA\n\n\xe2\x80\x94 n AAAAAAAA\n",
        b"old 0\n" + b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n" * 64 + b"\n",
        b"x" * (16 * 1024 + 1),
    ],
)
async def test_malformed_requests_are_answered_400(witness: tuple[Witness, VerifierKey], body: bytes) -> None:
    server, _ = witness
    assert (await server.add_checkpoint(body)).status == 400
