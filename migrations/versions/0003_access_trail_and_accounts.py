"""The access trail (a second hash-chained log, with its checkpoints), its read models, and accounts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from alembic import op

from migrations.ddl import chain_tables, projection_table

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET ROLE hocba_owner")
    for statement in chain_tables("access_log", "access_checkpoints"):
        op.execute(statement)

    tables = {
        "access_index": (
            [("entry", "bigint")],
            [
                ("at", "timestamptz"),
                ("request_id", "text"),
                ("username", "text"),
                ("roles", "text[]"),
                ("action", "text"),
                ("method", "text"),
                ("path", "text"),
                ("outcome", "text"),
                ("status", "integer"),
                ("client", "text"),
                ("students", "text[]"),
                ("reason", "text"),
            ],
        ),
        "alerts": (
            [("alert_id", "uuid")],
            [
                ("rule", "text"),
                ("username", "text"),
                ("window_from", "timestamptz"),
                ("window_to", "timestamptz"),
                ("raised_at", "timestamptz"),
                ("detail", "jsonb"),
            ],
        ),
    }
    for name, (keys, values) in tables.items():
        for statement in projection_table(name, keys, values):
            op.execute(statement)
    op.execute("CREATE INDEX access_index_user ON hocba_read.access_index (school_id, username, at)")
    op.execute("CREATE INDEX access_index_outcome ON hocba_read.access_index (school_id, outcome, at)")
    op.execute("CREATE INDEX access_index_at ON hocba_read.access_index (school_id, at)")
    op.execute("CREATE INDEX access_index_students ON hocba_read.access_index USING gin (students)")

    op.execute(
        """
        CREATE TABLE hocba.accounts (
            school_id     text        NOT NULL,
            username      text        NOT NULL,
            kind          text        NOT NULL,
            staff_id      text,
            student_id    text,
            password_hash text,
            api_key_hash  text UNIQUE,
            disabled      boolean     NOT NULL DEFAULT false,
            created_at    timestamptz NOT NULL DEFAULT now(),
            updated_at    timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT accounts_pkey PRIMARY KEY (school_id, username)
        )
        """
    )
    op.execute("GRANT SELECT, INSERT, UPDATE ON hocba.accounts TO hocba_app")
    # Auditors see who has an account, never a credential.
    op.execute("REVOKE SELECT ON hocba.accounts FROM hocba_auditor")  # granted by the default privileges
    op.execute(
        "GRANT SELECT (school_id, username, kind, staff_id, student_id, disabled, created_at, updated_at)"
        " ON hocba.accounts TO hocba_auditor"
    )
    op.execute("RESET ROLE")


def downgrade() -> None:
    raise RuntimeError("the access trail cannot be downgraded: that would destroy recorded access")
