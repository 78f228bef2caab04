"""The signing fixture school: a small demo school (ledger.demo) with a registered demo certificate
for everyone who signs, and the steps of the signing flow as a signer takes them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.app.demo import (
    CERTS_FROM,
    SIGNING_DAY,
    YEAR,
    Signers,
    build_demo_school,
    certify,
    issuing,
    sign_all,
    sign_as,
    sign_everything,
    sign_pdf_as,
)
from ledger.app.runtime import Runtime
from ledger.format.envelope import Event
from ledger.log.projection import read
from ledger.school.issuance.queries import stored_document
from ledger.school.issuance.tables import issued
from signing.x509.pki import Pki

__all__ = [
    "CERTS_FROM",
    "SIGNING_DAY",
    "YEAR",
    "Issued",
    "Signers",
    "issuing",
    "sign_all",
    "sign_as",
    "sign_everything",
    "sign_pdf_as",
    "signed_and_issued",
]


@pytest.fixture
async def signers(app_engine: AsyncEngine, school: str, pki: Pki, runtime: Runtime) -> Signers:
    demo = await build_demo_school(app_engine, school, students_per_class=4, summer=False)
    demo.clock.set(SIGNING_DAY)
    return await certify(demo, pki, runtime.signer(school), runtime.verification())


@dataclass(frozen=True)
class Issued:
    event: Event  # the clerk's issuance
    row: dict[str, Any]  # its row in the issued read model
    xml: bytes  # the files exactly as stored and handed out
    pdf: bytes


async def signed_and_issued(s: Signers, student: str) -> Issued:
    """Every signature of the student's học bạ in order, then the clerk's issuance."""
    await sign_all(s, student)
    event = await issuing(s, student)()
    async with s.demo.ledger.engine.connect() as conn:
        [row] = await read(conn, issued, s.demo.school, issuance_id=event.payload["issuance"])
        xml = await stored_document(conn, s.demo.school, row["xml_sha256"])
        pdf = await stored_document(conn, s.demo.school, row["pdf_sha256"])
    return Issued(event, row, xml, pdf)
