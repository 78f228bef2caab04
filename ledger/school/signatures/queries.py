"""The signatures a student's year holds now, and the XML and PDF học bạ as they stand."""

from __future__ import annotations

import base64
import hashlib
import json
from collections import OrderedDict, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base.clock import VN_TZ
from ledger.log.projection import read
from ledger.school.signatures.tables import signatures
from ledger.school.transcripts.hocba import document_models
from ledger.school.transcripts.verification import Verification
from signing.pdf.render import render_hocba
from signing.xml import document as hocba_xml


async def current_signatures(
    conn: AsyncConnection, school: str, year: str, student: str, fmt: str = "xml"
) -> list[dict[str, Any]]:
    rows = await read(conn, signatures, school, year=year, student_id=student, stale=False, format=fmt)
    return sorted(rows, key=lambda r: r["position"])


_RENDERED: OrderedDict[str, bytes] = OrderedDict()
_RENDERED_KEPT = 128  # a class and some: the PDFs a batch renders before and under the school's lock


def rendered(model: Mapping[str, Any]) -> bytes:
    """The PDF rendering of a document model (its verification part included). Rendering is a
    function of the model alone (the same data always renders the same bytes), so the last
    renderings are kept by the model's digest: a PDF prepared for its signer, checked when submitted
    and issued is rendered once."""
    key = hashlib.sha256(json.dumps(model, sort_keys=True, default=str).encode()).hexdigest()
    data = _RENDERED.get(key)
    if data is None:
        data = render_hocba(model)
        _RENDERED[key] = data
        while len(_RENDERED) > _RENDERED_KEPT:
            _RENDERED.popitem(last=False)
    else:
        _RENDERED.move_to_end(key)
    return data


@dataclass(frozen=True)
class Documents:
    """The học bạ of several students of one year as they stand: each document model, built once, and
    the signatures that are not stale, in order, by format ("xml", "pdf"). Loaded in one set of
    queries for a class, whatever its size; every XML and PDF a signature's check or an issuance
    needs is made from it."""

    year: str
    models: Mapping[str, dict[str, Any]]
    rows: Mapping[tuple[str, str], list[dict[str, Any]]]  # (student, format) -> signatures in order

    def signatures(self, student: str, fmt: str = "xml") -> list[dict[str, Any]]:
        return self.rows.get((student, fmt), [])

    def xml(self, student: str, *, issued_on: str | None = None) -> tuple[Any, list[dict[str, Any]]]:
        """The XML học bạ as it stands now: the data, the issuance part once sealed, and the
        signatures that are not stale, in order."""
        rows = self.signatures(student)
        sealed = next((r["issued_on"] for r in rows if r["role"] == "ORGANISATION"), None)
        on = sealed or issued_on
        root = hocba_xml.build(
            self.models[student],
            issuance={"date": on} if on else None,
            signatures=[base64.b64decode(r["element"]) for r in rows],
        )
        return root, rows

    def pdf(self, student: str, verification: Verification) -> tuple[bytes, list[dict[str, Any]]]:
        """The PDF học bạ as it stands: the rendering of the current data, with the day of the
        principal's approval, who signed in a departed teacher's place, and the verification code
        and the portal's address (`verification`; the XML carries neither), then each recorded
        signature's revision, in order (a PDF signature appends a revision and leaves the earlier
        bytes as they were)."""
        model = self.models[student]
        xml_rows = self.signatures(student)
        principal = {**model["years"][0]["principal"], "date": approved_on(xml_rows)}
        year = {**model["years"][0], "principal": principal}
        in_place = signed_in_place(xml_rows, model)
        if in_place:
            year["in_place"] = in_place
        printed = verification.printed(str(model["school"]["id"]), str(model["hocba_id"]))
        data = rendered({**model, "years": [year, *model["years"][1:]], "verification": printed})
        rows = self.signatures(student, "pdf")
        for row in rows:
            data += base64.b64decode(row["element"])
        return data, rows

    def class_of(self, student: str) -> str:
        return str(self.models[student]["years"][0]["class"])


async def load_documents(conn: AsyncConnection, school: str, year: str, students: Sequence[str]) -> Documents:
    """The học bạ of `students` (of one year) as they stand, in one set of queries."""
    models = await document_models(conn, school, year, students)
    query = select(signatures).where(
        signatures.c.school_id == school,
        signatures.c.year == year,
        signatures.c.student_id.in_(list(students)),
        signatures.c.stale.is_(False),
        signatures.c.seq_to.is_(None),
    )
    rows: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in sorted((await conn.execute(query)).mappings(), key=lambda r: r["position"]):
        public = {k: v for k, v in row.items() if k not in {"school_id", "seq_from", "seq_to"}}
        rows[(row["student_id"], row["format"])].append(public)
    return Documents(year, models, dict(rows))


async def xml_document(
    conn: AsyncConnection, school: str, year: str, student: str, *, issued_on: str | None = None
) -> tuple[Any, list[dict[str, Any]]]:
    """The XML học bạ of one student as it stands now (Documents.xml)."""
    return (await load_documents(conn, school, year, [student])).xml(student, issued_on=issued_on)


def approved_on(rows: Sequence[Mapping[str, Any]]) -> str | None:
    """The day, in Vietnam, of the principal's current signature of the XML học bạ (`rows`), which
    the PDF's place-and-date line over the principal's name states; None before it (the line is left
    to fill in). The principal signs the XML before the PDF (Điều 18), so every PDF signature is
    made over a rendering that states it."""
    signed = next((r["signing_time"] for r in rows if r["role"] == "PRINCIPAL"), None)
    return datetime.fromisoformat(signed).astimezone(VN_TZ).date().isoformat() if signed else None


def signed_in_place(rows: Sequence[Mapping[str, Any]], model: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The current XML signatures (`rows`) made in a departed teacher's place (Điều 18.5, 18.7), by
    name, as their KyThay says (checked against the signed one when recorded): the role, the
    subject's name, who signed, for whom, the decision."""
    names = {s["code"]: s["name"] for s in model["years"][0]["subjects"]}
    found = []
    for row in rows:
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
    conn: AsyncConnection, school: str, year: str, student: str, verification: Verification
) -> tuple[bytes, list[dict[str, Any]]]:
    """The PDF học bạ of one student as it stands (Documents.pdf)."""
    return (await load_documents(conn, school, year, [student])).pdf(student, verification)
