"""How transfer events fold into the read model of transfer records."""

from __future__ import annotations

from typing import Any

from ledger.format.envelope import Event
from ledger.log.projection import Projection, ProjectionWriter
from ledger.school.transfers.tables import TRANSFER_OPENED, TRANSFER_RECEIVED, TRANSFER_SIGNED, transfers


def _values(row: dict[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in transfers.info["values"]}


async def _on_opened(w: ProjectionWriter, e: Event) -> None:
    p = e.payload
    await w.put(
        transfers,
        {"transfer_id": p["transfer"]},
        {
            "student_id": p["student"],
            "direction": p["direction"],
            "kind": p["kind"],
            "departure": p["departure"],
            "year": p["year"],
            "other_school": p["other_school"],
            "status": "opened",
            "unsigned_sha256": p["unsigned_sha256"],
            "record_sha256": None,
            "signatures": [],
            "opened_by": str(e.actor.user),
        },
    )


async def _on_signed(w: ProjectionWriter, e: Event) -> None:
    p = e.payload
    row = await w.get(transfers, transfer_id=p["transfer"])
    if row is None:
        return
    signature = {"role": p["role"], "wrapper_id": p["wrapper_id"], "element": p["element"]}
    values = {**_values(row), "signatures": [*row["signatures"], signature]}
    values["status"] = "sealed" if p["record_sha256"] else "signed"
    values["record_sha256"] = p["record_sha256"] or row["record_sha256"]
    await w.put(transfers, {"transfer_id": p["transfer"]}, values)


async def _on_received(w: ProjectionWriter, e: Event) -> None:
    p = e.payload
    row = await w.get(transfers, transfer_id=p["transfer"])
    if row is not None:
        values = {**_values(row), "status": "received", "year": p["year"]}
    else:
        values = {
            "student_id": p["student"],
            "direction": "in",
            "kind": p["kind"],
            "departure": p["departure"],
            "year": p["year"],
            "other_school": p["from_school"],
            "status": "received",
            "unsigned_sha256": None,
            "record_sha256": p["record_sha256"],
            "signatures": [],
            "opened_by": str(e.actor.user),
        }
    await w.put(transfers, {"transfer_id": p["transfer"]}, values)


PROJECTION = Projection(
    "transfers",
    (transfers,),
    {TRANSFER_OPENED: _on_opened, TRANSFER_SIGNED: _on_signed, TRANSFER_RECEIVED: _on_received},
)
