"""Transfers between schools (Điều 26): the transfer read model, and where an inherited học bạ came from.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from alembic import op

from migrations.ddl import projection_table

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TRANSFERS = [
    ("student_id", "text"),
    ("direction", "text"),
    ("kind", "text"),
    ("departure", "text"),
    ("year", "text"),
    ("other_school", "text"),
    ("status", "text"),
    ("unsigned_sha256", "text"),
    ("record_sha256", "text"),
    ("signatures", "jsonb"),
    ("opened_by", "text"),
]


def upgrade() -> None:
    op.execute("SET ROLE hocba_owner")
    for statement in projection_table("transfers", [("transfer_id", "text")], TRANSFERS):
        op.execute(statement)
    op.execute("ALTER TABLE hocba_read.issued ADD COLUMN origin_school text")
    op.execute("RESET ROLE")


def downgrade() -> None:
    op.execute("SET ROLE hocba_owner")
    op.execute("ALTER TABLE hocba_read.issued DROP COLUMN origin_school")
    op.execute("DROP TABLE hocba_read.transfers")
    op.execute("RESET ROLE")
