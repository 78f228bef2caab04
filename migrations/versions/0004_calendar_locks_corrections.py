"""The school calendar, entry locks, deadlines reached, correction requests, verification results.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from alembic import op

from migrations.ddl import projection_table

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = {
    "calendars": ([("year", "text")], [("calendar", "jsonb")]),
    "locks": (
        [("year", "text"), ("class_id", "text"), ("subject", "text"), ("term", "smallint")],
        [("state", "text"), ("order_ref", "jsonb"), ("changed_by", "text")],
    ),
    "deadlines": ([("year", "text"), ("deadline", "text")], [("reached_at", "text")]),
    "corrections": (
        [("request_id", "uuid")],
        [
            ("status", "text"),
            ("target", "jsonb"),
            ("old_value", "text"),
            ("new_value", "text"),
            ("reason", "text"),
            ("attachment_sha256", "text"),
            ("requested_by", "text"),
            ("requested_at", "text"),
            ("decided_by", "text"),
            ("decided_at", "text"),
            ("decision_reason", "text"),
        ],
    ),
    "verifications": (
        [("log", "text")],
        [
            ("ok", "boolean"),
            ("ran_at", "timestamptz"),
            ("events", "bigint"),
            ("head_seq", "bigint"),
            ("first_bad_seq", "bigint"),
            ("findings", "integer"),
        ],
    ),
}


def upgrade() -> None:
    op.execute("SET ROLE hocba_owner")
    for name, (keys, values) in TABLES.items():
        for statement in projection_table(name, keys, values):
            op.execute(statement)
    op.execute("CREATE INDEX corrections_status ON hocba_read.corrections (school_id, status) WHERE seq_to IS NULL")
    op.execute("RESET ROLE")


def downgrade() -> None:
    for name in reversed(list(TABLES)):
        op.execute(f"DROP TABLE hocba_read.{name}")
