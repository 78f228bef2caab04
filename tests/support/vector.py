"""The worked example of docs/LEDGER-FORMAT.md: two events of one school and a checkpoint message."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from ledger.base.clock import VN_TZ
from ledger.format import merkle
from ledger.format.checkpoint import TreeRef, checkpoint_message
from ledger.format.envelope import GENESIS_HASH, Actor, Event, NewEvent, seal
from ledger.format.note import (
    COSIGNATURE_V1,
    ED25519,
    CheckpointText,
    Note,
    SignatureLine,
    VerifierKey,
    cosign,
    sign_checkpoint_note,
)

CHECKPOINT_TIME = "2025-09-05T07:35:00.000000+07:00"


def example_events() -> tuple[Event, Event]:
    first = seal(
        "khanh-phu",
        1,
        NewEvent(
            "school.registered",
            {"name": "Trường THCS Khánh Phú", "ministry_code": None, "province": "Ninh Bình", "address": None},
            Actor("qt.tranvanminh", "ADMIN"),
            UUID("0b6f5b3e-1c1e-4b4e-9d7e-2f0a6b0c1d2e"),
        ),
        datetime(2025, 9, 5, 7, 30, 0, 123456, tzinfo=VN_TZ),
        GENESIS_HASH,
    )
    second = seal(
        "khanh-phu",
        2,
        NewEvent(
            "school.registered",
            {
                "name": "Trường THCS Khánh Phú",
                "ministry_code": "27001",
                "province": "Ninh Bình",
                "address": 'Xã Khánh Phú, "Yên Khánh"',
            },
            Actor("qt.tranvanminh", "ADMIN", "ht.doanthuy"),
            UUID("5a1c2e9f-7d3b-4c8e-a1f0-9e8d7c6b5a40"),
        ),
        datetime(2025, 9, 5, 7, 31, 2, tzinfo=VN_TZ),
        first.hash,
    )
    return first, second


def example_root() -> bytes:
    first, second = example_events()
    return merkle.root([first.hash, second.hash])


def example_checkpoint_message() -> bytes:
    return checkpoint_message("khanh-phu", 2, example_root(), CHECKPOINT_TIME)


# The witnessed example (§9): fixed Ed25519 keys, so every signature below is reproducible (Ed25519
# signatures are deterministic). The seeds are the secret keys of RFC 8032's test vectors 1 and 2.
SERVICE_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
WITNESS_SEED = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
ORIGIN = "hocba-ledger/khanh-phu/events"
WITNESS_NAME = "witness.sogddt-ninhbinh.example"
COSIGNED_AT = 1757032620  # 2025-09-05 07:37:00 +07:00, in seconds since the epoch
PEER = TreeRef(3, bytes.fromhex("5d2c6b1a0f9e8d7c6b5a49382716f5e4d3c2b1a09f8e7d6c5b4a392817f6e5d4"))


def _key(seed: bytes) -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed)


def service_verifier_key() -> VerifierKey:
    return VerifierKey(ORIGIN, ED25519, raw(_key(SERVICE_SEED)))


def witness_verifier_key() -> VerifierKey:
    return VerifierKey(WITNESS_NAME, COSIGNATURE_V1, raw(_key(WITNESS_SEED)))


def raw(key: ed25519.Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def example_v2_message() -> bytes:
    """The version 2 statement over the same tree: head, no previous checkpoint, the access trail's."""
    _, second = example_events()
    return checkpoint_message(
        "khanh-phu", 2, example_root(), CHECKPOINT_TIME, version=2, head=second.hash, prev=None, peer=PEER
    )


def example_v2_signature() -> bytes:
    return _key(SERVICE_SEED).sign(example_v2_message())


def example_note() -> Note:
    text = CheckpointText(ORIGIN, 2, example_root())
    return sign_checkpoint_note(text, service_verifier_key(), _key(SERVICE_SEED).sign)


def example_cosignature() -> SignatureLine:
    return cosign(example_note(), witness_verifier_key(), COSIGNED_AT, _key(WITNESS_SEED).sign)
