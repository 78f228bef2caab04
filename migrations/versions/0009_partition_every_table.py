"""Every table partitioned by school (hash of school_id), so that no transaction and no hot query
touches more than one school's partition, and a sharded PostgreSQL (Citus, school_id as the
distribution column) takes the same tables. Read models made after this are partitioned when made
(migrations/ddl.py); this turns the earlier ones, the documents and the accounts.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from alembic import op
from sqlalchemy import text

from migrations.ddl import append_only, partition_by_school

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    plain = (
        bind.execute(
            text(
                "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname IN ('hocba', 'hocba_read') AND c.relkind = 'r' AND NOT c.relispartition "
                "AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'school_id') "
                "ORDER BY 1"
            )
        )
        .scalars()
        .all()
    )
    op.execute("SET ROLE hocba_owner")
    if "hocba.accounts" in plain:
        # A unique key of a partitioned table includes the partition key; an API key names its school.
        op.execute("ALTER TABLE hocba.accounts DROP CONSTRAINT accounts_api_key_hash_key")
    for table in plain:
        for statement in partition_by_school(table):
            op.execute(statement)
        if table.startswith("hocba_read."):
            op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO hocba_app")
            op.execute(f"GRANT SELECT ON {table} TO hocba_auditor")
    if "hocba.documents" in plain:
        op.execute("GRANT SELECT, INSERT ON hocba.documents TO hocba_app")
        op.execute("GRANT SELECT ON hocba.documents TO hocba_auditor")
        for statement in append_only("hocba.documents"):
            op.execute(statement)
    if "hocba.accounts" in plain:
        op.execute("CREATE UNIQUE INDEX accounts_api_key ON hocba.accounts (school_id, api_key_hash)")
        op.execute("GRANT SELECT, INSERT, UPDATE ON hocba.accounts TO hocba_app")
        op.execute(
            "GRANT SELECT (school_id, username, kind, staff_id, student_id, disabled, created_at, updated_at)"
            " ON hocba.accounts TO hocba_auditor"
        )
    op.execute("RESET ROLE")


def downgrade() -> None:
    raise RuntimeError("partitioning is kept: undo it by restoring a backup made before this revision")
