"""The notices owed to families.

- `hocba_read.family_notices`: the read model of hocba.issued, hocba.revoked and family.notified
  events: each issuance and revocation waits for its notice to the student's guardians. The upgrade
  that applies this revision folds the events already recorded into it (ledger.app.migrate).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""

from alembic import op

from migrations.ddl import projection_table

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

KEYS = [("issuance_id", "text"), ("kind", "text")]
VALUES = [
    ("student_id", "text"),
    ("year", "text"),
    ("class_id", "text"),
    ("hocba_id", "text"),
    ("status", "text"),
    ("recipients", "smallint"),
]


def upgrade() -> None:
    op.execute("SET ROLE hocba_owner")
    for statement in projection_table("family_notices", KEYS, VALUES):
        op.execute(statement)
    op.execute("RESET ROLE")


def downgrade() -> None:
    op.execute("DROP TABLE hocba_read.family_notices")
