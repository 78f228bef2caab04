"""The class sheet's signature by the subject teacher (Điều 18.3): its read model.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from alembic import op

from migrations.ddl import projection_table

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

KEYS = [("year", "text"), ("class_id", "text"), ("subject", "text"), ("term", "smallint")]
VALUES = [
    ("signer", "text"),
    ("fingerprint", "text"),
    ("signing_time", "text"),
    ("digest", "text"),
    ("wrapper_id", "text"),
    ("element", "text"),
]


def upgrade() -> None:
    op.execute("SET ROLE hocba_owner")
    for statement in projection_table("sheet_signatures", KEYS, VALUES):
        op.execute(statement)
    op.execute("RESET ROLE")


def downgrade() -> None:
    op.execute("SET ROLE hocba_owner")
    op.execute("DROP TABLE hocba_read.sheet_signatures")
    op.execute("RESET ROLE")
