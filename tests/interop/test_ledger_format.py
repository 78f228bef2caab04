"""docs/LEDGER-FORMAT.md is a public contract: its worked example must be what the code produces, and
its recipes must work with independent tools (sha256sum, OpenSSL)."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from ledger.base.clock import parse_time
from ledger.format import merkle
from ledger.format.checkpoint import sign_checkpoint
from ledger.format.envelope import GENESIS_HASH
from ledger.format.note import cosignature_message, cosigned_at, verify_log_signature, with_signatures
from ledger.witness.state import request_body
from signing.x509.pki import Pki
from tests.support.vector import (
    CHECKPOINT_TIME,
    COSIGNED_AT,
    PEER,
    example_checkpoint_message,
    example_cosignature,
    example_events,
    example_note,
    example_root,
    example_v2_message,
    example_v2_signature,
    service_verifier_key,
    witness_verifier_key,
)

DOC = (Path(__file__).resolve().parents[2] / "docs" / "LEDGER-FORMAT.md").read_text(encoding="utf-8")


def test_worked_example_values_are_what_the_code_computes() -> None:
    first, second = example_events()
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    for event in (first, second):
        assert f"body ({len(event.body)} bytes):\n    {event.body.decode()}\n" in DOC
        assert f"hash      = {event.hash.hex()}" in DOC
        assert hashlib.sha256(b"\x00" + event.prev_hash + event.body).digest() == event.hash
    assert second.body.hex() in DOC
    root = example_root()
    assert root == hashlib.sha256(b"\x01" + first.hash + second.hash).digest()
    assert f"= {root.hex()}" in DOC
    message = example_checkpoint_message()
    assert f"{len(message)} bytes:\n\n    {message.decode()}\n" in DOC
    assert merkle.verify_inclusion(first.hash, 0, 2, [second.hash], root)
    assert merkle.verify_inclusion(second.hash, 1, 2, [first.hash], root)


@pytest.mark.skipif(shutil.which("openssl") is None or shutil.which("sha256sum") is None, reason="needs openssl")
def test_recipes_work_with_sha256sum_and_openssl(tmp_path: Path, pki: Pki) -> None:
    first, _ = example_events()
    leaf = tmp_path / "leaf"
    leaf.write_bytes(b"\x00" + bytes(32) + first.body)
    out = subprocess.run(["sha256sum", str(leaf)], capture_output=True, text=True, check=True).stdout
    assert out.split()[0] == first.hash.hex()

    signer = pki.demo_service_key("khanh-phu")
    _, second = example_events()
    checkpoint = sign_checkpoint(
        "khanh-phu", 2, example_root(), parse_time(CHECKPOINT_TIME), signer, head=second.hash, peer=PEER
    )
    doc = checkpoint.to_json()
    (tmp_path / "message.json").write_bytes(checkpoint.message)
    (tmp_path / "signature.bin").write_bytes(base64.b64decode(doc["signature"]))
    (tmp_path / "cert.der").write_bytes(base64.b64decode(doc["certificate"]))

    def openssl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["openssl", *args], capture_output=True, text=True, cwd=tmp_path)

    def verify_signature() -> subprocess.CompletedProcess[str]:
        return openssl(
            "pkeyutl", "-verify", "-pubin", "-inkey", "service.pub", "-rawin", "-in", "message.json",
            "-sigfile", "signature.bin",
        )  # fmt: skip

    assert openssl("x509", "-inform", "DER", "-in", "cert.der", "-out", "service.pem").returncode == 0
    assert openssl("x509", "-in", "service.pem", "-pubkey", "-noout", "-out", "service.pub").returncode == 0
    verified = verify_signature()
    assert "Signature Verified Successfully" in verified.stdout, verified.stdout + verified.stderr
    chained = openssl("verify", "-CAfile", str(pki.root_path), "service.pem")
    assert chained.returncode == 0, chained.stdout + chained.stderr

    (tmp_path / "message.json").write_bytes(checkpoint.message.replace(b'"tree_size":2', b'"tree_size":3'))
    assert verify_signature().returncode != 0


def block(text: str) -> str:
    """`text` as the document shows it: indented by four spaces, empty lines left empty."""
    return "\n".join("    " + line if line else "" for line in text.rstrip("\n").split("\n"))


def test_the_witnessed_example_is_what_the_code_computes() -> None:
    """§10's version 2 statement, signed note and witness cosignature, recomputed (Ed25519 signs
    deterministically, so the bytes are fixed by the keys)."""
    message = example_v2_message()
    assert f"Signature input, {len(message)} bytes:\n\n    {message.decode()}\n" in DOC
    signature = example_v2_signature()
    assert f"    {signature.hex()}\n" in DOC
    service, witness = service_verifier_key(), witness_verifier_key()
    assert service.verify(message, signature)
    assert f"    {service}\n" in DOC and f"    {witness}\n" in DOC
    note = example_note()
    assert verify_log_signature(note, service)
    assert block(str(note)) in DOC
    assert block(request_body(0, [], note.encode()).decode()) in DOC
    assert block(cosignature_message(note.text, COSIGNED_AT).decode()) in DOC
    line = example_cosignature()
    assert f"    {str(line).rstrip()}\n" in DOC
    assert cosigned_at(with_signatures(note, [line]), witness) == COSIGNED_AT
    assert parse_time("2025-09-05T07:37:00.000000+07:00").timestamp() == COSIGNED_AT
