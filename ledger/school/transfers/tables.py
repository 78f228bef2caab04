"""The transfer events and the read model of transfer records."""

from __future__ import annotations

from sqlalchemy import Column, Text
from sqlalchemy.dialects.postgresql import JSONB

from ledger.log.schema import projection_table

TRANSFER_OPENED = "transfer.opened"
TRANSFER_SIGNED = "transfer.signed"
TRANSFER_RECEIVED = "transfer.received"
ORDER = ("PRINCIPAL", "ORGANISATION")
WITHDRAWAL_REASON = "Chuyển trường (Điều 26)"
RULE = "Điều 26"

transfers = projection_table(
    "transfers",
    keys=[Column("transfer_id", Text)],
    values=[
        Column("student_id", Text),
        Column("direction", Text),  # out (to another school), in (received), paper (opened here from scans)
        Column("kind", Text),  # before_year, mid_year, paper
        Column("departure", Text),
        Column("year", Text),
        Column("other_school", Text),
        Column("status", Text),  # opened, signed, sealed, received
        Column("unsigned_sha256", Text),
        Column("record_sha256", Text),
        Column("signatures", JSONB),  # [{role, wrapper_id, element}] in signing order
        Column("opened_by", Text),
    ],
)
