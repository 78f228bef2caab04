"""Limits that hold under concurrency: attempts are counted in the database as they are made.

- `hocba.attempt_counters`: one row per (school, key, window), its count raised by an atomic
  `INSERT … ON CONFLICT DO UPDATE … RETURNING count` before a password is checked or a portal
  request is answered, so that simultaneous attempts cannot all pass a limit that is read from the
  access trail after the responses (ledger.app.limits). A successful sign-in gives its attempt back.
  The service's role reads and writes it; rows of windows before the previous one are deleted as new ones are made.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30
"""

from alembic import op

from migrations.ddl import hash_partitions

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET ROLE hocba_owner")
    op.execute(
        """
        CREATE TABLE hocba.attempt_counters (
            school_id    text        NOT NULL,
            key          text        NOT NULL,
            window_start timestamptz NOT NULL,
            count        integer     NOT NULL,
            CONSTRAINT attempt_counters_pkey PRIMARY KEY (school_id, key, window_start)
        ) PARTITION BY HASH (school_id)
        """
    )
    for statement in hash_partitions("hocba.attempt_counters"):
        op.execute(statement)
    op.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON hocba.attempt_counters TO hocba_app")
    op.execute("GRANT SELECT ON hocba.attempt_counters TO hocba_auditor")
    op.execute("RESET ROLE")


def downgrade() -> None:
    op.execute("DROP TABLE hocba.attempt_counters")
