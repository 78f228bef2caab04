"""Reading issued documents: the exact stored bytes, and the verification codes given before the PDF
printed one."""

from __future__ import annotations

import base64
import hashlib
import hmac

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base.errors import NotFound
from ledger.log.projection import read
from ledger.school.issuance.tables import documents, issued


def lookup_code(secret: bytes, school: str, issuance_id: str) -> str:
    """The verification code of one issuance, as it was given to families before the PDF printed the
    học bạ's own (ledger.school.transcripts.verification): the portal's lookup still accepts it for
    that issuance. Derived from the service's secret and kept nowhere; ten characters, in two groups
    of five."""
    digest = hmac.new(secret, f"hocba-lookup:{school}:{issuance_id}".encode(), hashlib.sha256).digest()
    code = base64.b32encode(digest).decode()[:10]
    return f"{code[:5]}-{code[5:]}"


async def issued_file(
    conn: AsyncConnection, school: str, student: str, issuance: str, kind: str
) -> tuple[bytes, str] | None:
    """The exact bytes of a student's issued học bạ, "xml" (with its receipt) or "pdf", and its
    học bạ id; None when this student has no such issuance or file."""
    rows = await read(conn, issued, school, issuance_id=issuance, student_id=student)
    digest = rows[0][f"{kind}_sha256"] if rows else None
    if digest is None:
        return None
    return await stored_document(conn, school, digest), str(rows[0]["hocba_id"])


async def stored_document(conn: AsyncConnection, school: str, digest: str) -> bytes:
    row = (
        await conn.execute(
            select(documents.c.content).where(documents.c.school_id == school, documents.c.sha256 == digest)
        )
    ).first()
    if row is None:
        raise NotFound("document.unknown", "không có tệp này", "no such document", field="sha256")
    return bytes(row[0])


async def issued_pdf(conn: AsyncConnection, school: str, year: str, student: str) -> bytes | None:
    """The PDF học bạ of a student's year as issued and standing (archived for the long term, with
    its latest renewal); None before it is issued, or once revoked."""
    rows = await read(conn, issued, school, year=year, student_id=student, status="issued")
    if not rows or rows[0]["pdf_sha256"] is None:
        return None
    return await stored_document(conn, school, rows[0]["pdf_sha256"])
