"""Leaving: a signed-out session's token is refused at once, and one person has one active account.

- `hocba.revoked_tokens`: the tokens ended before they expire (signing out), append-only; a token is
  named by its `jti` claim. Rows older than the tokens' lifetime are harmless and may stay.
- At most one active account per staff member, and per student for a student's own account: a
  second account bound to the principal's staff id would act, and sign, as the principal
  (Điều 5.3c, 24.3).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from alembic import op

from migrations.ddl import append_only, hash_partitions

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET ROLE hocba_owner")
    op.execute(
        """
        CREATE TABLE hocba.revoked_tokens (
            school_id  text        NOT NULL,
            jti        text        NOT NULL,
            username   text        NOT NULL,
            expires_at timestamptz NOT NULL,
            revoked_at timestamptz NOT NULL,
            CONSTRAINT revoked_tokens_pkey PRIMARY KEY (school_id, jti)
        ) PARTITION BY HASH (school_id)
        """
    )
    for statement in (*hash_partitions("hocba.revoked_tokens"), *append_only("hocba.revoked_tokens")):
        op.execute(statement)
    op.execute("GRANT SELECT, INSERT ON hocba.revoked_tokens TO hocba_app")
    op.execute("GRANT SELECT ON hocba.revoked_tokens TO hocba_auditor")
    op.execute(
        "CREATE UNIQUE INDEX accounts_one_active_staff ON hocba.accounts (school_id, staff_id) "
        "WHERE staff_id IS NOT NULL AND NOT disabled"
    )
    op.execute(
        "CREATE UNIQUE INDEX accounts_one_active_student ON hocba.accounts (school_id, student_id) "
        "WHERE kind = 'STUDENT' AND NOT disabled"
    )
    op.execute("RESET ROLE")


def downgrade() -> None:
    op.execute("DROP INDEX hocba.accounts_one_active_student")
    op.execute("DROP INDEX hocba.accounts_one_active_staff")
    op.execute("DROP TABLE hocba.revoked_tokens")
