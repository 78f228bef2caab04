"""Signed checkpoints and the proofs an outsider checks with only the root certificate."""

from __future__ import annotations

import uuid
from dataclasses import replace

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.app.runtime import Runtime
from ledger.format import merkle
from ledger.format.checkpoint import Checkpoint
from ledger.log import store
from ledger.log.append import Ledger
from ledger.log.checkpointing import checkpoint_all, consistency_proof, inclusion_proof
from signing.x509.checkpoints import checkpoint_problems
from signing.x509.pki import Pki
from tests.support.helpers import noted


async def test_inclusion_and_consistency_proofs_verify_against_signed_checkpoints(
    ledger: Ledger, runtime: Runtime, school: str
) -> None:
    first_batch = await ledger.append(school, noted(6))
    first = await runtime.checkpoint(school, clock=ledger.clock)
    second_batch = await ledger.append(school, noted(7))
    second = await runtime.checkpoint(school, clock=ledger.clock)
    assert first is not None and second is not None
    assert (first.tree_size, second.tree_size) == (6, 13)

    # What an outsider receives: JSON checkpoints and proofs; what they trust: the root certificate.
    roots = runtime.trusted_roots()
    first, second = Checkpoint.from_json(first.to_json()), Checkpoint.from_json(second.to_json())
    assert checkpoint_problems(first, roots) == []
    assert checkpoint_problems(second, roots) == []

    async with ledger.engine.connect() as conn:
        for event in [*first_batch, *second_batch]:
            proof = await inclusion_proof(conn, school, event.seq, second.tree_size)
            assert merkle.verify_inclusion(event.hash, event.seq - 1, second.tree_size, proof, second.root)
        proof = await consistency_proof(conn, school, first.tree_size, second.tree_size)
    assert merkle.verify_consistency(first.tree_size, second.tree_size, first.root, second.root, proof)
    assert not merkle.verify_consistency(first.tree_size, second.tree_size, second.root, second.root, proof)


async def test_nothing_new_means_no_new_checkpoint(ledger: Ledger, runtime: Runtime, school: str) -> None:
    assert await runtime.checkpoint(school, clock=ledger.clock) is None
    await ledger.append(school, noted(2))
    once = await runtime.checkpoint(school, clock=ledger.clock)
    again = await runtime.checkpoint(school, clock=ledger.clock)
    assert once == again


async def test_checkpoint_signature_flip_and_foreign_certificates_are_refused(
    ledger: Ledger, runtime: Runtime, school: str, tmp_path: object
) -> None:
    await ledger.append(school, noted(2))
    checkpoint = await runtime.checkpoint(school, clock=ledger.clock)
    assert checkpoint is not None
    roots = runtime.trusted_roots()

    for tampered in (
        replace(checkpoint, tree_size=checkpoint.tree_size + 1),
        replace(checkpoint, root=bytes([checkpoint.root[0] ^ 1]) + checkpoint.root[1:]),
        replace(checkpoint, signature=checkpoint.signature[:-1] + bytes([checkpoint.signature[-1] ^ 1])),
    ):
        assert "signature does not verify with the embedded certificate" in checkpoint_problems(tampered, roots)

    other_school = Checkpoint.from_json({**checkpoint.to_json(), "school": "another-school"})
    problems = checkpoint_problems(other_school, roots)
    assert any("not issued for urn:hocba:ledger-service:another-school" in p for p in problems)

    stranger = Pki(tmp_path / "stranger")  # type: ignore[operator]
    stranger.init_demo()
    assert any("not issued by a trusted root" in p for p in checkpoint_problems(checkpoint, stranger.roots()))


async def test_proof_requests_outside_the_tree_are_refused(
    app_engine: AsyncEngine, ledger: Ledger, school: str
) -> None:
    await ledger.append(school, noted(3))
    async with app_engine.connect() as conn:
        with pytest.raises(ValueError, match="not in a tree"):
            await inclusion_proof(conn, school, 4, 3)
        with pytest.raises(ValueError, match="holds 3 events, not 5"):
            await consistency_proof(conn, school, 2, 5)


async def test_a_school_whose_chain_does_not_verify_does_not_hold_back_the_others(
    ledger: Ledger, runtime: Runtime, superuser: psycopg.Connection
) -> None:
    """An attacker edits one school's history after its last checkpoint: that school gets no
    checkpoint over it and is named; every other school still gets its own."""
    tampered, other = (f"t-{uuid.uuid4().hex[:12]}" for _ in range(2))
    for school in (tampered, other):
        await ledger.append(school, noted(4))
        await runtime.checkpoint(school, clock=ledger.clock)
        await ledger.append(school, noted(2, start=4))
    with superuser.transaction():
        superuser.execute("SET LOCAL session_replication_role = replica")
        superuser.execute("UPDATE hocba.events SET hash = %s WHERE school_id = %s AND seq = 5", (b"\0" * 32, tampered))
    run = await checkpoint_all(ledger.engine, runtime.signer, runtime.clock, policy=runtime.checkpoint_policy())
    assert [c.tree_size for c in run.made if c.school == other] == [6]
    assert tampered in [r.school for r in run.refused]  # beside any other test's tampered school
    assert other not in [r.school for r in run.refused]
    async with ledger.engine.connect() as conn:
        assert (await store.latest_checkpoint(conn, tampered)).checkpoint.tree_size == 4  # type: ignore[union-attr]
