"""The Toán teacher signs Toán in every học bạ of 6A1 with their USB token (SoftHSM2) from the grade
sheet in a real browser (Chromium): the confirmation lists the pupils, the teacher types the token's
PIN into the page, the page's script has the local signing helper (a real `hocba signing helper`
process on loopback) sign the batch, and the service records it (Điều 8, 18). A wrong PIN is said on
the page and nothing is recorded. Screenshots under test-artifacts/screens/<test>/."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import TimeoutError as PlaywrightTimeout

from ledger.base.clock import VN_TZ
from ledger.base.settings import Settings
from ledger.school.signatures.queries import current_signatures
from tests.support.browser import serve
from tests.support.helpers import head
from tests.support.signers import YEAR, Signers
from tests.support.tokens import PIN, signing_helper, token_with
from tests.support.web import accounts, service_for, sheet_path

pytestmark = pytest.mark.slow


async def test_a_teacher_signs_the_class_with_a_usb_token_from_the_page_dieu_8_18(
    signers: Signers, settings: Settings, env: dict[str, str], tmp_path: Path, visit: Any
) -> None:
    s = signers
    demo, school = s.demo, s.demo.school
    teacher = demo.subject_teachers["TOAN"]
    pupils = sorted(demo.rosters["6A1"])
    keys = s.people[teacher]
    token = token_with(keys.key, keys.certificate, f"gv-{school[-8:]}", tmp_path)  # type: ignore[arg-type]
    # the helper signs on the computer's clock (the year is over); the school's clock stands a few
    # minutes ahead, so that the signatures made while the test runs are not in its future
    demo.clock.set(datetime.now(VN_TZ) + timedelta(minutes=5))
    runtime = await service_for(demo, settings, s.people)
    await accounts(runtime, demo, [teacher])
    async with serve(runtime) as site:
        with signing_helper(token, site, env) as helper:
            port = helper.split(":")[2].split("/")[0]
            window = await visit(site, "gv-toan")
            page = window.page
            await window.sign_in(school, teacher)
            await window.go(sheet_path(school, term=2), "bang-diem-hk2")
            async with page.expect_navigation():
                await page.get_by_role("button", name="Ký học bạ cả lớp cho môn này (Điều 18.1)").click()
            dialog = page.get_by_role("alertdialog")
            listed = await dialog.inner_text()
            assert all(demo.names[p] in listed for p in pupils)
            await page.fill("#token-port", port)
            await page.fill("#token-pin", "0000")
            await window.shot("xac-nhan-usb-token")
            before = await head(demo.ledger, school)
            await dialog.get_by_role("button", name="Ký bằng USB token").click()
            status = page.locator(".token-status")
            await status.filter(has_text="Không ký được bằng USB token").wait_for()
            assert "mã PIN sai" in await status.inner_text()
            assert await page.input_value("#token-pin") == ""  # the PIN is not left in the page
            assert await head(demo.ledger, school) == before
            await window.shot("sai-ma-pin")
            await page.fill("#token-pin", PIN)
            await dialog.get_by_role("button", name="Ký bằng USB token").click()
            try:  # the page goes on once the token signed and the service recorded every signature
                await page.wait_for_url(f"**ky={len(pupils)}", timeout=120_000)
            except PlaywrightTimeout:
                pytest.fail(f"not signed: {await status.inner_text()}")
            assert f"{len(pupils)}" in await page.inner_text("[role=status]")
            await window.shot("da-ky")
    async with demo.ledger.engine.connect() as conn:
        for pupil in pupils:
            rows = await current_signatures(conn, school, YEAR, pupil)
            assert [(r["role"], r["subject"]) for r in rows] == [("SUBJECT_TEACHER", "TOAN")]
