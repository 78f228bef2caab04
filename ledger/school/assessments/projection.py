"""How the assessment events fold into their read models."""

from __future__ import annotations

from ledger.log.projection import Projection, copy_payload, recorded_by
from ledger.school.assessments.tables import (
    ABSENCES_RECORDED,
    ASSESSMENT_RECORDED,
    CONDUCT_RECORDED,
    HOMEROOM_COMMENT_RECORDED,
    REASSESSMENT_RECORDED,
    SUBJECT_COMMENT_RECORDED,
    SUMMER_CONDUCT_RECORDED,
    absences,
    assessments,
    conduct,
    homeroom_comments,
    reassessments,
    subject_comments,
    summer_conduct,
)

_STUDENT_YEAR = {"year": "year", "student_id": "student", "class_id": "class"}

PROJECTION = Projection(
    "assessments",
    (assessments, subject_comments, conduct, absences, homeroom_comments, reassessments, summer_conduct),
    {
        ASSESSMENT_RECORDED: copy_payload(
            assessments,
            {
                **_STUDENT_YEAR,
                "subject": "subject",
                "term": "term",
                "kind": "kind",
                "slot": "slot",
                "value": "value",
                "source": "source",
                "recorded_by": recorded_by,
            },
        ),
        SUBJECT_COMMENT_RECORDED: copy_payload(
            subject_comments,
            {**_STUDENT_YEAR, "subject": "subject", "term": "term", "text": "text", "recorded_by": recorded_by},
        ),
        CONDUCT_RECORDED: copy_payload(
            conduct, {**_STUDENT_YEAR, "term": "term", "level": "level", "recorded_by": recorded_by}
        ),
        ABSENCES_RECORDED: copy_payload(
            absences, {**_STUDENT_YEAR, "term": "term", "excused": "excused", "unexcused": "unexcused"}
        ),
        HOMEROOM_COMMENT_RECORDED: copy_payload(
            homeroom_comments, {**_STUDENT_YEAR, "period": "period", "text": "text"}
        ),
        REASSESSMENT_RECORDED: copy_payload(
            reassessments, {**_STUDENT_YEAR, "subject": "subject", "value": "value", "recorded_by": recorded_by}
        ),
        SUMMER_CONDUCT_RECORDED: copy_payload(
            summer_conduct, {**_STUDENT_YEAR, "level": "level", "recorded_by": recorded_by}
        ),
    },
)
