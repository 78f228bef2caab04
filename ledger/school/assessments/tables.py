"""The assessment events and their read models."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Column, Integer, SmallInteger, Text
from sqlalchemy.dialects.postgresql import JSONB

from ledger.log.schema import projection_table

ASSESSMENT_RECORDED = "assessment.recorded"
SUBJECT_COMMENT_RECORDED = "subject_comment.recorded"
CONDUCT_RECORDED = "conduct.recorded"
ABSENCES_RECORDED = "absences.recorded"
HOMEROOM_COMMENT_RECORDED = "homeroom_comment.recorded"
REASSESSMENT_RECORDED = "reassessment.recorded"
SUMMER_CONDUCT_RECORDED = "summer_conduct.recorded"


class Slot(StrEnum):
    REGULAR = "regular"  # ĐĐGtx, slot 1..n
    MIDTERM = "midterm"  # ĐĐGgk
    FINAL = "final"  # ĐĐGck


assessments = projection_table(
    "assessments",
    keys=[
        Column("year", Text),
        Column("student_id", Text),
        Column("subject", Text),
        Column("term", SmallInteger),
        Column("kind", Text),
        Column("slot", SmallInteger),
    ],
    values=[Column("class_id", Text), Column("value", Text), Column("recorded_by", Text), Column("source", JSONB)],
)
subject_comments = projection_table(
    "subject_comments",
    keys=[Column("year", Text), Column("student_id", Text), Column("subject", Text), Column("term", SmallInteger)],
    values=[Column("class_id", Text), Column("text", Text), Column("recorded_by", Text)],
)
conduct = projection_table(
    "conduct",
    keys=[Column("year", Text), Column("student_id", Text), Column("term", SmallInteger)],
    values=[Column("class_id", Text), Column("level", Text), Column("recorded_by", Text)],
)
absences = projection_table(
    "absences",
    keys=[Column("year", Text), Column("student_id", Text), Column("term", SmallInteger)],
    values=[Column("class_id", Text), Column("excused", Integer), Column("unexcused", Integer)],
)
homeroom_comments = projection_table(
    "homeroom_comments",
    keys=[Column("year", Text), Column("student_id", Text), Column("period", Text)],
    values=[Column("class_id", Text), Column("text", Text)],
)
reassessments = projection_table(
    "reassessments",
    keys=[Column("year", Text), Column("student_id", Text), Column("subject", Text)],
    values=[Column("class_id", Text), Column("value", Text), Column("recorded_by", Text)],
)
summer_conduct = projection_table(
    "summer_conduct",
    keys=[Column("year", Text), Column("student_id", Text)],
    values=[Column("class_id", Text), Column("level", Text), Column("recorded_by", Text)],
)
