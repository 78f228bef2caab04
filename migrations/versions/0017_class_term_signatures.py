"""The homeroom teacher's signature of the class's term record (Điều 18.4): its read model.

- `hocba_read.class_term_signatures`: the read model of class_term.signed events, one row per class
  and term. The event type is new with this revision, so the table starts empty and agrees with a
  replay at once.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01
"""

from alembic import op

from migrations.ddl import projection_table

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

KEYS = [("year", "text"), ("class_id", "text"), ("term", "smallint")]
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
    for statement in projection_table("class_term_signatures", KEYS, VALUES):
        op.execute(statement)
    op.execute("RESET ROLE")


def downgrade() -> None:
    op.execute("SET ROLE hocba_owner")
    op.execute("DROP TABLE hocba_read.class_term_signatures")
    op.execute("RESET ROLE")
