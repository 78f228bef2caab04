"""The signature events of a class's documents, and their read models: the subject teacher's class
sheet (Điều 18.3) and the homeroom teacher's term record of the class (Điều 18.4)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, SmallInteger, Text

from ledger.log.schema import projection_table

SHEET_SIGNED = "sheet.signed"
CLASS_TERM_SIGNED = "class_term.signed"
RULE = "Điều 18.3"
TERM_RULE = "Điều 18.4"


def _signature_columns() -> list[Column[Any]]:
    return [
        Column("signer", Text),
        Column("fingerprint", Text),
        Column("signing_time", Text),
        Column("digest", Text),  # SHA-256 of the canonical part that was signed
        Column("wrapper_id", Text),
        Column("element", Text),  # base64 of the canonical ChuKy
    ]


sheet_signatures = projection_table(
    "sheet_signatures",
    keys=[Column("year", Text), Column("class_id", Text), Column("subject", Text), Column("term", SmallInteger)],
    values=_signature_columns(),
)

term_signatures = projection_table(
    "class_term_signatures",
    keys=[Column("year", Text), Column("class_id", Text), Column("term", SmallInteger)],
    values=_signature_columns(),
)
