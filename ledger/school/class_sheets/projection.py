"""How the signatures of a class's documents fold into their read models: the class sheet's and the
class's term record's."""

from __future__ import annotations

from ledger.format.envelope import Event
from ledger.log.projection import Projection, ProjectionWriter
from ledger.school.class_sheets.tables import CLASS_TERM_SIGNED, SHEET_SIGNED, sheet_signatures, term_signatures

_SIGNATURE = ("signer", "fingerprint", "signing_time", "digest", "wrapper_id", "element")


async def _on_signed(w: ProjectionWriter, e: Event) -> None:
    p = e.payload
    key = {"year": p["year"], "class_id": p["class"], "subject": p["subject"], "term": p["term"]}
    await w.put(sheet_signatures, key, {name: p[name] for name in _SIGNATURE})


async def _on_term_signed(w: ProjectionWriter, e: Event) -> None:
    p = e.payload
    key = {"year": p["year"], "class_id": p["class"], "term": p["term"]}
    await w.put(term_signatures, key, {name: p[name] for name in _SIGNATURE})


PROJECTION = Projection(
    "class_sheets",
    (sheet_signatures, term_signatures),
    {SHEET_SIGNED: _on_signed, CLASS_TERM_SIGNED: _on_term_signed},
)
