"""The school-year model and assessment read models.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from alembic import op

from migrations.ddl import projection_table

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = {
    "school_years": ([("year", "text")], [("starts", "date"), ("ends", "date")]),
    "subjects": (
        [("year", "text"), ("code", "text"), ("grade", "smallint")],
        [("name", "text"), ("kind", "text"), ("periods", "smallint"), ("regular_count", "smallint")],
    ),
    "classes": ([("year", "text"), ("class_id", "text")], [("grade", "smallint")]),
    "students": (
        [("student_id", "text")],
        [
            ("ministry_code", "text"),
            ("full_name", "text"),
            ("gender", "text"),
            ("date_of_birth", "date"),
            ("birthplace", "text"),
            ("ethnicity", "text"),
            ("residence", "text"),
            ("guardians", "jsonb"),
        ],
    ),
    "enrolments": (
        [("year", "text"), ("student_id", "text")],
        [("class_id", "text"), ("since", "date"), ("until", "date"), ("reason", "text")],
    ),
    "staff": ([("staff_id", "text")], [("full_name", "text"), ("email", "text"), ("phone", "text")]),
    "assignments": (
        [("assignment_id", "uuid")],
        [
            ("staff_id", "text"),
            ("role", "text"),
            ("year", "text"),
            ("class_id", "text"),
            ("subject", "text"),
            ("term", "smallint"),
            ("valid_from", "date"),
            ("valid_to", "date"),
        ],
    ),
    "assessments": (
        [
            ("year", "text"),
            ("student_id", "text"),
            ("subject", "text"),
            ("term", "smallint"),
            ("kind", "text"),
            ("slot", "smallint"),
        ],
        [("class_id", "text"), ("value", "text"), ("recorded_by", "text"), ("source", "jsonb")],
    ),
    "subject_comments": (
        [("year", "text"), ("student_id", "text"), ("subject", "text"), ("term", "smallint")],
        [("class_id", "text"), ("text", "text"), ("recorded_by", "text")],
    ),
    "conduct": (
        [("year", "text"), ("student_id", "text"), ("term", "smallint")],
        [("class_id", "text"), ("level", "text"), ("recorded_by", "text")],
    ),
    "absences": (
        [("year", "text"), ("student_id", "text"), ("term", "smallint")],
        [("class_id", "text"), ("excused", "integer"), ("unexcused", "integer")],
    ),
    "homeroom_comments": (
        [("year", "text"), ("student_id", "text"), ("period", "text")],
        [("class_id", "text"), ("text", "text")],
    ),
    "reassessments": (
        [("year", "text"), ("student_id", "text"), ("subject", "text")],
        [("class_id", "text"), ("value", "text"), ("recorded_by", "text")],
    ),
    "summer_conduct": (
        [("year", "text"), ("student_id", "text")],
        [("class_id", "text"), ("level", "text"), ("recorded_by", "text")],
    ),
}


def upgrade() -> None:
    op.execute("SET ROLE hocba_owner")  # the default privileges of 0001 grant the new tables
    for name, (keys, values) in TABLES.items():
        for statement in projection_table(name, keys, values):
            op.execute(statement)
    op.execute(
        "CREATE INDEX enrolments_class ON hocba_read.enrolments (school_id, year, class_id) WHERE seq_to IS NULL"
    )
    op.execute("CREATE INDEX assignments_staff ON hocba_read.assignments (school_id, staff_id) WHERE seq_to IS NULL")
    op.execute("RESET ROLE")


def downgrade() -> None:
    for name in reversed(list(TABLES)):
        op.execute(f"DROP TABLE hocba_read.{name}")
    op.execute("DROP INDEX IF EXISTS hocba_read.enrolments_class")
