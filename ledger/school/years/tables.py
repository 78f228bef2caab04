"""The school-year events and their read models."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, Index, SmallInteger, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB

from ledger.log.schema import projection_table

YEAR_OPENED = "year.opened"
SUBJECT_DEFINED = "subject.defined"
CLASS_OPENED = "class.opened"
STUDENT_REGISTERED = "student.registered"
STUDENT_ENROLLED = "student.enrolled"
STUDENT_WITHDRAWN = "student.withdrawn"
STAFF_REGISTERED = "staff.registered"
ASSIGNMENT_MADE = "assignment.made"
ASSIGNMENT_ENDED = "assignment.ended"
ASSIGNMENT_APPROVED = "assignment.approved"
ASSIGNMENT_REFUSED = "assignment.refused"

school_years = projection_table(
    "school_years", keys=[Column("year", Text)], values=[Column("starts", Date), Column("ends", Date)]
)
subjects = projection_table(
    "subjects",
    keys=[Column("year", Text), Column("code", Text), Column("grade", SmallInteger)],
    values=[
        Column("name", Text),
        Column("kind", Text),
        Column("periods", SmallInteger),
        Column("regular_count", SmallInteger),
    ],
)
classes = projection_table(
    "classes", keys=[Column("year", Text), Column("class_id", Text)], values=[Column("grade", SmallInteger)]
)
students = projection_table(
    "students",
    keys=[Column("student_id", Text)],
    values=[
        Column("ministry_code", Text),
        Column("full_name", Text),
        Column("gender", Text),
        Column("date_of_birth", Date),
        Column("birthplace", Text),
        Column("ethnicity", Text),
        Column("residence", Text),
        Column("guardians", JSONB),
    ],
)
enrolments = projection_table(
    "enrolments",
    keys=[Column("year", Text), Column("student_id", Text)],
    values=[Column("class_id", Text), Column("since", Date), Column("until", Date), Column("reason", Text)],
)
staff = projection_table(
    "staff",
    keys=[Column("staff_id", Text)],
    values=[Column("full_name", Text), Column("email", Text), Column("phone", Text)],
)
assignments = projection_table(
    "assignments",
    keys=[Column("assignment_id", Uuid)],
    values=[
        Column("staff_id", Text),
        Column("role", Text),
        Column("year", Text),
        Column("class_id", Text),
        Column("subject", Text),
        Column("term", SmallInteger),
        Column("valid_from", Date),
        Column("valid_to", Date),
        Column("pending", Boolean),  # waits for the principal's approval, and grants nothing meanwhile
        Column("decision", JSONB),  # the decision that appoints (a principal) or that was cited
    ],
)

Index(
    "enrolments_class",
    enrolments.c.school_id,
    enrolments.c.year,
    enrolments.c.class_id,
    postgresql_where=enrolments.c.seq_to.is_(None),
)
Index(
    "assignments_staff",
    assignments.c.school_id,
    assignments.c.staff_id,
    postgresql_where=assignments.c.seq_to.is_(None),
)
