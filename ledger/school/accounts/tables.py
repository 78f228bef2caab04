"""Accounts. Who holds an account, bound to whom, and when it was disabled are ledger events
(account.opened, account.disabled) folded into `account_records`; the `accounts` table keeps the
credentials, which change and never enter the ledger. An account signs in only while both agree, so
a row written into `accounts` behind the ledger's back opens nothing. Auditors may read every column
but the hashes."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Index, Table, Text, func, text

from ledger.log.schema import LEDGER_SCHEMA, metadata, projection_table

ACCOUNT_OPENED = "account.opened"
ACCOUNT_DISABLED = "account.disabled"

account_records = projection_table(
    "account_records",
    keys=[Column("username", Text)],
    values=[
        Column("kind", Text),
        Column("staff_id", Text),
        Column("student_id", Text),
        Column("opened_by", Text),
        Column("disabled_by", Text),
        Column("reason", Text),
    ],
)

accounts = Table(
    "accounts",
    metadata,
    Column("school_id", Text, primary_key=True),
    Column("username", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("staff_id", Text),
    Column("student_id", Text),
    Column("password_hash", Text),
    Column("api_key_hash", Text),  # unique per school (an API key names its school)
    Column("disabled", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("sessions_from", DateTime(timezone=True)),  # tokens issued before it are refused (a changed password)
    Index("accounts_api_key", "school_id", "api_key_hash", unique=True),
    # One person, one active account: a second account bound to the same staff id would act as them.
    Index(
        "accounts_one_active_staff",
        "school_id",
        "staff_id",
        unique=True,
        postgresql_where=text("staff_id IS NOT NULL AND NOT disabled"),
    ),
    Index(
        "accounts_one_active_student",
        "school_id",
        "student_id",
        unique=True,
        postgresql_where=text("kind = 'STUDENT' AND NOT disabled"),
    ),
    schema=LEDGER_SCHEMA,
)

# Tokens ended before they expire (signing out): append-only, named by the token's jti claim.
revoked_tokens = Table(
    "revoked_tokens",
    metadata,
    Column("school_id", Text, primary_key=True),
    Column("jti", Text, primary_key=True),
    Column("username", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=False),
    schema=LEDGER_SCHEMA,
)
