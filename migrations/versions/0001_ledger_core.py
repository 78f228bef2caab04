"""Ledger core: roles, schemas, the event and checkpoint tables, append-only triggers, schools.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from alembic import op

from migrations.ddl import append_only, hash_partitions, projection_table

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

    op.execute(
        """
        CREATE TABLE hocba.events (
            school_id   text        NOT NULL,
            seq         bigint      NOT NULL CHECK (seq >= 1),
            event_id    uuid        NOT NULL,
            type        text        NOT NULL,
            recorded_at timestamptz NOT NULL,
            prev_hash   bytea       NOT NULL CHECK (octet_length(prev_hash) = 32),
            hash        bytea       NOT NULL CHECK (octet_length(hash) = 32),
            body        bytea       NOT NULL,
            CONSTRAINT events_pkey PRIMARY KEY (school_id, seq),
            CONSTRAINT events_event_id_key UNIQUE (school_id, event_id)
        ) PARTITION BY HASH (school_id)
        """
    )
    for statement in hash_partitions("hocba.events"):
        op.execute(statement)
    op.execute("CREATE INDEX events_type_idx ON hocba.events (school_id, type, seq)")
    op.execute("CREATE INDEX events_recorded_at_idx ON hocba.events (school_id, recorded_at)")
    for statement in append_only("hocba.events"):
        op.execute(statement)

    op.execute(
        """
        CREATE TABLE hocba.checkpoints (
            school_id   text   NOT NULL,
            tree_size   bigint NOT NULL CHECK (tree_size >= 1),
            root        bytea  NOT NULL CHECK (octet_length(root) = 32),
            signed_at   text   NOT NULL,
            signature   bytea  NOT NULL,
            certificate bytea  NOT NULL,
            frontier    bytea  NOT NULL,
            leaves_from bigint NOT NULL CHECK (leaves_from >= 0 AND leaves_from < tree_size),
            leaves      bytea  NOT NULL CHECK (octet_length(leaves) = 32 * (tree_size - leaves_from)),
            CONSTRAINT checkpoints_pkey PRIMARY KEY (school_id, tree_size)
        ) PARTITION BY HASH (school_id)
        """
    )
    for statement in hash_partitions("hocba.checkpoints"):
        op.execute(statement)
    for statement in append_only("hocba.checkpoints"):
        op.execute(statement)

    schools = [("name", "text"), ("ministry_code", "text"), ("province", "text"), ("address", "text")]
    for statement in projection_table("schools", [], schools):
        op.execute(statement)

    op.execute("GRANT USAGE ON SCHEMA hocba, hocba_read TO hocba_app, hocba_auditor")
    op.execute("GRANT SELECT, INSERT ON hocba.events, hocba.checkpoints TO hocba_app")
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
