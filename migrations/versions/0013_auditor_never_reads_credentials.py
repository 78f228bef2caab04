"""Auditors see who has an account, never a credential: the column grant of 0003 again.

Migration 0009 rebuilt `hocba.accounts` as a partitioned table; the default privileges of the schema
then gave the auditor role SELECT on the whole table and on each partition, password and API-key
hashes included. Here the auditor keeps SELECT on the columns that say who has an account, and
nothing on the partitions (queries go through the parent, where the column grant is checked).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from alembic import op

from migrations.ddl import PARTITIONS

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

VISIBLE = "school_id, username, kind, staff_id, student_id, disabled, created_at, updated_at"


def upgrade() -> None:
    op.execute("SET ROLE hocba_owner")
    op.execute("REVOKE SELECT ON hocba.accounts FROM hocba_auditor")
    for index in range(PARTITIONS):
        op.execute(f"REVOKE ALL ON hocba.accounts_p{index:02d} FROM hocba_auditor")
    op.execute(f"GRANT SELECT ({VISIBLE}) ON hocba.accounts TO hocba_auditor")
    op.execute("RESET ROLE")


def downgrade() -> None:
    pass  # a credential once hidden from auditors stays hidden
