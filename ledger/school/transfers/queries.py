"""Transfer records as they stand, and the sealed record byte for byte."""

from __future__ import annotations

import base64
from typing import Any

from lxml import etree
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base.errors import Conflict, NotFound
from ledger.log.projection import read
from ledger.school.issuance.queries import stored_document
from ledger.school.transfers.tables import transfers
from signing.xml import document as hocba_xml


async def record_as_it_stands(
    conn: AsyncConnection, school: str, transfer_id: str
) -> tuple[etree._Element, dict[str, Any]]:
    """The record as it stands: the opened record and the signatures recorded on it, in order."""
    rows = await read(conn, transfers, school, transfer_id=transfer_id)
    if not rows or rows[0]["unsigned_sha256"] is None:
        raise NotFound("transfer.unknown", "không có hồ sơ chuyển trường này", "no such transfer record")
    row = rows[0]
    root = hocba_xml.parse(await stored_document(conn, school, row["unsigned_sha256"]))
    container = root.find(hocba_xml.tag("ChuKySo"))
    assert container is not None
    for signature in row["signatures"]:
        container.append(hocba_xml.parse(base64.b64decode(signature["element"])))
    return root, row


async def sealed_record(conn: AsyncConnection, school: str, transfer_id: str) -> bytes:
    """The sealed record, byte for byte."""
    rows = await read(conn, transfers, school, transfer_id=transfer_id)
    if not rows:
        raise NotFound("transfer.unknown", "không có hồ sơ chuyển trường này", "no such transfer record")
    if rows[0]["record_sha256"] is None:
        raise Conflict(
            "transfer.unsealed",
            "Hồ sơ chuyển trường chưa được hiệu trưởng ký và văn thư đóng dấu.",
            "The transfer record is not yet signed by the principal and sealed by the clerk.",
        )
    return await stored_document(conn, school, rows[0]["record_sha256"])
