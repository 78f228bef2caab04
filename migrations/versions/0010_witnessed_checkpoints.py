"""Checkpoints that chain and carry time, and witnesses (docs/LEDGER-FORMAT.md §6, §9).

- Every checkpoint of either log now also keeps what its version 2 statement signs: the head hash, the
  previous checkpoint of the same log and the latest checkpoint of the other log; its C2SP signed
  note; and the RFC 3161 timestamp token over its signature.
- `hocba.cosignatures`: the witnesses' cosignatures of the school's checkpoints, append-only.
- The witness's own tables, for an installation that runs `hocba witness serve`: the logs it
  witnesses, every checkpoint it cosigned, and the evidence of what it refused (a smaller tree, a
  fork).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from alembic import op

from migrations.ddl import append_only, hash_partitions

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

STATEMENT_COLUMNS = (
    "ADD COLUMN version smallint NOT NULL DEFAULT 1 CHECK (version IN (1, 2))",
    "ADD COLUMN head bytea CHECK (octet_length(head) = 32)",
    "ADD COLUMN prev_size bigint CHECK (prev_size >= 1)",
    "ADD COLUMN prev_root bytea CHECK (octet_length(prev_root) = 32)",
    "ADD COLUMN peer_size bigint CHECK (peer_size >= 1)",
    "ADD COLUMN peer_root bytea CHECK (octet_length(peer_root) = 32)",
    "ADD COLUMN note bytea",
    "ADD COLUMN time_stamp_token bytea",
)


def upgrade() -> None:
    op.execute("SET ROLE hocba_owner")
    for table in ("hocba.checkpoints", "hocba.access_checkpoints"):
        op.execute(f"ALTER TABLE {table} {', '.join(STATEMENT_COLUMNS)}")
    op.execute(
        """
        CREATE TABLE hocba.cosignatures (
            school_id   text        NOT NULL,
            log         text        NOT NULL CHECK (log IN ('events', 'access')),
            tree_size   bigint      NOT NULL CHECK (tree_size >= 1),
            witness     text        NOT NULL,
            line        bytea       NOT NULL,
            cosigned_at timestamptz NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT cosignatures_pkey PRIMARY KEY (school_id, log, tree_size, witness)
        ) PARTITION BY HASH (school_id)
        """
    )
    for statement in (*hash_partitions("hocba.cosignatures"), *append_only("hocba.cosignatures")):
        op.execute(statement)
    op.execute("GRANT SELECT, INSERT ON hocba.cosignatures TO hocba_app")
    op.execute("GRANT SELECT ON hocba.cosignatures TO hocba_auditor")

    op.execute(
        """
        CREATE TABLE hocba.witness_logs (
            origin   text        PRIMARY KEY,
            vkey     text        NOT NULL,
            added_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE TABLE hocba.witness_checkpoints (
            origin      text        NOT NULL REFERENCES hocba.witness_logs (origin),
            tree_size   bigint      NOT NULL CHECK (tree_size >= 0),
            root        bytea       NOT NULL CHECK (octet_length(root) = 32),
            note        bytea       NOT NULL,
            cosigned_at timestamptz NOT NULL,
            CONSTRAINT witness_checkpoints_pkey PRIMARY KEY (origin, tree_size)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE hocba.witness_evidence (
            id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            origin      text        NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now(),
            problem     text        NOT NULL,
            old_size    bigint      NOT NULL,
            submitted   bytea       NOT NULL,
            held        bytea
        )
        """
    )
    for table in ("hocba.witness_checkpoints", "hocba.witness_evidence"):
        op.execute(
            f"CREATE TRIGGER {table.split('.')[1]}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION hocba.refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table.split('.')[1]}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION hocba.refuse_change()"
        )
    op.execute("GRANT SELECT, INSERT ON hocba.witness_logs, hocba.witness_checkpoints TO hocba_app")
    op.execute("GRANT SELECT, INSERT ON hocba.witness_evidence TO hocba_app")
    op.execute("GRANT SELECT ON hocba.witness_logs, hocba.witness_checkpoints, hocba.witness_evidence TO hocba_auditor")
    op.execute("RESET ROLE")


def downgrade() -> None:
    op.execute("SET ROLE hocba_owner")
    op.execute("DROP TABLE hocba.witness_evidence, hocba.witness_checkpoints, hocba.witness_logs, hocba.cosignatures")
    for table in ("hocba.checkpoints", "hocba.access_checkpoints"):
        columns = ", ".join(f"DROP COLUMN {c.split()[2]}" for c in STATEMENT_COLUMNS)
        op.execute(f"ALTER TABLE {table} {columns}")
    op.execute("RESET ROLE")
