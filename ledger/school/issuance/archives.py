"""Renewing the document timestamp of issued PDF học bạ (PAdES-B-LTA, signing.pdf.archive) before the
certificate of the authority that made it expires: a newer document timestamp, over the file and the
validation material of the one before, proves that one existed while it could still be checked. Each
renewal is a `hocba.pdf_archive_renewed` event naming the new PDF, which is kept and handed out from then
on; the earlier bytes stay stored."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from cryptography import x509
from pyhanko.sign.timestamps.api import TimeStamper

from ledger.base.clock import format_time
from ledger.base.logs import get_logger
from ledger.format.envelope import SYSTEM, Event, NewEvent
from ledger.log.append import Ledger, SchoolSession
from ledger.log.projection import read
from ledger.school.issuance.commands import store_document
from ledger.school.issuance.queries import stored_document
from ledger.school.issuance.tables import HOCBA_PDF_ARCHIVED, issued
from signing.pdf.archive import archive_pdf, document_timestamps, newest_authority
from signing.pdf.layout import PdfError

log = get_logger(__name__)

# renewed this long before the newest document timestamp's authority certificate expires
RENEW_BEFORE = timedelta(days=365)


async def renew_archives(
    ledger: Ledger,
    school: str,
    trusted_roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    time_stamper: TimeStamper,
    *,
    before: timedelta = RENEW_BEFORE,
) -> list[Event]:
    """Renew the document timestamp of every issued PDF of the school whose newest one's authority
    certificate expires within `before` (on the ledger's clock). A renewal whose new timestamp's
    authority certificate expires no later than the old one's is not kept (the authority's
    certificate must be renewed first; logged). Returns the `hocba.pdf_archive_renewed` events."""
    now = ledger.clock.now()
    due: list[tuple[dict[str, object], bytes, x509.Certificate]] = []
    async with ledger.engine.connect() as conn:
        for row in await read(conn, issued, school, status="issued"):
            if row["pdf_sha256"] is None:
                continue
            pdf = await stored_document(conn, school, row["pdf_sha256"])
            authority = newest_authority(pdf)
            if authority is not None and authority.not_valid_after_utc - now <= before:
                due.append((row, pdf, authority))
    renewed: list[tuple[dict[str, object], bytes]] = []
    for row, pdf, authority in due:
        try:
            new = await archive_pdf(pdf, trusted_roots, crls, time_stamper, renewal=True)
        except PdfError as exc:
            log.warning(
                "the archive of an issued PDF could not be renewed", issuance=row["issuance_id"], error=str(exc)
            )
            continue
        fresh = newest_authority(new)
        if fresh is None or fresh.not_valid_after_utc <= authority.not_valid_after_utc:
            log.warning(
                "the time-stamping authority's certificate expires no later than the one to renew; renew it first",
                issuance=row["issuance_id"],
                expires=format_time(authority.not_valid_after_utc),
            )
            continue
        renewed.append((row, new))
    if not renewed:
        return []

    async def decide(session: SchoolSession) -> list[NewEvent]:
        made = []
        for row, new in renewed:
            current = await read(session.conn, issued, session.school, issuance_id=row["issuance_id"])
            if not current or current[0]["status"] != "issued" or current[0]["pdf_sha256"] != row["pdf_sha256"]:
                continue  # revoked or renewed meanwhile
            authority = newest_authority(new)
            assert authority is not None
            payload = {
                "issuance": row["issuance_id"],
                "pdf_sha256": await store_document(session.conn, session.school, new, "application/pdf"),
                "previous_pdf_sha256": row["pdf_sha256"],
                "timestamp": format_time(document_timestamps(new)[-1]),
                "authority_expires": format_time(authority.not_valid_after_utc),
            }
            made.append(NewEvent(HOCBA_PDF_ARCHIVED, payload, SYSTEM))
        return made

    return await ledger.decide(school, decide)
