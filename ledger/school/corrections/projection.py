"""How correction events fold into the requests and into the corrected assessments and conduct."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ledger.format.envelope import Event
from ledger.log.projection import Projection, ProjectionWriter, copy_payload
from ledger.school.assessments.tables import assessments, conduct
from ledger.school.corrections.tables import (
    ASSESSMENT_CORRECTED,
    CONDUCT_CORRECTED,
    CORRECTION_APPROVED,
    CORRECTION_EXPIRED,
    CORRECTION_REJECTED,
    CORRECTION_REQUESTED,
    corrections,
)


async def _on_requested(w: ProjectionWriter, e: Event) -> None:
    p = e.payload
    await w.put(
        corrections,
        {"request_id": UUID(p["request"])},
        {
            "status": "pending",
            "target": p["target"],
            "old_value": p["old"],
            "new_value": p["new"],
            "reason": p["reason"],
            "attachment_sha256": p["attachment_sha256"],
            "requested_by": str(e.actor.user),
            "requested_at": e.recorded_at.isoformat(),
            "decided_by": None,
            "decided_at": None,
            "decision_reason": None,
        },
    )


def _decided(status: str) -> Any:
    async def handler(w: ProjectionWriter, e: Event) -> None:
        await w.amend(
            corrections,
            {"request_id": UUID(e.payload["request"])},
            status=status,
            decided_by=str(e.actor.user),
            decided_at=e.recorded_at.isoformat(),
            decision_reason=e.payload.get("reason") or e.payload.get("deadline"),
        )

    return handler


_STUDENT_YEAR = {"year": "year", "student_id": "student", "class_id": "class", "term": "term"}

PROJECTION = Projection(
    "corrections",
    (corrections,),
    {
        CORRECTION_REQUESTED: _on_requested,
        CORRECTION_APPROVED: _decided("approved"),
        CORRECTION_REJECTED: _decided("rejected"),
        CORRECTION_EXPIRED: _decided("expired"),
        ASSESSMENT_CORRECTED: copy_payload(
            assessments,
            {
                **_STUDENT_YEAR,
                "subject": "subject",
                "kind": "kind",
                "slot": "slot",
                "value": "value",
                "recorded_by": "requested_by",
                "source": lambda e: {"correction": e.payload["request"]},
            },
        ),
        CONDUCT_CORRECTED: copy_payload(conduct, {**_STUDENT_YEAR, "level": "value", "recorded_by": "requested_by"}),
    },
)
