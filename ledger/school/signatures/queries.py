"""The signatures a student's year holds now, and the XML and PDF học bạ as they stand."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.log.projection import read
from ledger.school.signatures.tables import signatures
from ledger.school.transcripts.hocba import document_model
from signing.pdf.render import render_hocba
from signing.xml import document as hocba_xml


async def current_signatures(
    conn: AsyncConnection, school: str, year: str, student: str, fmt: str = "xml"
) -> list[dict[str, Any]]:
    rows = await read(conn, signatures, school, year=year, student_id=student, stale=False, format=fmt)
    return sorted(rows, key=lambda r: r["position"])


async def xml_document(
    conn: AsyncConnection, school: str, year: str, student: str, *, issued_on: str | None = None
) -> tuple[Any, list[dict[str, Any]]]:
    """The XML học bạ as it stands now: the data, the issuance part once sealed, and the signatures
    that are not stale, in order."""
    model = await document_model(conn, school, year, student)
    rows = await current_signatures(conn, school, year, student)
    sealed = next((r["issued_on"] for r in rows if r["role"] == "ORGANISATION"), None)
    on = sealed or issued_on
    root = hocba_xml.build(
        model,
        issuance={"date": on} if on else None,
        signatures=[base64.b64decode(r["element"]) for r in rows],
    )
    return root, rows


async def signed_in_place(
    conn: AsyncConnection, school: str, year: str, student: str, model: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The current XML signatures made in a departed teacher's place (Điều 18.5, 18.7), by name, as
    their KyThay says (checked against the signed one when recorded): the role, the subject's name,
    who signed, for whom, the decision."""
    names = {s["code"]: s["name"] for s in model["years"][0]["subjects"]}
    found = []
    for row in await current_signatures(conn, school, year, student):
        wrapper = hocba_xml.parse(base64.b64decode(row["element"]))
        named = hocba_xml.substitution_of(wrapper)
        if named is None:
            continue
        found.append(
            {
                "role": row["role"],
                "subject": names.get(row["subject"], row["subject"]) if row["subject"] else None,
                "by": named["NguoiKyHoTen"],
                "for": named["ThayMatHoTen"],
                "decision": named["QuyetDinh"],
            }
        )
    return found


async def pdf_document(
    conn: AsyncConnection, school: str, year: str, student: str
) -> tuple[bytes, list[dict[str, Any]]]:
    """The PDF học bạ as it stands: the rendering of the current data, then each recorded signature's
    revision, in order (a PDF signature appends a revision and leaves the earlier bytes as they were)."""

    model = await document_model(conn, school, year, student)
    rows = await current_signatures(conn, school, year, student, "pdf")
    in_place = await signed_in_place(conn, school, year, student, model)
    if in_place:
        model = {**model, "years": [{**model["years"][0], "in_place": in_place}, *model["years"][1:]]}
    data = render_hocba(model)
    for row in rows:
        data += base64.b64decode(row["element"])
    return data, rows
