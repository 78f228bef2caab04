"""The correction events and the read model of requests."""

from __future__ import annotations

from sqlalchemy import Column, Index, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB

from ledger.log.schema import projection_table

CORRECTION_REQUESTED = "correction.requested"
CORRECTION_APPROVED = "correction.approved"
CORRECTION_REJECTED = "correction.rejected"
CORRECTION_EXPIRED = "correction.expired"
ASSESSMENT_CORRECTED = "assessment.corrected"
CONDUCT_CORRECTED = "conduct.corrected"
RULE = "Điều 17.3"

corrections = projection_table(
    "corrections",
    keys=[Column("request_id", Uuid)],
    values=[
        Column("status", Text),
        Column("target", JSONB),
        Column("old_value", Text),
        Column("new_value", Text),
        Column("reason", Text),
        Column("attachment_sha256", Text),
        Column("requested_by", Text),
        Column("requested_at", Text),
        Column("decided_by", Text),
        Column("decided_at", Text),
        Column("decision_reason", Text),
    ],
)
Index(
    "corrections_status", corrections.c.school_id, corrections.c.status, postgresql_where=corrections.c.seq_to.is_(None)
)
