"""Issued học bạ: the exact bytes, content-addressed and append-only, and the issuance read model.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from alembic import op

from migrations.ddl import projection_table

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ISSUED = [
    ("hocba_id", "text"),
    ("year", "text"),
    ("student_id", "text"),
    ("class_id", "text"),
    ("status", "text"),
    ("xml_sha256", "text"),
    ("xml_c14n_sha256", "text"),
    ("pdf_sha256", "text"),
    ("event_id", "text"),
    ("issued_on", "text"),
    ("issued_by", "text"),
    ("replaces", "text"),
    ("replaced_by", "text"),
    ("revoked_by", "text"),
    ("revocation_reason", "text"),
]


def upgrade() -> None:
    op.execute("SET ROLE hocba_owner")
    op.execute(
        """
        CREATE TABLE hocba.documents (
            school_id  text  NOT NULL,
            sha256     text  NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
            media_type text  NOT NULL,
            content    bytea NOT NULL,
            CONSTRAINT documents_pkey PRIMARY KEY (school_id, sha256)
        )
        """
    )
    op.execute(
        "CREATE TRIGGER documents_append_only BEFORE UPDATE OR DELETE ON hocba.documents "
        "FOR EACH ROW EXECUTE FUNCTION hocba.refuse_change()"
    )
    op.execute(
        "CREATE TRIGGER documents_no_truncate BEFORE TRUNCATE ON hocba.documents "
        "FOR EACH STATEMENT EXECUTE FUNCTION hocba.refuse_change()"
    )
    op.execute("GRANT SELECT, INSERT ON hocba.documents TO hocba_app")
    for statement in projection_table("issued", [("issuance_id", "text")], ISSUED):
        op.execute(statement)
    op.execute("RESET ROLE")


def downgrade() -> None:
    raise RuntimeError("issued documents cannot be downgraded: that would destroy what was issued")
