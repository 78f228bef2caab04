"""How certificate and signature events fold into their read models; which signatures a change
makes stale."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ledger.format.envelope import Event
from ledger.log.projection import Projection, ProjectionWriter
from ledger.school.assessments.tables import (
    ABSENCES_RECORDED,
    ASSESSMENT_RECORDED,
    CONDUCT_RECORDED,
    HOMEROOM_COMMENT_RECORDED,
    REASSESSMENT_RECORDED,
    SUBJECT_COMMENT_RECORDED,
    SUMMER_CONDUCT_RECORDED,
)
from ledger.school.corrections.tables import ASSESSMENT_CORRECTED, CONDUCT_CORRECTED
from ledger.school.signatures.tables import (
    CERTIFICATE_REGISTERED,
    CERTIFICATE_REVOKED,
    SIGNATURE_ADDED,
    certificates,
    signatures,
)


async def _on_registered(w: ProjectionWriter, e: Event) -> None:
    p = e.payload
    await w.put(
        certificates,
        {"fingerprint": p["fingerprint"]},
        {
            "holder": p["holder"],
            "serial": p["serial"],
            "subject": p["subject"],
            "not_before": p["not_before"],
            "not_after": p["not_after"],
            "der": p["certificate"],
            "approved_by": str(e.actor.user),
            "revoked_at": None,
            "revocation_reason": None,
        },
    )


async def _on_revoked(w: ProjectionWriter, e: Event) -> None:
    current = await w.get(certificates, fingerprint=e.payload["fingerprint"])
    if current is not None:
        values = {k: current[k] for k in certificates.info["values"]}
        values.update(revoked_at=e.payload["at"], revocation_reason=e.payload["reason"])
        await w.put(certificates, {"fingerprint": e.payload["fingerprint"]}, values)


# The students with a signature not yet stale, kept for the batch being applied: most data entry
# concerns students nobody has signed for yet, and needs no look at their signatures.
SIGNED = "signatures.signed"


async def _signed(w: ProjectionWriter) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] | None = w.memo.get(SIGNED)
    if found is None:
        await w.flush()
        t = signatures
        rows = await w.conn.execute(
            select(t.c.year, t.c.student_id)
            .distinct()
            .where(t.c.school_id == w.school, t.c.seq_to.is_(None), t.c.stale.is_(False))
        )
        found = w.memo[SIGNED] = {(str(year), str(student)) for year, student in rows}
    return found


async def _on_signature(w: ProjectionWriter, e: Event) -> None:
    p = e.payload
    if SIGNED in w.memo:
        w.memo[SIGNED].add((p["year"], p["student"]))
    await w.put(
        signatures,
        {"year": p["year"], "student_id": p["student"], "wrapper_id": p["wrapper_id"]},
        {
            "position": e.seq,
            "format": p.get("format", "xml"),
            "role": p["role"],
            "subject": p["subject"],
            "parts": p["parts"],
            "digests": p["digests"],
            "signer": p["signer"],
            "fingerprint": p["fingerprint"],
            "signing_time": p["signing_time"],
            "issued_on": p["issued_on"],
            "element": p["element"],
            "stale": False,
        },
    )


def _stale_from(part_of: Any) -> Any:
    """Mark stale the signature over the changed part, and every signature made after it: a value
    entered, a comment written, a correction made, all change what was signed."""

    async def handler(w: ProjectionWriter, e: Event) -> None:
        if (e.payload["year"], e.payload["student"]) not in await _signed(w):
            return
        part = part_of(e.payload)
        rows = await w.rows(signatures, year=e.payload["year"], student_id=e.payload["student"], stale=False)
        covering = [r["position"] for r in rows if part in r["parts"]]
        first = min(covering, default=None)
        for row in rows:
            # the PDF shows every part: any change leaves its signatures stale
            if row["format"] == "pdf" or (first is not None and row["position"] >= first):
                key = {k: row[k] for k in ("year", "student_id", "wrapper_id")}
                await w.put(signatures, key, {**{k: row[k] for k in signatures.info["values"]}, "stale": True})

    return handler


PROJECTION = Projection(
    "signatures",
    (certificates, signatures),
    {
        CERTIFICATE_REGISTERED: _on_registered,
        CERTIFICATE_REVOKED: _on_revoked,
        SIGNATURE_ADDED: _on_signature,
        ASSESSMENT_RECORDED: _stale_from(lambda p: f"subject-{p['subject']}"),
        SUBJECT_COMMENT_RECORDED: _stale_from(lambda p: f"subject-{p['subject']}"),
        CONDUCT_RECORDED: _stale_from(lambda p: "homeroom"),
        ABSENCES_RECORDED: _stale_from(lambda p: "homeroom"),
        HOMEROOM_COMMENT_RECORDED: _stale_from(lambda p: "homeroom"),
        ASSESSMENT_CORRECTED: _stale_from(lambda p: f"subject-{p['subject']}"),
        CONDUCT_CORRECTED: _stale_from(lambda p: "homeroom"),
        REASSESSMENT_RECORDED: _stale_from(lambda p: f"subject-{p['subject']}"),
        SUMMER_CONDUCT_RECORDED: _stale_from(lambda p: "homeroom"),
    },
)
