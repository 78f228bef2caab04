"""Renewing the archive timestamps of issued XML học bạ (XAdES-LTA; Điều 15, 23.2, 28.3).

An archive timestamp proves that the whole signed document existed at its time only for as long as
its time-stamping authority's certificate stands. Before that certificate expires, a new archive
timestamp from the school's authority is put after it, over the document with the earlier ones
(signing.xml.archive): the chain of timestamps carries the proof forward, decade after decade. Each
renewal is a ledger event (`hocba.xml_archive_renewed`) naming the new bytes, which are stored beside
the earlier ones (hocba.documents keeps every version); the issued XML handed out is the newest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509

from ledger.base.clock import format_time
from ledger.base.logs import get_logger
from ledger.format.envelope import SYSTEM, Event, NewEvent
from ledger.log.append import Ledger, SchoolSession
from ledger.log.checkpointing import Stamp
from ledger.log.projection import read
from ledger.school.issuance.commands import store_document
from ledger.school.issuance.queries import stored_document
from ledger.school.issuance.tables import HOCBA_XML_ARCHIVED, issued
from signing.x509.timestamps import check_timestamp
from signing.xml import archive
from signing.xml import document as hocba_xml

log = get_logger(__name__)
RENEWAL_MARGIN = timedelta(days=365)  # renew when the last authority's certificate expires within a year


@dataclass(frozen=True)
class _Due:
    row: dict[str, Any]
    root: Any
    expires: datetime | None  # the last archive timestamp's authority certificate (None: no archive timestamp)


async def due_for_renewal(ledger: Ledger, school: str, now: datetime, margin: timedelta) -> list[_Due]:
    """The school's issued học bạ whose last archive timestamp's authority certificate expires before
    `now + margin`, or that have none (issued before XAdES-LTA)."""
    due = []
    async with ledger.engine.connect() as conn:
        rows = [r for r in await read(conn, issued, school, status="issued") if r["xml_sha256"]]
        for row in rows:
            root = hocba_xml.parse(await stored_document(conn, school, row["xml_sha256"]))
            tokens = archive.tokens(root)
            expires = archive.authority_expiry(tokens[-1]) if tokens else None
            if expires is None or expires <= now + margin:
                due.append(_Due(row, root, expires))
    return due


async def renew_archive_timestamps(
    ledger: Ledger,
    school: str,
    stamp: Stamp,
    trusted_roots: Sequence[x509.Certificate],
    *,
    margin: timedelta = RENEWAL_MARGIN,
) -> list[Event]:
    """Add a new archive timestamp to every issued học bạ of the school that is due (see
    `due_for_renewal`), at the ledger's clock; each renewed document is stored and recorded by a
    `hocba.xml_archive_renewed` event. A document renewed meanwhile by another run is left as it is."""
    now = ledger.clock.now()
    renewed: list[tuple[_Due, bytes, datetime]] = []
    for item in await due_for_renewal(ledger, school, now, margin):
        content = archive.archive_input(item.root, len(archive.tokens(item.root)))
        token = await stamp(content)
        checked = await check_timestamp(token, content, trusted_roots, moment=now)
        if checked.time is None or checked.problems:
            raise ValueError("the time-stamping authority's token does not validate: " + "; ".join(checked.problems))
        expires = archive.authority_expiry(token)
        if item.expires is not None and (expires is None or expires <= item.expires):
            # the authority still signs with the certificate about to expire: a new timestamp would
            # prove nothing longer; it must renew its certificate first
            log.warning(
                "the time-stamping authority's certificate expires soon; archive timestamps cannot be renewed",
                school=school,
                expires=format_time(item.expires),
            )
            break
        archive.add(item.root, token)
        renewed.append((item, hocba_xml.to_bytes(item.root), checked.time))
    if not renewed:
        return []

    async def decide(session: SchoolSession) -> list[NewEvent]:
        made = []
        for item, data, moment in renewed:
            current = await read(session.conn, issued, session.school, issuance_id=item.row["issuance_id"])
            if not current or current[0]["xml_sha256"] != item.row["xml_sha256"] or current[0]["status"] != "issued":
                continue
            digest = await store_document(session.conn, session.school, data, "application/xml")
            stamped = archive.authority_expiry(archive.tokens(hocba_xml.parse(data))[-1])
            payload = {
                "issuance": item.row["issuance_id"],
                "xml_sha256": digest,
                "previous_xml_sha256": item.row["xml_sha256"],
                "archive_time": format_time(moment),
                "authority_expires": format_time(stamped) if stamped else None,
            }
            made.append(NewEvent(HOCBA_XML_ARCHIVED, payload, SYSTEM))
        return made

    return await ledger.decide(school, decide)
