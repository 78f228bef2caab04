"""Registered certificates and the signatures of the học bạ.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from alembic import op

from migrations.ddl import projection_table

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = {
    "certificates": (
        [("fingerprint", "text")],
        [
            ("holder", "text"),
            ("serial", "text"),
            ("subject", "text"),
            ("not_before", "text"),
            ("not_after", "text"),
            ("der", "text"),
            ("approved_by", "text"),
            ("revoked_at", "text"),
            ("revocation_reason", "text"),
        ],
    ),
    "signatures": (
        [("year", "text"), ("student_id", "text"), ("wrapper_id", "text")],
        [
            ("position", "bigint"),
            ("format", "text"),
            ("role", "text"),
            ("subject", "text"),
            ("parts", "jsonb"),
            ("digests", "jsonb"),
            ("signer", "text"),
            ("fingerprint", "text"),
            ("signing_time", "text"),
            ("issued_on", "text"),
            ("element", "text"),
            ("stale", "boolean"),
        ],
    ),
}


def upgrade() -> None:
    op.execute("SET ROLE hocba_owner")
    for name, (keys, values) in TABLES.items():
        for statement in projection_table(name, keys, values):
            op.execute(statement)
    op.execute("RESET ROLE")


def downgrade() -> None:
    for name in reversed(list(TABLES)):
        op.execute(f"DROP TABLE hocba_read.{name}")
