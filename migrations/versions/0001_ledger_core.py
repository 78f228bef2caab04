"""Ledger core: roles, schemas, the event and checkpoint tables, append-only triggers, schools.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from alembic import op

from migrations.ddl import chain_tables, projection_table

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ROLES = ("hocba_owner", "hocba_app", "hocba_auditor")


def upgrade() -> None:
    for role in ROLES:
        # Roles belong to the whole cluster; several databases (or concurrent test runs) share them.
        op.execute(
            f"DO $$ BEGIN CREATE ROLE {role} NOLOGIN; "
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        )
    op.execute(
        "DO $$ BEGIN IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN "
        "EXECUTE format('GRANT hocba_owner TO %I', current_user); END IF; END $$"
    )
    op.execute("CREATE SCHEMA hocba AUTHORIZATION hocba_owner")
    op.execute("CREATE SCHEMA hocba_read AUTHORIZATION hocba_owner")
    op.execute("SET ROLE hocba_owner")

    op.execute(
        """
        CREATE FUNCTION hocba.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'hocba: % on %.% is refused: the ledger is append-only', TG_OP,
                TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )

    for statement in chain_tables("events", "checkpoints"):
        op.execute(statement)

    schools = [("name", "text"), ("ministry_code", "text"), ("province", "text"), ("address", "text")]
    for statement in projection_table("schools", [], schools):
        op.execute(statement)

    op.execute("GRANT USAGE ON SCHEMA hocba, hocba_read TO hocba_app, hocba_auditor")
    op.execute("GRANT SELECT ON ALL TABLES IN SCHEMA hocba, hocba_read TO hocba_auditor")
    op.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA hocba_read TO hocba_app")
    op.execute(
        "ALTER DEFAULT PRIVILEGES FOR ROLE hocba_owner IN SCHEMA hocba_read "
        "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO hocba_app"
    )
    op.execute(
        "ALTER DEFAULT PRIVILEGES FOR ROLE hocba_owner IN SCHEMA hocba, hocba_read "
        "GRANT SELECT ON TABLES TO hocba_auditor"
    )
    op.execute("RESET ROLE")


def downgrade() -> None:
    raise RuntimeError("the ledger core cannot be downgraded: that would destroy recorded events")
