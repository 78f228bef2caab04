"""A changed password ends the account's sessions: tokens issued before it are refused.

- `hocba.accounts.sessions_from`: the time from which the account's tokens count; a token issued
  before it (its `iat`) is refused at its next request, by every process. Empty for every account
  today, so every token issued so far still counts.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET ROLE hocba_owner")
    op.execute("ALTER TABLE hocba.accounts ADD COLUMN sessions_from timestamptz")
    op.execute("RESET ROLE")


def downgrade() -> None:
    op.execute("SET ROLE hocba_owner")
    op.execute("ALTER TABLE hocba.accounts DROP COLUMN sessions_from")
    op.execute("RESET ROLE")
