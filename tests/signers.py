"""The signing fixture school: staff with registered demo certificates, and the steps of the signing
flow as a signer would take them (prepare on the service, sign on the signer's side, submit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.clock import VN_TZ
from ledger.demo import CLERK, PRINCIPAL, DemoSchool, build_demo_school
from ledger.envelope import Actor
from ledger.roles import Role
from ledger.signatures import (
    current_signatures,
    document,
    pdf_document,
    prepare,
    register_certificate,
    submit,
    submit_pdf,
)
from signing import xml as hocba_xml
from signing.pki import Pki, ServiceSigner

YEAR = "2025-2026"
SIGNING_DAY = datetime(2026, 8, 12, 9, tzinfo=VN_TZ)  # after the summer results, before the final date
CERTS_FROM = datetime(2025, 8, 1, tzinfo=VN_TZ)


@dataclass
class Signers:
    demo: DemoSchool
    pki: Pki
    people: dict[str, ServiceSigner]  # staff id, or "organisation" -> key and certificate

    def holder(self, role: str, subject: str | None, class_id: str) -> tuple[Actor, ServiceSigner]:
        if role == "SUBJECT_TEACHER":
            staff = self.demo.subject_teachers[subject or ""]
            return Actor(staff, Role.SUBJECT_TEACHER), self.people[staff]
        if role == "HOMEROOM_TEACHER":
            staff = self.demo.homeroom[class_id]
            return Actor(staff, Role.HOMEROOM_TEACHER), self.people[staff]
        if role == "PRINCIPAL":
            return PRINCIPAL, self.people[PRINCIPAL.user]
        return CLERK, self.people["organisation"]


@pytest.fixture
async def signers(app_engine: AsyncEngine, school: str, pki: Pki) -> Signers:
    demo = await build_demo_school(app_engine, school, students_per_class=4, summer=False)
    demo.clock.set(SIGNING_DAY)
    people: dict[str, ServiceSigner] = {}
    staff = {*demo.subject_teachers.values(), *demo.homeroom.values(), PRINCIPAL.user}
    for member in sorted(staff):
        people[member] = pki.issue_demo_personal(school, member, member, valid_from=CERTS_FROM)
    people["organisation"] = pki.issue_demo_organisation(school, "Trường THCS Khánh Phú", valid_from=CERTS_FROM)
    for holder in people.values():
        await register_certificate(demo.ledger, school, PRINCIPAL, holder.certificate, pki.roots())
    return Signers(demo, pki, people)


async def sign_as(
    s: Signers,
    student: str,
    role: str,
    subject: str | None = None,
    *,
    holder: tuple[Actor, ServiceSigner] | None = None,
    tamper: Any = None,
    at: datetime | None = None,
) -> Any:
    """Prepare on the service, sign on the signer's side, submit."""
    demo = s.demo
    async with demo.ledger.engine.connect() as conn:
        class_id = next(c for c, r in demo.rosters.items() if student in r)
        prepared = await prepare(conn, demo.school, YEAR, student, role, subject, demo.clock.now().date())
    actor, keys = holder or s.holder(role, subject, class_id)
    signed = hocba_xml.sign_prepared(
        prepared["document"], keys.key, keys.certificate, signing_time=at or demo.clock.now()
    )
    if tamper is not None:
        signed = tamper(signed)
    return await submit(demo.ledger, demo.school, actor, YEAR, student, signed, s.pki.roots(), [s.pki.crl()])


async def sign_everything(s: Signers, student: str) -> bytes:
    """Every signature the XML still lacks, in order."""
    async with s.demo.ledger.engine.connect() as conn:
        root, _ = await document(conn, s.demo.school, YEAR, student)
        done = await current_signatures(conn, s.demo.school, YEAR, student)
    signed = {(r["role"], r["subject"]) for r in done}
    for subject in [e.get("Ma") for e in root.iter(hocba_xml.tag("MonHoc"))]:
        if ("SUBJECT_TEACHER", subject) not in signed:
            await sign_as(s, student, "SUBJECT_TEACHER", subject)
    for role in ("HOMEROOM_TEACHER", "PRINCIPAL", "ORGANISATION"):
        if (role, None) not in signed:
            await sign_as(s, student, role)
    async with s.demo.ledger.engine.connect() as conn:
        root, _ = await document(conn, s.demo.school, YEAR, student)
    return hocba_xml.to_bytes(root)


async def sign_pdf_as(s: Signers, student: str, role: str, holder: ServiceSigner | None = None) -> Any:
    from signing.pdf import local_time_stamper, sign_pdf

    demo = s.demo
    async with demo.ledger.engine.connect() as conn:
        current, _ = await pdf_document(conn, demo.school, YEAR, student)
    keys = holder or (s.people[PRINCIPAL.user] if role == "PRINCIPAL" else s.people["organisation"])
    signed = await sign_pdf(
        current, keys.key, keys.certificate, chain=s.pki.roots(),
        appearance="principal" if role == "PRINCIPAL" else "seal", role=role, signer_name=role,
        signing_time=demo.clock.now(), time_stamper=local_time_stamper(s.pki), field_name=f"ky-{role.lower()}",
    )  # fmt: skip
    actor = PRINCIPAL if role == "PRINCIPAL" else CLERK
    return await submit_pdf(demo.ledger, demo.school, actor, YEAR, student, signed, s.pki.roots(), [s.pki.crl()])
