"""The worked example of docs/LEDGER-FORMAT.md: two events of one school and a checkpoint message."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from ledger.base.clock import VN_TZ
from ledger.format import merkle
from ledger.format.checkpoint import checkpoint_message
from ledger.format.envelope import GENESIS_HASH, Actor, Event, NewEvent, seal

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
