"""The class sheet's signature event and its read model."""

from __future__ import annotations

from sqlalchemy import Column, SmallInteger, Text

from ledger.log.schema import projection_table

SHEET_SIGNED = "sheet.signed"
RULE = "Điều 18.3"

sheet_signatures = projection_table(
    "sheet_signatures",
    keys=[Column("year", Text), Column("class_id", Text), Column("subject", Text), Column("term", SmallInteger)],
    values=[
        Column("signer", Text),
        Column("fingerprint", Text),
        Column("signing_time", Text),
        Column("digest", Text),  # SHA-256 of the canonical `sheet` part that was signed
        Column("wrapper_id", Text),
        Column("element", Text),  # base64 of the canonical ChuKy
    ],
)
