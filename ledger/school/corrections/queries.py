"""Reading correction requests and the history of the values they concern."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base.errors import NotFound
from ledger.log.append import SchoolSession
from ledger.log.projection import history, read
from ledger.school.assessments.tables import assessments, conduct
from ledger.school.corrections.tables import corrections


async def request_row(session: SchoolSession, request_id: UUID) -> dict[str, Any]:
    rows = await read(session.conn, corrections, session.school, request_id=request_id)
    if not rows:
        raise NotFound(
            "correction.unknown", "không có đề nghị điều chỉnh này", "no such correction request", field="request"
        )
    return rows[0]


async def value_history(conn: AsyncConnection, school: str, target: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every version of the value a correction request concerns, oldest first: the value (or conduct
    level), who recorded it, and the seqs between which it stood."""
    if target["what"] == "conduct":
        versions = await history(
            conn, conduct, school, year=target["year"], student_id=target["student"], term=target["term"]
        )
    else:
        versions = await history(
            conn,
            assessments,
            school,
            year=target["year"],
            student_id=target["student"],
            subject=target["subject"],
            term=target["term"],
            kind=target["kind"],
            slot=target["slot"],
        )
    keep = ("value", "level", "recorded_by", "seq_from", "seq_to")
    return [{k: v.get(k) for k in keep if k in v} for v in versions]
