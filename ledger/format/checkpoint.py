"""Signed checkpoints (tree heads) of a school's chain, in the spirit of RFC 9162 signed tree heads.

The signature input is the RFC 8785 encoding of

    {"v": 1, "kind": "hocba-ledger/checkpoint", "log": "events" | "access", "school": S,
     "tree_size": N, "root": "<64 lowercase hex>", "time": "YYYY-MM-DDTHH:MM:SS.ffffff+07:00"}

signed with the school's service certificate (ECDSA P-256/SHA-256, DER signature; or RSA PKCS#1 v1.5
SHA-256). Whether a checkpoint can be trusted (its signature, and its certificate's chain to the
trusted root at the checkpoint's time) is decided in signing.x509.checkpoints.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from cryptography import x509

from ledger.base.clock import format_time, parse_time
from ledger.format.canonical import canonical_bytes

CHECKPOINT_KIND = "hocba-ledger/checkpoint"


class CheckpointSigner(Protocol):
    @property
    def certificate_der(self) -> bytes: ...

    def sign(self, message: bytes) -> bytes: ...


def checkpoint_message(school: str, tree_size: int, root: bytes, signed_at: str, log: str = "events") -> bytes:
    return canonical_bytes(
        {
            "v": 1,
            "kind": CHECKPOINT_KIND,
            "log": log,
            "school": school,
            "tree_size": tree_size,
            "root": root.hex(),
            "time": signed_at,
        }
    )


@dataclass(frozen=True, slots=True)
class Checkpoint:
    school: str
    tree_size: int
    root: bytes
    signed_at: str
    signature: bytes
    certificate: bytes
    log: str = "events"  # which chain: the ledger's events, or the access trail

    @property
    def message(self) -> bytes:
        return checkpoint_message(self.school, self.tree_size, self.root, self.signed_at, self.log)

    @property
    def time(self) -> datetime:
        return parse_time(self.signed_at)

    def x509(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.certificate)

    def to_json(self) -> dict[str, Any]:
        return {
            "log": self.log,
            "school": self.school,
            "tree_size": self.tree_size,
            "root": self.root.hex(),
            "time": self.signed_at,
            "signature": base64.b64encode(self.signature).decode(),
            "certificate": base64.b64encode(self.certificate).decode(),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Checkpoint:
        return cls(
            school=doc["school"],
            tree_size=int(doc["tree_size"]),
            root=bytes.fromhex(doc["root"]),
            signed_at=doc["time"],
            signature=base64.b64decode(doc["signature"]),
            certificate=base64.b64decode(doc["certificate"]),
            log=doc.get("log", "events"),
        )


def sign_checkpoint(
    school: str, tree_size: int, root: bytes, when: datetime, signer: CheckpointSigner, log: str = "events"
) -> Checkpoint:
    signed_at = format_time(when)
    signature = signer.sign(checkpoint_message(school, tree_size, root, signed_at, log))
    return Checkpoint(school, tree_size, root, signed_at, signature, signer.certificate_der, log)
