"""What the staff pages share: the class and grade-sheet addresses, names of students, a class's
subjects, and signing with the demo signer's key (development only)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from sqlalchemy import select

from api.http.scope import principal_of, runtime_of, year_of
from api.pages.toolkit import (
    SCHOOL_PAGE,
)
from api.v1.signatures import check_signer, prepare_for, submit_for, submit_pdf_for
from ledger.app.db import AUDITOR_ROLE
from ledger.app.runtime import Runtime
from ledger.base.errors import Conflict, NotFound
from ledger.base.vietnamese import name_order
from ledger.format.envelope import Event
from ledger.log.projection import read
from ledger.school.signatures.queries import pdf_document
from ledger.school.years.model import hocba_order
from ledger.school.years.tables import classes, enrolments, students, subjects
from signing.pdf.sign import sign_pdf
from signing.xml import xades

CLASS_PAGE = SCHOOL_PAGE + "/lop/{class_id:str}"
SHEET_PAGE = CLASS_PAGE + "/mon/{subject:str}/hoc-ky/{term:str}"
STATUSES = ("pending", "approved", "rejected", "expired")


def need_year(request: Request[Any, Any, Any]) -> str:
    year = year_of(request)
    if year is None:
        raise NotFound("year.unknown", "trường chưa mở năm học nào", "the school has opened no school year")
    return year


async def student_names(conn: Any, school: str, ids: list[str], column: str = "full_name") -> dict[str, str]:
    """The students' names (or another column of their profiles: `ministry_code`), by identifier."""
    rows = await conn.execute(
        select(students.c.student_id, students.c[column]).where(
            students.c.school_id == school, students.c.student_id.in_(ids), students.c.seq_to.is_(None)
        )
    )
    return {row[0]: row[1] for row in rows}


async def roster_names(runtime: Runtime, school: str, year: str, class_id: str) -> dict[str, str]:
    """The students enrolled in the class now, by personal identifier, with their names, in order."""
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        enrolled = [
            r["student_id"]
            for r in await read(conn, enrolments, school, year=year, class_id=class_id)
            if r["until"] is None
        ]
        names = await student_names(conn, school, enrolled)
    return {sid: names.get(sid, sid) for sid in sorted(enrolled, key=lambda s: (name_order(names.get(s) or s), s))}


async def subject_names_of(runtime: Runtime, school: str, year: str | None) -> dict[str, str]:
    """The names of the year's subjects, by code."""
    if not year:
        return {}
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        return {row["code"]: row["name"] for row in await read(conn, subjects, school, year=year)}


async def class_subjects(runtime: Runtime, school: str, year: str, class_id: str) -> list[dict[str, Any]]:
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        found = await read(conn, classes, school, year=year, class_id=class_id)
        if not found:
            raise NotFound("class.unknown", f"không có lớp {class_id} năm học {year}", f"no class {class_id} in {year}")
        rows = await read(conn, subjects, school, year=year, grade=found[0]["grade"])
    return sorted(rows, key=lambda row: hocba_order(row["code"], row["name"]))


def demo_sign(runtime: Runtime, school: str, holder: str | None, prepared: bytes) -> bytes:
    keys = runtime.demo_signer(school, holder)
    return xades.sign_prepared(prepared, keys.key, keys.certificate, signing_time=runtime.clock.now())


async def sign_hocba(
    request: Request[Any, Any, Any],
    state: State,
    school: str,
    year: str,
    student: str,
    role: str,
    subject: str | None,
) -> Event:
    """One học bạ signature through prepare → sign (the demo signer) → submit, as a signer's own
    software does it; the service checks the signed document exactly as it checks any other."""
    runtime = runtime_of(state)
    prepared = await prepare_for(request, state, school, year, student, role, subject)
    principal = principal_of(request)
    holder = "organisation" if role == "ORGANISATION" else principal.staff_id
    signed = demo_sign(runtime, school, holder, prepared["document"])
    return await submit_for(request, state, school, year, student, signed)


async def sign_pdf_hocba(
    request: Request[Any, Any, Any], state: State, school: str, year: str, student: str, role: str
) -> Event:
    """The principal's signature or the school's seal on the PDF học bạ (Điều 13), with a timestamp of
    the demo time-stamping authority; checked by the service like any other signed PDF."""

    runtime = runtime_of(state)
    principal = principal_of(request)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        await check_signer(conn, principal, school, year, student, role, None)
        current, done = await pdf_document(conn, school, year, student, runtime.verification())
    if role in {r["role"] for r in done}:
        raise Conflict(
            "signature.done",
            "Phần này đã được ký và chưa thay đổi.",
            "This part is already signed and has not changed since.",
        )
    keys = runtime.demo_signer(school, "organisation" if role == "ORGANISATION" else principal.staff_id)
    stamper = runtime.time_stamper()
    signed = await sign_pdf(
        current,
        keys.key,
        keys.certificate,
        chain=runtime.trusted_roots(),
        appearance="principal" if role == "PRINCIPAL" else "seal",
        role=role,
        signer_name=keys.certificate.subject.rfc4514_string(),
        signing_time=runtime.clock.now(),
        time_stamper=stamper,
        field_name=f"ky-{role.lower()}",
    )
    return await submit_pdf_for(request, state, school, year, student, signed)
