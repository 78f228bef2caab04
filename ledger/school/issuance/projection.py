"""How issuance events fold into the read model of issued học bạ."""

from __future__ import annotations

from typing import Any

from ledger.format.envelope import Event
from ledger.log.projection import Projection, ProjectionWriter
from ledger.school.issuance.tables import (
    HOCBA_INHERITED,
    HOCBA_ISSUED,
    HOCBA_PDF_ARCHIVED,
    HOCBA_RECEIPT,
    HOCBA_REVOKED,
    HOCBA_XML_ARCHIVED,
    issued,
)


def _values(row: dict[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in issued.info["values"]}


def _new_row(e: Event, **fields: Any) -> dict[str, Any]:
    """A học bạ's row as its issuance (or its inheritance) makes it; `fields` are what differ."""
    p = e.payload
    row: dict[str, Any] = dict.fromkeys(issued.info["values"])
    row.update(
        hocba_id=p["hocba_id"],
        year=p["year"],
        student_id=p["student"],
        class_id=p["class"],
        xml_c14n_sha256=p["xml_c14n_sha256"],
        pdf_sha256=p["pdf_sha256"],
        event_id=str(e.event_id),
        issued_on=p["issued_on"],
    )
    return {**row, **fields}


async def _on_issued(w: ProjectionWriter, e: Event) -> None:
    p = e.payload
    row = _new_row(e, status="issued", issued_by=str(e.actor.user), replaces=p["replaces"])
    await w.put(issued, {"issuance_id": p["issuance"]}, row)
    if p["replaces"]:
        old = await w.get(issued, issuance_id=p["replaces"])
        if old is not None:
            await w.put(issued, {"issuance_id": p["replaces"]}, {**_values(old), "replaced_by": p["issuance"]})


async def _on_receipt(w: ProjectionWriter, e: Event) -> None:
    row = await w.get(issued, issuance_id=e.payload["issuance"])
    if row is not None:
        await w.put(
            issued, {"issuance_id": e.payload["issuance"]}, {**_values(row), "xml_sha256": e.payload["xml_sha256"]}
        )


async def _on_pdf_archived(w: ProjectionWriter, e: Event) -> None:
    """The issued PDF, with its document timestamp renewed, is the one kept and handed out from now."""
    row = await w.get(issued, issuance_id=e.payload["issuance"])
    if row is not None:
        await w.put(
            issued, {"issuance_id": e.payload["issuance"]}, {**_values(row), "pdf_sha256": e.payload["pdf_sha256"]}
        )


async def _on_revoked(w: ProjectionWriter, e: Event) -> None:
    row = await w.get(issued, issuance_id=e.payload["issuance"])
    if row is not None:
        values = {**_values(row), "status": "revoked", "revoked_by": str(e.actor.user)}
        values["revocation_reason"] = e.payload["reason"]
        await w.put(issued, {"issuance_id": e.payload["issuance"]}, values)


async def _on_inherited(w: ProjectionWriter, e: Event) -> None:
    p = e.payload
    row = _new_row(e, status="inherited", xml_sha256=p["xml_sha256"], origin_school=p["origin_school"])
    await w.put(issued, {"issuance_id": p["issuance"]}, row)


PROJECTION = Projection(
    "issuance",
    (issued,),
    {
        HOCBA_ISSUED: _on_issued,
        HOCBA_RECEIPT: _on_receipt,
        HOCBA_REVOKED: _on_revoked,
        HOCBA_INHERITED: _on_inherited,
        HOCBA_XML_ARCHIVED: _on_receipt,  # the renewed XML is the one handed out; the earlier bytes stay stored
        HOCBA_PDF_ARCHIVED: _on_pdf_archived,
    },
)
