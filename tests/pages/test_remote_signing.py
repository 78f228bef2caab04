"""Staff sign from the pages with their own key at the licensed CA's remote-signing service (Điều 8:
the service never holds a personal key): the page lists what will be signed, the signer types their
credential and the PIN once, the service has the whole class signed at the CSC service under one
authorisation and checks and records every signature as the API's class route does (Điều 12, 15,
18, 24.5). The service is certomancer's CSC test server on loopback, asking each credential's PIN."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from ledger.app.demo import CLERK, PRINCIPAL, YEAR, sign_batch
from ledger.app.runtime import Runtime
from ledger.base.settings import Settings
from ledger.school.signatures.certificates import register_certificate
from ledger.school.signatures.queries import current_signatures, xml_document
from signing.x509.names import organisation_uri, staff_uri
from signing.xml import document as hocba_xml
from signing.xml import verify as xml_verify
from tests.support.browser import serve
from tests.support.csc import CscService, Holder, certificate_at, csc_service
from tests.support.helpers import head
from tests.support.signers import Signers
from tests.support.web import TermSchool, accounts, csrf, lock_entry, service_for, sheet_path, sign_in, signed_sheets

pytestmark = pytest.mark.slow

# PINs that no hash, key or identifier can hold by chance, so that finding one anywhere is a leak
PINS = {
    "school/teacher": "pin-Toán#4815",
    "school/homeroom": "pin-chủ-nhiệm#2303",
    "school/principal": "pin-hiệu-trưởng#7771",
    "school/seal": "pin-con-dấu#9090",
}


@dataclasses.dataclass
class Remote:
    signers: Signers
    service: CscService
    runtime: Runtime
    holders: dict[str, Holder]


def client_of(runtime: Runtime, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(runtime, scheduler=False), client=(address, 42000))
    return httpx.AsyncClient(transport=transport, base_url="http://hocba.test")


@pytest.fixture
async def remote(signers: Signers, settings: Settings, tmp_path: Path) -> AsyncIterator[Remote]:
    """The school at the end of the year, whose staff keep their keys at the remote-signing service
    the school names (HOCBA_CSC_URL); each certificate registered by the principal (Điều 9.4)."""
    demo = signers.demo
    school = demo.school
    holders = {
        "teacher": Holder("teacher", staff_uri(school, demo.subject_teachers["TOAN"]), "Giáo viên Toán"),
        "homeroom": Holder("homeroom", staff_uri(school, demo.homeroom["6A1"]), "Giáo viên chủ nhiệm 6A1"),
        "principal": Holder("principal", staff_uri(school, PRINCIPAL.user), "Hiệu trưởng"),
        "seal": Holder("seal", organisation_uri(school), "Trường THCS (con dấu)"),
    }
    async with csc_service(signers.pki, tmp_path, list(holders.values()), PINS) as service:
        for holder in holders.values():
            cert = await certificate_at(service, holder)
            await register_certificate(demo.ledger, school, PRINCIPAL, cert, signers.pki.roots())
        service.authorisations.clear()
        runtime = await service_for(demo, dataclasses.replace(settings, csc_url=service.url), signers.people)
        await accounts(runtime, demo, [PRINCIPAL.user, CLERK.user, demo.homeroom["6A1"], demo.subject_teachers["TOAN"]])
        yield Remote(signers, service, runtime, holders)


async def _everything_stored(engine: AsyncEngine) -> str:
    """Every row of every table of the service's schemas, as text: what a copy of the database holds."""
    found = []
    async with engine.connect() as conn:
        tables = await conn.execute(
            text(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema LIKE 'hocba%' AND table_type = 'BASE TABLE'"
            )
        )
        for schema, table in tables.all():
            rows = await conn.execute(text(f'SELECT t::text FROM "{schema}"."{table}" t'))
            found += [row[0] for row in rows]
    return "\n".join(found)


def _remote_form(page: str, service: CscService, holder: Holder, pin: str, **fields: str) -> dict[str, str]:
    return {
        "csrf": csrf(page),
        "confirm": "1",
        "key": "csc",
        "credential": service.credential(holder),
        "pin": pin,
        **fields,
    }


async def test_every_signer_signs_a_class_at_the_remote_signing_service_from_the_pages_dieu_8_12_18_24(
    remote: Remote, app_engine: AsyncEngine, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """Điều 8, 18, 24.5: the Toán teacher signs Toán in every học bạ of 6A1 from the grade sheet, then
    (the other subjects signed) the homeroom teacher, the principal and the clerk's seal from the
    board, each with their own credential and PIN, and (Điều 13) the principal and the seal the PDF; a wrong PIN is refused by the CSC service and
    nothing is recorded; each batch is one authorisation over every hash; the PIN is nowhere kept."""
    s, service, runtime = remote.signers, remote.service, remote.runtime
    demo, school = s.demo, s.demo.school
    pupils = sorted(demo.rosters["6A1"])
    teacher = demo.subject_teachers["TOAN"]
    path = sheet_path(school, term=2).replace("?", "/ky-hoc-ba?").replace("2025-2026", YEAR)
    async with client_of(runtime, "10.41.0.1") as client:
        await sign_in(client, school, teacher)
        asked = await client.post(path, data={"csrf": csrf((await client.get(sheet_path(school, term=2))).text)})
        assert asked.status_code == 200 and "Ký bằng dịch vụ ký số từ xa" in asked.text
        assert 'name="pin" type="password"' in asked.text
        before = await head(demo.ledger, school)
        wrong = await client.post(
            path, data=_remote_form(asked.text, service, remote.holders["teacher"], "pin-sai#0000")
        )
        assert wrong.status_code == 409 and "không chấp nhận mã xác thực" in wrong.text, wrong.text
        assert "Chưa có chữ ký nào được lưu" in wrong.text and "pin-sai#0000" not in wrong.text
        assert await head(demo.ledger, school) == before
        assert len(service.authorisations) == 1
        # the principal's credential is not the teacher's: signed at the service, refused by the ledger
        other = await client.post(
            path, data=_remote_form(asked.text, service, remote.holders["principal"], PINS["school/principal"])
        )
        assert other.status_code in (403, 409, 422) and await head(demo.ledger, school) == before, other.text
        service.authorisations.clear()
        signed = await client.post(
            path, data=_remote_form(asked.text, service, remote.holders["teacher"], PINS["school/teacher"])
        )
        assert signed.status_code == 303 and signed.headers["location"].endswith(f"ky={len(pupils)}"), signed.text
    [authorisation] = service.authorisations  # one authorisation over every hash of the class (SCAL 2)
    assert authorisation["numSignatures"] == len(pupils) == len(authorisation["hash"])
    async with demo.ledger.engine.connect() as conn:
        for pupil in pupils:
            done = await current_signatures(conn, school, YEAR, pupil)
            assert [(r["role"], r["subject"]) for r in done] == [("SUBJECT_TEACHER", "TOAN")]
        root, _ = await xml_document(conn, school, YEAR, pupils[0])
    for subject in [e.get("Ma") for e in root.iter(hocba_xml.tag("MonHoc"))]:
        if subject != "TOAN":
            await sign_batch(s, pupils, "SUBJECT_TEACHER", subject)

    board = f"/truong/{school}/lop/6A1/ky-so?year={YEAR}"
    steps = [
        (demo.homeroom["6A1"], "HOMEROOM_TEACHER", "homeroom"),
        (PRINCIPAL.user, "PRINCIPAL", "principal"),
        (CLERK.user, "ORGANISATION", "seal"),
        (PRINCIPAL.user, "PDF_PRINCIPAL", "principal"),  # Điều 13: the PDF, each with the school's timestamp
        (CLERK.user, "PDF_ORGANISATION", "seal"),
    ]
    for number, (username, role, holder) in enumerate(steps):
        async with client_of(runtime, f"10.41.1.{number}") as person:
            await sign_in(person, school, username)
            page = await person.get(board)
            shown = await person.post(board, data={"csrf": csrf(page.text), "role": role})
            assert shown.status_code == 200 and "Ký bằng dịch vụ ký số từ xa" in shown.text, role
            service.authorisations.clear()
            answer = await person.post(
                board,
                data=_remote_form(shown.text, service, remote.holders[holder], PINS[f"school/{holder}"], role=role),
            )
            assert answer.status_code == 303 and answer.headers["location"].endswith(f"ky={len(pupils)}"), answer.text
            assert len(service.authorisations) == 1, role
    async with demo.ledger.engine.connect() as conn:
        whole, _ = await xml_document(conn, school, YEAR, pupils[0])
    report = await xml_verify.verify_xml(hocba_xml.to_bytes(whole), s.pki.roots(), s.pki.crls())
    assert [sig.role for sig in report.signatures][-3:] == ["HOMEROOM_TEACHER", "PRINCIPAL", "ORGANISATION"]
    assert all(sig.ok for sig in report.signatures), report.to_json()
    stored = await _everything_stored(app_engine)
    assert stored and not any(pin in stored for pin in PINS.values())  # not in the ledger, the trail, anywhere
    logged = caplog.text + "".join(capsys.readouterr())
    assert "signatures" in logged and not any(pin in logged for pin in [*PINS.values(), "pin-sai#0000"])


async def test_remote_signing_is_offered_only_where_the_school_names_a_service(
    signers: Signers, settings: Settings
) -> None:
    """Without HOCBA_CSC_URL no remote form is shown, and a forged remote post is refused, changing nothing."""
    demo = signers.demo
    runtime = await service_for(demo, settings, signers.people)
    await accounts(runtime, demo, [PRINCIPAL.user])
    board = f"/truong/{demo.school}/lop/6A1/ky-so?year={YEAR}"
    async with client_of(runtime, "10.41.2.1") as person:
        await sign_in(person, demo.school, PRINCIPAL.user)
        page = await person.get(board)
        shown = await person.post(board, data={"csrf": csrf(page.text), "role": "PRINCIPAL"})
        assert "Ký bằng dịch vụ ký số từ xa" not in shown.text
        before = await head(demo.ledger, demo.school)
        forged: dict[str, Any] = {"csrf": csrf(page.text), "role": "PRINCIPAL", "confirm": "1", "key": "csc"}
        answer = await person.post(board, data={**forged, "credential": "x", "pin": "1"})
        assert answer.status_code == 422 and "chưa khai báo dịch vụ ký số từ xa" in answer.text
        assert await head(demo.ledger, demo.school) == before


async def test_the_class_sheet_and_the_term_record_are_signed_at_the_remote_signing_service_dieu_18_3_18_4(
    term: TermSchool, tmp_path: Path
) -> None:
    """Điều 18.3: the Toán teacher signs the class sheet, and Điều 18.4: the homeroom teacher the class's
    term record, each from their page with their credential at the remote-signing service and its PIN."""
    demo, school, pupils = term.demo, term.school, term.demo.rosters["6A1"]
    holders = [
        Holder("teacher", staff_uri(school, term.teacher), "Giáo viên Toán"),
        Holder("homeroom", staff_uri(school, term.homeroom), "Giáo viên chủ nhiệm 6A1"),
    ]
    async with csc_service(term.runtime.pki, tmp_path, holders, PINS) as service:
        for holder in holders:
            cert = await certificate_at(service, holder)
            await register_certificate(demo.ledger, school, PRINCIPAL, cert, term.runtime.pki.roots())
        runtime = Runtime(dataclasses.replace(term.runtime.settings, csc_url=service.url), term.runtime.url, demo.clock)
        await signed_sheets(demo, runtime.pki, lambda staff: runtime.demo_signer(school, staff), unsigned=("TOAN",))
        await lock_entry(demo)
        sheet = sheet_path(school)
        async with client_of(runtime, "10.41.3.1") as teacher:
            await sign_in(teacher, school, term.teacher)
            asked = await teacher.post(
                sheet.replace("?", "/ky-bang-diem?"), data={"csrf": csrf((await teacher.get(sheet)).text)}
            )
            assert asked.status_code == 200 and "Ký bằng dịch vụ ký số từ xa" in asked.text
            before = await head(demo.ledger, school)
            wrong = await teacher.post(
                sheet.replace("?", "/ky-bang-diem?"), data=_remote_form(asked.text, service, holders[0], "pin-sai#0000")
            )
            assert wrong.status_code == 409 and await head(demo.ledger, school) == before
            signed = await teacher.post(
                sheet.replace("?", "/ky-bang-diem?"),
                data=_remote_form(asked.text, service, holders[0], PINS["school/teacher"]),
            )
            assert signed.status_code == 303, signed.text
            assert "Bảng điểm đã được ký bởi" in (await teacher.get(signed.headers["location"])).text
        path = f"/truong/{school}/lop/6A1/chu-nhiem/hoc-ky/1?year={demo.year}"
        async with client_of(runtime, "10.41.3.2") as homeroom:
            await sign_in(homeroom, school, term.homeroom)
            page = await homeroom.get(path)
            form = {"csrf": csrf(page.text), **{f"level-{s}": "Tốt" for s in pupils}}
            assert (await homeroom.post(path, data=form)).status_code == 303
            await lock_entry(demo, subject=None)
            confirm = (await homeroom.get(path + "&xac-nhan=1")).text
            assert "Ký bằng dịch vụ ký số từ xa" in confirm
            service.authorisations.clear()
            done = await homeroom.post(
                path.replace("?", "/ky-hoc-ky?"),
                data=_remote_form(confirm, service, holders[1], PINS["school/homeroom"]),
            )
            assert done.status_code == 303, done.text
            assert "✓ Kết quả học kì đã được ký bởi" in (await homeroom.get(done.headers["location"])).text
            assert len(service.authorisations) == 1


async def test_the_principal_signs_the_class_at_the_remote_service_in_a_browser_dieu_8_18(
    remote: Remote, visit: Any
) -> None:
    """In Chromium: the principal opens the board, presses the class's sign button, types their
    credential and PIN into the confirmation, and every học bạ of 6A1 is signed under one
    authorisation; the board then shows it. Screenshots under test-artifacts/screens/<test>/."""
    s, service = remote.signers, remote.service
    demo, school = s.demo, s.demo.school
    pupils = sorted(demo.rosters["6A1"])
    async with demo.ledger.engine.connect() as conn:
        root, _ = await xml_document(conn, school, YEAR, pupils[0])
    for subject in [e.get("Ma") for e in root.iter(hocba_xml.tag("MonHoc"))]:
        await sign_batch(s, pupils, "SUBJECT_TEACHER", subject)
    await sign_batch(s, pupils, "HOMEROOM_TEACHER")
    async with serve(remote.runtime) as site:
        window = await visit(site, "hieu-truong")
        page = window.page
        await window.sign_in(school, PRINCIPAL.user)
        await window.go(f"/truong/{school}/lop/6A1/ky-so?year={YEAR}", "bang-ky")
        async with page.expect_navigation():
            await page.get_by_role("button", name="Ký với vai trò Hiệu trưởng, học bạ XML").click()
        dialog = page.get_by_role("alertdialog")
        await page.fill("#remote-credential", service.credential(remote.holders["principal"]))
        await page.fill("#remote-pin", PINS["school/principal"])
        await window.shot("xac-nhan-ky-tu-xa")
        service.authorisations.clear()
        async with page.expect_navigation(url=f"**ky={len(pupils)}", timeout=120_000):
            await dialog.get_by_role("button", name="Ký bằng dịch vụ ký số từ xa").click()
        assert f"Đã ký {len(pupils)} văn bản." in await page.inner_text("[role=status]")
        await window.shot("da-ky")
    assert len(service.authorisations) == 1
    async with demo.ledger.engine.connect() as conn:
        roles = [[r["role"] for r in await current_signatures(conn, school, YEAR, p)] for p in pupils]
    assert all(found[-1] == "PRINCIPAL" for found in roles)
