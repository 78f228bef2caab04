"""The witness's state: the logs it witnesses (origin and the log's key), every checkpoint it
cosigned, and the evidence of what it refused. Append-only but for the list of logs."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Identity, LargeBinary, Table, Text, func

from ledger.log.schema import LEDGER_SCHEMA, metadata

witness_logs = Table(
    "witness_logs",
    metadata,
    Column("origin", Text, primary_key=True),
    Column("vkey", Text, nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    schema=LEDGER_SCHEMA,
)
witness_checkpoints = Table(
    "witness_checkpoints",
    metadata,
    Column("origin", Text, ForeignKey("hocba.witness_logs.origin"), primary_key=True),
    Column("tree_size", BigInteger, primary_key=True),
    Column("root", LargeBinary, nullable=False),
    Column("note", LargeBinary, nullable=False),
    Column("cosigned_at", DateTime(timezone=True), nullable=False),
    schema=LEDGER_SCHEMA,
)
witness_evidence = Table(
    "witness_evidence",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("origin", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("problem", Text, nullable=False),
    Column("old_size", BigInteger, nullable=False),
    Column("submitted", LargeBinary, nullable=False),
    Column("held", LargeBinary),
    schema=LEDGER_SCHEMA,
)
