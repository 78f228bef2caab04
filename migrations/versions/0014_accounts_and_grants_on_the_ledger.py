"""Accounts and grants on the ledger.

- `hocba_read.account_records`: the read model of account.opened and account.disabled events. An
  account signs in only while its row in `hocba.accounts` agrees with its record.
- `hocba.accounts_carried`: the accounts that existed before this revision, to be recorded as
  account.opened events (marked carried over) by the upgrade that applies it
  (ledger.app.migrate), which then drops the list. The service's own role cannot write it.
- `hocba_read.assignments` gains `pending` (a grant that waits for the principal's approval) and
  `decision` (the document that grants or approves it).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""

from alembic import op

from migrations.ddl import projection_table

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

KEYS = [("username", "text")]
VALUES = [
    ("kind", "text"),
    ("staff_id", "text"),
    ("student_id", "text"),
    ("opened_by", "text"),
    ("disabled_by", "text"),
    ("reason", "text"),
]


def upgrade() -> None:
    op.execute("SET ROLE hocba_owner")
    for statement in projection_table("account_records", KEYS, VALUES):
        op.execute(statement)
    op.execute("CREATE TABLE hocba.accounts_carried (school_id text, username text, PRIMARY KEY (school_id, username))")
    op.execute("REVOKE ALL ON hocba.accounts_carried FROM hocba_app, hocba_auditor")
    op.execute("INSERT INTO hocba.accounts_carried SELECT school_id, username FROM hocba.accounts")
    op.execute("ALTER TABLE hocba_read.assignments ADD COLUMN pending boolean, ADD COLUMN decision jsonb")
    op.execute("RESET ROLE")


def downgrade() -> None:
    op.execute("ALTER TABLE hocba_read.assignments DROP COLUMN pending, DROP COLUMN decision")
    op.execute("DROP TABLE IF EXISTS hocba.accounts_carried")
    op.execute("DROP TABLE hocba_read.account_records")
