"""The signing fixture school: a small demo school (ledger.demo) with a registered demo certificate
for everyone who signs, and the steps of the signing flow as a signer takes them."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.demo import (
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
from signing.pki import Pki

__all__ = [
    "CERTS_FROM", "SIGNING_DAY", "YEAR", "Signers", "issuing", "sign_all", "sign_as", "sign_everything", "sign_pdf_as",
]  # fmt: skip


@pytest.fixture
async def signers(app_engine: AsyncEngine, school: str, pki: Pki) -> Signers:
    demo = await build_demo_school(app_engine, school, students_per_class=4, summer=False)
    demo.clock.set(SIGNING_DAY)
    return await certify(demo, pki)
