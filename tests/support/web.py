"""What the page tests share: a school in the middle of term I, with its own clock, accounts for the
people who use the pages, and the demo signing keys of everyone who signs."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.app.demo import ADMIN, PRINCIPAL, VICE_PRINCIPAL, DemoSchool, build_demo_school, certify
from ledger.app.runtime import Runtime, verification_for
from ledger.app.service_keys import ServiceKeys
from ledger.base.settings import Settings
from ledger.log.checkpointing import checkpoint_logs
from ledger.log.projection import read
from ledger.school.accounts.commands import create_account
from ledger.school.assessments.commands import SheetEntry, record_sheet
from ledger.school.calendar.commands import set_lock
from ledger.school.calendar.model import LockScope
from ledger.school.calendar.tables import ANY
from ledger.school.class_sheets.commands import prepare_sheet, submit_sheet
from ledger.school.readmodels import school_ledger
from ledger.school.rules.policy import AccountKind
from ledger.school.rules.tt22 import Kind
from ledger.school.years.tables import subjects
from signing.x509.keys import DocumentSigner
from signing.x509.pki import Pki
from signing.xml import xades
from tests.support.helpers import SETUP, SETUP_PRINCIPAL, database_url_of

PASSWORD = "mat-khau-trang-web"
AUDITOR = "thanhtra.phong"


@dataclass
class TermSchool:
    demo: DemoSchool
    runtime: Runtime  # the service's runtime, on the school's clock
    teacher: str  # teaches TOAN in every class
    homeroom: str  # homeroom teacher of 6A1

    @property
    def school(self) -> str:
        return self.demo.school


async def school_in_term(engine: AsyncEngine, settings: Settings, pki: Pki, *, students: int = 3) -> TermSchool:
    """A school on 1 October 2025: calendar set, staff assigned, term I's entry window open, no
    grades yet; demo certificates registered and their keys saved where the demo signer finds them."""
    demo = await build_demo_school(engine, f"w-{uuid.uuid4().hex[:10]}", terms=(), students_per_class=students)
    signers = await certify(demo, pki, ServiceKeys(settings, pki).signer(demo.school), verification_for(settings))
    runtime = await service_for(demo, settings, signers.people)
    await accounts(
        runtime,
        demo,
        [PRINCIPAL.user, VICE_PRINCIPAL.user, ADMIN.user, demo.subject_teachers["TOAN"], demo.homeroom["6A1"]],
    )
    await create_account(
        school_ledger(runtime.engine(), clock=runtime.clock),
        demo.school,
        AUDITOR,
        AccountKind.AUDITOR,
        password=PASSWORD,
        actor=SETUP_PRINCIPAL,
    )
    await checkpoint_logs(runtime.engine(), runtime.signer, demo.clock, runtime.checkpoint_policy(), [demo.school])
    return TermSchool(demo, runtime, demo.subject_teachers["TOAN"], demo.homeroom["6A1"])


async def service_for(demo: DemoSchool, settings: Settings, people: dict[str, DocumentSigner]) -> Runtime:
    """The service's runtime on the school's clock, with every signer's demo key saved where the
    pages' demo signer finds it."""
    pki = Pki(settings.pki_dir)
    for name, holder in people.items():
        pki.save_holder(demo.school, name, holder)
    return Runtime(settings, database_url_of(settings), demo.clock)


async def accounts(runtime: Runtime, demo: DemoSchool, staff: list[str]) -> None:
    for username in dict.fromkeys(staff):
        await create_account(
            school_ledger(runtime.engine(), clock=runtime.clock),
            demo.school,
            username,
            AccountKind.STAFF,
            password=PASSWORD,
            actor=SETUP,
        )


async def sign_in(client: httpx.AsyncClient, school: str, username: str, password: str = PASSWORD) -> httpx.Response:
    answer = await client.post("/dang-nhap", data={"school": school, "username": username, "password": password})
    assert answer.status_code == 303, answer.text
    return answer


async def fill_sheet(client: httpx.AsyncClient, school: str, students: list[str], term: int = 1) -> None:
    """Enter every empty cell of the Toán sheet of 6A1 for `students`, as the teacher does on the page,
    so that the sheet can be signed (a sheet with a pupil's assessment missing is not)."""
    page = await client.get(sheet_path(school, term=term))
    data = {"csrf": csrf(page.text)}
    for student in students:
        regular = page.text.count(f'id="c-{student}-regular-')
        for kind, slot, value in [
            *(("regular", n, "8") for n in range(1, regular + 1)),
            ("midterm", 0, "7"),
            ("final", 0, "9"),
        ]:
            name = cell(student, kind, slot)
            if f'name="{name}" type="text" value=""' in page.text:
                data[name] = value
    answer = await client.post(sheet_path(school, term=term), data=data)
    assert answer.status_code == 303, answer.text


async def lock_entry(
    demo: DemoSchool,
    *,
    closed: bool = True,
    class_id: str = "6A1",
    subject: str | None = "TOAN",
    term_no: int = 1,
) -> None:
    """The admin closes (or opens again) entry of one class sheet (of the whole class: subject None) on
    the principal's order (Điều 36.2): once nothing more can be entered, what was entered may be
    signed (Điều 18.3, 18.4)."""
    order = "Lệnh khóa số 5/LĐ" if closed else "Lệnh mở số 6/LĐ"
    await set_lock(
        demo.ledger,
        demo.school,
        ADMIN,
        LockScope(demo.year, class_id, subject or ANY, term_no),
        closed=closed,
        order=order,
        ordered_by=PRINCIPAL.user,
    )


async def signed_sheets(
    demo: DemoSchool,
    pki: Pki,
    keys: Callable[[str], DocumentSigner],
    class_id: str = "6A1",
    term: int = 1,
    *,
    unsigned: tuple[str, ...] = (),
) -> list[str]:
    """Every subject's sheet of the class for the term entered in full by its teacher and signed
    (Điều 18.3), except those of `unsigned`, entered but left unsigned; the subjects' codes. `keys`
    gives a teacher's demo key by staff id."""
    async with demo.ledger.engine.connect() as conn:
        listed = await read(conn, subjects, demo.school, year=demo.year, grade=demo.classes[class_id])
    for subject in listed:
        code, value = subject["code"], "8" if subject["kind"] == Kind.SCORE.value else "Đ"
        pupils = demo.rosters[class_id]
        entries = [SheetEntry(s, "regular", value, n) for s in pupils for n in range(1, subject["regular_count"] + 1)]
        entries += [SheetEntry(s, kind, value) for s in pupils for kind in ("midterm", "final")]
        await record_sheet(
            demo.ledger,
            demo.school,
            demo.teacher(code),
            year=demo.year,
            term=term,
            class_id=class_id,
            subject=code,
            entries=entries,
        )
        if code not in unsigned:
            await sign_sheet(demo, pki, keys, class_id, code, term)
    return [subject["code"] for subject in listed]


async def sign_sheet(
    demo: DemoSchool, pki: Pki, keys: Callable[[str], DocumentSigner], class_id: str, subject: str, term: int = 1
) -> None:
    """Entry of the class sheet locked on the principal's order, then its subject teacher signs it with
    their demo key (Điều 18.3, 36.2)."""
    await lock_entry(demo, class_id=class_id, subject=subject, term_no=term)
    teacher = demo.teacher(subject)
    async with demo.ledger.engine.connect() as conn:
        prepared = await prepare_sheet(conn, demo.school, demo.year, class_id, subject, term, demo.clock.now())
    holder = keys(str(teacher.user))
    signed = xades.sign_prepared(prepared, holder.key, holder.certificate, signing_time=demo.clock.now())
    await submit_sheet(
        demo.ledger, demo.school, teacher, demo.year, class_id, subject, term, signed, pki.roots(), [pki.crl()]
    )


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "the page has a form with a CSRF token"
    return found.group(1)


def labelled(html: str) -> bool:
    """Every visible input, select and textarea has a label naming it (by id)."""
    fields = re.findall(r'<(?:input|select|textarea)\s[^>]*?id="([^"]+)"', html)
    hidden = set(re.findall(r'<input\s[^>]*?type="hidden"[^>]*?id="([^"]+)"', html))
    wanted = [f for f in fields if f not in hidden]
    return all(re.search(rf'<label for="{re.escape(f)}"', html) for f in wanted)


def sheet_path(school: str, class_id: str = "6A1", subject: str = "TOAN", term: int = 1) -> str:
    return f"/truong/{school}/lop/{class_id}/mon/{subject}/hoc-ky/{term}?year=2025-2026"


def cell(student: str, kind: str = "regular", slot: int = 1) -> str:
    return f"c-{student}-{kind}-{slot if kind == 'regular' else 0}"


async def bearer(client: httpx.AsyncClient, school: str, username: str, password: str = PASSWORD) -> dict[str, str]:
    """The Authorization header of a password sign-in over the API."""
    answer = await client.post(
        "/api/v1/auth/token", json={"school": school, "username": username, "password": password}
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def trail(term: TermSchool) -> list[tuple[str, str, str | None]]:
    """The school's access trail, in order: (action, outcome, reason) of each entry."""
    from audit.trail import access_index
    from ledger.log.projection import read

    async with term.runtime.engine().connect() as conn:
        rows = await read(conn, access_index, term.school, order_by=["entry"])
    return [(r["action"], r["outcome"], r["reason"]) for r in rows]
