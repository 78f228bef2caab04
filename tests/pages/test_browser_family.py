"""A family's path in a real browser (Điều 31: families keep and check their child's học bạ): the học
bạ is issued, the notice reaches the guardian's mailbox through a real SMTP server on loopback, the
guardian follows its link, signs in, reads the record and downloads the exact files the school issued."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from ledger.app.notices import send_family_notices
from ledger.app.runtime import Runtime
from ledger.school.accounts.commands import create_account
from ledger.school.readmodels import school_ledger
from ledger.school.rules.policy import AccountKind
from tests.support.browser import serve
from tests.support.helpers import SETUP
from tests.support.mail import Inbox, mailer, with_guardian_emails
from tests.support.signers import YEAR, Signers, signed_and_issued
from tests.support.web import PASSWORD

pytestmark = pytest.mark.slow
GUARDIAN = "phuhuynh.9a1"
ADDRESS = "me.hocsinh.9a1@example.vn"


async def test_a_guardian_told_by_mail_signs_in_and_downloads_the_issued_hoc_ba_dieu_31(
    signers: Signers, runtime: Runtime, visit: Any, smtp: tuple[Inbox, int]
) -> None:
    demo, (inbox, port) = signers.demo, smtp
    student = demo.rosters["9A1"][0]
    await with_guardian_emails(signers, student, [ADDRESS])
    done = await signed_and_issued(signers, student)
    ledger = school_ledger(runtime.engine(), clock=runtime.clock)
    await create_account(
        ledger, demo.school, GUARDIAN, AccountKind.GUARDIAN, student_id=student, password=PASSWORD, actor=SETUP
    )
    async with serve(runtime) as site:
        # the notices job, as the scheduler runs it, with the service's public address
        public = Runtime(replace(runtime.settings, public_url=site), runtime.url, runtime.clock)
        try:
            assert await send_family_notices(public, mailer(port), [demo.school]) >= 1
        finally:
            await public.close()
        [message] = [m for m in inbox.messages if m["To"] == ADDRESS]
        assert message["Subject"] == f"Học bạ năm học {YEAR} của em {demo.names[student]} đã được ban hành"
        link = re.search(rf"{re.escape(site)}/truong/{demo.school}\b", message.get_content())
        assert link, message.get_content()

        window = await visit(site, "phu-huynh", width=390, height=844)  # on the guardian's phone
        page = window.page
        await page.goto(link.group(0))
        await page.wait_for_url("**/dang-nhap**")
        await page.fill("#school", demo.school)
        await page.fill("#username", GUARDIAN)
        await page.fill("#password", PASSWORD)
        await window.shot("dang-nhap")
        await page.get_by_role("button", name="Đăng nhập", exact=True).click()
        await page.wait_for_url(f"**/truong/{demo.school}")
        await window.shot("trang-chinh")
        await page.get_by_role("link", name=demo.names[student]).click()
        await page.wait_for_url(f"**/hoc-sinh/{student}**")
        main = await page.inner_text("main")
        assert demo.names[student] in main and "Toán" in main and "TOAN" not in main
        await window.shot("ho-so-cua-con")
        for label, expected in (("Tải bản PDF", done.pdf), ("Tải bản XML có chữ ký số", done.xml)):
            async with page.expect_download() as started:
                await page.get_by_role("link", name=label).first.click()
            download = await started.value
            assert (await download.path()).read_bytes() == expected, label  # the exact bytes issued
            assert download.suggested_filename.startswith(done.row["hocba_id"])
