"""The notices owed to families, as a read model of the ledger: one row per issuance and per
revocation, pending until a family.notified event says it went out (or that there was no one to
send it to). A crash between sending and recording sends a notice again; it never loses one."""

from __future__ import annotations

from sqlalchemy import Column, SmallInteger, Text

from ledger.log.schema import projection_table

FAMILY_NOTIFIED = "family.notified"

family_notices = projection_table(
    "family_notices",
    keys=[Column("issuance_id", Text), Column("kind", Text)],  # kind: issued, revoked
    values=[
        Column("student_id", Text),
        Column("year", Text),
        Column("class_id", Text),
        Column("hocba_id", Text),
        Column("status", Text),  # pending, sent, nobody (no guardian with an e-mail address)
        Column("recipients", SmallInteger),
    ],
)
