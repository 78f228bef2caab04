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
from signing.x509.pki import Pki
from tests.support.vector import CHECKPOINT_TIME, example_checkpoint_message, example_events, example_root

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
    checkpoint = sign_checkpoint("khanh-phu", 2, example_root(), parse_time(CHECKPOINT_TIME), signer)
    doc = checkpoint.to_json()
    (tmp_path / "message.json").write_bytes(example_checkpoint_message())
    (tmp_path / "signature.der").write_bytes(base64.b64decode(doc["signature"]))
    (tmp_path / "cert.der").write_bytes(base64.b64decode(doc["certificate"]))

    def openssl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["openssl", *args], capture_output=True, text=True, cwd=tmp_path)

    assert openssl("x509", "-inform", "DER", "-in", "cert.der", "-out", "cert.pem").returncode == 0
    assert openssl("x509", "-in", "cert.pem", "-pubkey", "-noout", "-out", "service.pub").returncode == 0
    verified = openssl("dgst", "-sha256", "-verify", "service.pub", "-signature", "signature.der", "message.json")
    assert verified.stdout.strip() == "Verified OK", verified.stderr
    chained = openssl("verify", "-CAfile", str(pki.root_path), "cert.pem")
    assert chained.returncode == 0, chained.stdout + chained.stderr

    (tmp_path / "message.json").write_bytes(example_checkpoint_message().replace(b'"tree_size":2', b'"tree_size":3'))
    forged = openssl("dgst", "-sha256", "-verify", "service.pub", "-signature", "signature.der", "message.json")
    assert forged.returncode != 0
