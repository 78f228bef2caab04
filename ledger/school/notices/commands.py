"""Recording that a family's notice went out."""

from __future__ import annotations

from ledger.format.envelope import Actor, Event, NewEvent
from ledger.log.append import Ledger, SchoolSession
from ledger.log.projection import read
from ledger.school.notices.tables import FAMILY_NOTIFIED, family_notices


async def record_notified(
    ledger: Ledger, school: str, issuance: str, kind: str, recipients: int, actor: Actor
) -> list[Event]:
    """A family.notified event for a pending notice (`recipients` addresses it was sent to, 0 when
    the student has no guardian with an e-mail address). Nothing when it is no longer pending: a
    notice is recorded once."""

    async def decide(session: SchoolSession) -> list[NewEvent]:
        rows = await read(session.conn, family_notices, school, issuance_id=issuance, kind=kind)
        if not rows or rows[0]["status"] != "pending":
            return []
        payload = {"issuance": issuance, "kind": kind, "recipients": recipients}
        return [NewEvent(FAMILY_NOTIFIED, payload, actor)]

    return await ledger.decide(school, decide)
