"""How a class sheet's signature folds into its read model."""

from __future__ import annotations

from ledger.format.envelope import Event
from ledger.log.projection import Projection, ProjectionWriter
from ledger.school.class_sheets.tables import SHEET_SIGNED, sheet_signatures


async def _on_signed(w: ProjectionWriter, e: Event) -> None:
    p = e.payload
    key = {"year": p["year"], "class_id": p["class"], "subject": p["subject"], "term": p["term"]}
    names = ("signer", "fingerprint", "signing_time", "digest", "wrapper_id", "element")
    await w.put(sheet_signatures, key, {name: p[name] for name in names})


PROJECTION = Projection("class_sheets", (sheet_signatures,), {SHEET_SIGNED: _on_signed})
