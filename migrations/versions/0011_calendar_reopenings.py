"""Reopenings: the Department of Education's decision that lets corrections through after a passed
close or final date, each one its own event (Điều 25.4), kept as a read model.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from alembic import op

from migrations.ddl import projection_table

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

KEYS = [("year", "text"), ("document_number", "text")]
VALUES = [("opens_at", "text"), ("until", "text"), ("document", "jsonb"), ("recorded_by", "text")]


def upgrade() -> None:
    op.execute("SET ROLE hocba_owner")
    for statement in projection_table("reopenings", KEYS, VALUES):
        op.execute(statement)
    op.execute("RESET ROLE")


def downgrade() -> None:
    op.execute("DROP TABLE hocba_read.reopenings")
