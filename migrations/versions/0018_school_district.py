"""The school's district (huyện, quận, thị xã or thành phố), the place line of the học bạ.

- `hocba_read.schools.district`: copied from school.registered events that carry it; registrations
  made before have none, so the column starts empty and agrees with a replay at once.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET ROLE hocba_owner")
    op.execute("ALTER TABLE hocba_read.schools ADD COLUMN district text")
    op.execute("RESET ROLE")


def downgrade() -> None:
    op.execute("SET ROLE hocba_owner")
    op.execute("ALTER TABLE hocba_read.schools DROP COLUMN district")
    op.execute("RESET ROLE")
