"""Signed checkpoints (tree heads) of a school's chain, in the spirit of RFC 9162 signed tree heads
(docs/LEDGER-FORMAT.md §6).

A version 2 checkpoint's signature input is the RFC 8785 encoding of

    {"v": 2, "kind": "hocba-ledger/checkpoint", "log": "events" | "access", "school": S,
     "tree_size": N, "root": "<hex>", "head": "<hex of the hash of event N>",
     "prev": {"tree_size": M, "root": "<hex>"} | null,          the previous checkpoint of this log
     "peer": {"log": <the other log>, "tree_size": K, "root": "<hex>"} | null,
     "time": "YYYY-MM-DDTHH:MM:SS.ffffff+07:00"}

so that checkpoints form a chain of their own (deleting one breaks it), and each log's checkpoint
names the other log's latest (cutting one log alone breaks the other's). Version 1, made before,
signs only log, school, tree_size, root and time. The school's service key signs it; an RFC 3161
timestamp over the signature says when, on a time-stamping authority's word, not the server's. The
same tree is also published as a C2SP signed note (ledger.format.note) for witnesses to cosign.
Whether a checkpoint can be trusted is decided in signing.x509.checkpoints.
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
LOGS = ("events", "access")


class CheckpointSigner(Protocol):
    @property
    def certificate_der(self) -> bytes: ...

    def sign(self, message: bytes) -> bytes: ...


def other_log(log: str) -> str:
    return "access" if log == "events" else "events"


def origin(prefix: str, school: str, log: str) -> str:
    """The log's name in signed notes and to witnesses: `<prefix>/<school>/<log>`."""
    return f"{prefix}/{school}/{log}"


@dataclass(frozen=True, slots=True)
class TreeRef:
    """A tree a checkpoint names: its size and root."""

    tree_size: int
    root: bytes

    def to_json(self) -> dict[str, Any]:
        return {"tree_size": self.tree_size, "root": self.root.hex()}

    @classmethod
    def from_json(cls, doc: Any) -> TreeRef | None:
        return None if doc is None else cls(int(doc["tree_size"]), bytes.fromhex(doc["root"]))


def checkpoint_message(
    school: str,
    tree_size: int,
    root: bytes,
    signed_at: str,
    log: str = "events",
    *,
    version: int = 1,
    head: bytes | None = None,
    prev: TreeRef | None = None,
    peer: TreeRef | None = None,
) -> bytes:
    statement: dict[str, Any] = {
        "v": version,
        "kind": CHECKPOINT_KIND,
        "log": log,
        "school": school,
        "tree_size": tree_size,
        "root": root.hex(),
        "time": signed_at,
    }
    if version >= 2:
        statement["head"] = head.hex() if head is not None else None
        statement["prev"] = prev.to_json() if prev else None
        statement["peer"] = {"log": other_log(log), **peer.to_json()} if peer else None
    return canonical_bytes(statement)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    school: str
    tree_size: int
    root: bytes
    signed_at: str
    signature: bytes
    certificate: bytes
    log: str = "events"  # which chain: the ledger's events, or the access trail
    version: int = 1
    head: bytes | None = None
    prev: TreeRef | None = None
    peer: TreeRef | None = None
    note: bytes | None = None  # the same tree as a C2SP signed note, signed by the same key
    time_stamp_token: bytes | None = None  # RFC 3161, over SHA-256 of `signature`

    @property
    def message(self) -> bytes:
        return checkpoint_message(
            self.school,
            self.tree_size,
            self.root,
            self.signed_at,
            self.log,
            version=self.version,
            head=self.head,
            prev=self.prev,
            peer=self.peer,
        )

    @property
    def time(self) -> datetime:
        return parse_time(self.signed_at)

    @property
    def tree(self) -> TreeRef:
        return TreeRef(self.tree_size, self.root)

    def x509(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.certificate)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "log": self.log,
            "school": self.school,
            "tree_size": self.tree_size,
            "root": self.root.hex(),
            "time": self.signed_at,
            "signature": base64.b64encode(self.signature).decode(),
            "certificate": base64.b64encode(self.certificate).decode(),
        }
        if self.version >= 2:
            doc["v"] = self.version
            doc["head"] = self.head.hex() if self.head is not None else None
            doc["prev"] = self.prev.to_json() if self.prev else None
            doc["peer"] = {"log": other_log(self.log), **self.peer.to_json()} if self.peer else None
            doc["note"] = self.note.decode() if self.note else None
            token = self.time_stamp_token
            doc["time_stamp_token"] = base64.b64encode(token).decode() if token else None
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Checkpoint:
        token, note, head = doc.get("time_stamp_token"), doc.get("note"), doc.get("head")
        return cls(
            school=doc["school"],
            tree_size=int(doc["tree_size"]),
            root=bytes.fromhex(doc["root"]),
            signed_at=doc["time"],
            signature=base64.b64decode(doc["signature"]),
            certificate=base64.b64decode(doc["certificate"]),
            log=doc.get("log", "events"),
            version=int(doc.get("v", 1)),
            head=bytes.fromhex(head) if head else None,
            prev=TreeRef.from_json(doc.get("prev")),
            peer=TreeRef.from_json(doc.get("peer")),
            note=note.encode() if note else None,
            time_stamp_token=base64.b64decode(token) if token else None,
        )


def sign_checkpoint(
    school: str,
    tree_size: int,
    root: bytes,
    when: datetime,
    signer: CheckpointSigner,
    log: str = "events",
    *,
    head: bytes | None = None,
    prev: TreeRef | None = None,
    peer: TreeRef | None = None,
) -> Checkpoint:
    """A version 2 checkpoint signed by `signer` (its note and timestamp are added by the caller)."""
    signed_at = format_time(when)
    message = checkpoint_message(school, tree_size, root, signed_at, log, version=2, head=head, prev=prev, peer=peer)
    signature = signer.sign(message)
    return Checkpoint(school, tree_size, root, signed_at, signature, signer.certificate_der, log, 2, head, prev, peer)
