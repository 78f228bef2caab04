"""How issuance, revocation and family.notified events fold into the notices owed to families."""

from __future__ import annotations

from ledger.format.envelope import Event
from ledger.log.projection import Projection, ProjectionWriter
from ledger.school.issuance.tables import HOCBA_ISSUED, HOCBA_REVOKED, issued
from ledger.school.notices.tables import FAMILY_NOTIFIED, family_notices


async def _owed(w: ProjectionWriter, e: Event, kind: str) -> None:
    row = await w.get(issued, issuance_id=e.payload["issuance"])
    if row is None:
        return
    values = {
        "student_id": row["student_id"],
        "year": row["year"],
        "class_id": row["class_id"],
        "hocba_id": row["hocba_id"],
        "status": "pending",
        "recipients": 0,
    }
    await w.put(family_notices, {"issuance_id": e.payload["issuance"], "kind": kind}, values)


async def _on_issued(w: ProjectionWriter, e: Event) -> None:
    await _owed(w, e, "issued")


async def _on_revoked(w: ProjectionWriter, e: Event) -> None:
    await _owed(w, e, "revoked")


async def _on_notified(w: ProjectionWriter, e: Event) -> None:
    p = e.payload
    status = "sent" if p["recipients"] else "nobody"
    await w.amend(
        family_notices, {"issuance_id": p["issuance"], "kind": p["kind"]}, status=status, recipients=p["recipients"]
    )


PROJECTION = Projection(
    "notices",
    (family_notices,),
    {HOCBA_ISSUED: _on_issued, HOCBA_REVOKED: _on_revoked, FAMILY_NOTIFIED: _on_notified},
)
