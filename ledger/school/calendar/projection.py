"""How the calendar's events fold into its read models."""

from __future__ import annotations

from ledger.format.envelope import Event
from ledger.log.projection import Projection, ProjectionWriter
from ledger.school.calendar.tables import (
    CALENDAR_REOPENED,
    CALENDAR_SET,
    DEADLINE_REACHED,
    ENTRY_LOCKED,
    ENTRY_OPENED,
    calendars,
    deadlines,
    locks,
    reopenings,
)


async def _on_calendar(w: ProjectionWriter, e: Event) -> None:
    await w.put(calendars, {"year": e.payload["year"]}, {"calendar": dict(e.payload)})


async def _on_lock(w: ProjectionWriter, e: Event) -> None:
    p = e.payload
    key = {"year": p["year"], "class_id": p["class"], "subject": p["subject"], "term": p["term"]}
    state = "closed" if e.type == ENTRY_LOCKED else "open"
    await w.put(locks, key, {"state": state, "order_ref": p["order"], "changed_by": str(e.actor.user)})


async def _on_deadline(w: ProjectionWriter, e: Event) -> None:
    await w.put(
        deadlines, {"year": e.payload["year"], "deadline": e.payload["deadline"]}, {"reached_at": e.payload["at"]}
    )


async def _on_reopening(w: ProjectionWriter, e: Event) -> None:
    p = e.payload
    await w.put(
        reopenings,
        {"year": p["year"], "document_number": p["document"]["number"]},
        {"opens_at": p["opens_at"], "until": p["until"], "document": p["document"], "recorded_by": str(e.actor.user)},
    )


PROJECTION = Projection(
    "deadlines",
    (calendars, locks, deadlines, reopenings),
    {
        CALENDAR_SET: _on_calendar,
        ENTRY_LOCKED: _on_lock,
        ENTRY_OPENED: _on_lock,
        DEADLINE_REACHED: _on_deadline,
        CALENDAR_REOPENED: _on_reopening,
    },
)
