"""The pages in a real browser: Debian's Chromium, driven by Playwright, against the service served by
uvicorn on a local port. Signing in with the keyboard; a refused edit after a lock (Điều 36.2);
a correction filed by the teacher and approved by the principal (Điều 4.4, 17.3); an issued học bạ
uploaded to the public portal and verified, and a changed one rejected (Điều 2.14, 15, 31).

Every page a test visits is saved as a screenshot under test-artifacts/screens/<test>/. Each page is
also checked for a label on every input, select and text area."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger.app.demo import ADMIN, PRINCIPAL
from ledger.app.runtime import Runtime
from ledger.base.clock import ManualClock
from tests.support.browser import SIDEWAYS, TOO_WIDE, serve
from tests.support.signers import Signers, signed_and_issued
from tests.support.web import PASSWORD, TermSchool, cell, sheet_path

pytestmark = pytest.mark.slow


async def test_every_page_fits_a_phone_without_sideways_scrolling(term: TermSchool, site: str, visit: Any) -> None:
    """At 390×844, as a principal, a teacher and a visitor of the portal: no page scrolls sideways;
    wide tables scroll inside their own frame."""
    school, year, student = term.school, term.demo.year, term.demo.rosters["6A1"][0]
    pages = {
        PRINCIPAL.user: [
            f"/truong/{school}",
            f"/truong/{school}/lich?year={year}",
            f"/truong/{school}/dieu-chinh",
            f"/truong/{school}/nhan-su",
            f"/truong/{school}/tien-do?year={year}",
            f"/truong/{school}/tong-hop?year={year}",
            f"/truong/{school}/lop/6A1/ky-so?year={year}",
            f"/truong/{school}/lop/6A1/bieu-do?year={year}",
            f"/truong/{school}/lop/6A1/chu-nhiem/hoc-ky/1?year={year}",
            f"/truong/{school}/lop/6A1/tong-ket?year={year}",
            f"/truong/{school}/hoc-sinh/{student}?year={year}",
            f"/truong/{school}/kiem-toan",
            f"/truong/{school}/kiem-toan/dong-thoi-gian?hoc-sinh={student}",
            f"/truong/{school}/kiem-toan/truy-cap",
        ],
        term.teacher: [f"/truong/{school}", sheet_path(school)],
    }
    for who, paths in pages.items():
        window = await visit(site, f"dien-thoai-{who}", width=390, height=844)
        await window.sign_in(school, who)
        for path in paths:
            await window.go(
                path, path.split("?")[0].replace(f"/truong/{school}", "truong").strip("/").replace("/", "-")
            )
            if await window.page.evaluate(SIDEWAYS) > 0:
                pytest.fail(f"{path} scrolls sideways at 390 px: {await window.page.evaluate(TOO_WIDE)}")
    visitor = await visit(site, "dien-thoai-cong", width=390, height=844)
    await visitor.go("/cong-xac-minh", "cong-xac-minh")
    assert await visitor.page.evaluate(SIDEWAYS) <= 0


async def test_signing_in_with_the_keyboard_only(term: TermSchool, site: str, visit: Any) -> None:
    """The first Tab reaches the skip link; the form is filled and sent with keys alone."""
    window = await visit(site, "hieu-truong")
    page = window.page
    await page.goto(site + "/dang-nhap")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.className") == "skip"
    await page.focus("#school")  # the only school here: already filled in
    await page.keyboard.press("Control+A")
    await page.keyboard.type(term.school)
    await page.keyboard.press("Tab")
    await page.keyboard.type(PRINCIPAL.user)
    await page.keyboard.press("Tab")
    await page.keyboard.type("sai-mat-khau")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in await page.inner_text("main")
    await window.shot("dang-nhap-sai")
    await page.focus("#password")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/truong/{term.school}")
    assert "Xin chào, Đoàn Thị Thủy" in await page.inner_text("main")
    await window.shot("trang-chinh")
    await page.get_by_role("link", name="English").click()
    assert "Hello, Đoàn Thị Thủy" in await page.inner_text("main")
    await window.shot("trang-chinh-en")


async def test_the_principal_moves_an_entry_deadline_and_reads_the_term_summary_dieu_25_33(
    term: TermSchool, site: str, visit: Any
) -> None:
    """Điều 33.3c, 25: the principal sets the calendar on the page (a date still ahead may move; the
    decision is named); Điều 33.6: then reads the term I summary by class, grade and school."""
    school = term.school
    principal = await visit(site, "hieu-truong")
    await principal.sign_in(school, PRINCIPAL.user)
    await principal.page.get_by_role("link", name="Lịch năm học và khóa nhập liệu").click()
    await principal.shot("lich-nam-hoc")
    page = principal.page
    assert await page.input_value("#e1-closes") == "2026-01-22"
    await page.fill("#e1-closes", "2026-01-29")
    await page.fill("#order", "Quyết định số 12/QĐ-THCS ngày 01/10/2025")
    await page.get_by_role("button", name="Ban hành").click()
    main = await page.inner_text("main")
    assert "Đã ban hành lịch năm học." in main and "29/01/2026" in main and "2026-01-29" not in main
    await principal.shot("da-ban-hanh")

    await principal.go(f"/truong/{school}", "trang-chinh")
    await page.get_by_role("link", name="Tổng hợp kết quả học tập và rèn luyện").click()
    await page.get_by_role("link", name="Học kì I", exact=True).click()
    table = await page.inner_text("table.summary")
    assert "6A1" in table and "Khối 6" in table and "Toàn trường" in table
    await principal.shot("tong-hop-hoc-ky-1")


async def test_an_edit_after_a_lock_is_refused_with_the_reason_and_a_correction_offer(
    term: TermSchool, site: str, visit: Any
) -> None:
    """Điều 36.2: the admin locks Toán of 6A1 for term I on the principal's order; the teacher's
    sheet then refuses a new grade, says which order locked it, and offers a correction request."""
    admin = await visit(site, "quan-tri")
    await admin.sign_in(term.school, ADMIN.user)
    await admin.go(f"/truong/{term.school}/lich?year=2025-2026", "lich-nam-hoc")
    await admin.page.select_option("#lock-class", "6A1")
    assert "Toán" in await admin.page.inner_text("#lock-subject")  # chosen by name from the year's subjects
    await admin.page.select_option("#lock-subject", "TOAN")
    await admin.page.select_option("#lock-term", "1")
    await admin.page.fill("#lock-order", "Lệnh số 7/LĐ ngày 01/10/2025")
    assert await admin.page.inner_text("#lock-by") == "Đoàn Thị Thủy"  # the principal in office, by name
    await admin.page.select_option("#lock-by", PRINCIPAL.user)
    await admin.page.get_by_role("button", name="Ghi nhận").click()
    assert "Đã ghi nhận việc khóa hoặc mở nhập liệu." in await admin.page.inner_text("main")
    await admin.shot("da-khoa")

    teacher = await visit(site, "giao-vien")
    await teacher.sign_in(term.school, term.teacher)
    await teacher.go(sheet_path(term.school), "so-diem-bi-khoa")
    page = teacher.page
    assert "đang bị khóa theo Lệnh số 7/LĐ" in await page.inner_text("#entry-refusal")
    student = term.demo.rosters["6A1"][0]
    field = page.locator(f"#{cell(student)}")
    await field.focus()
    await page.keyboard.type("11")
    assert await field.get_attribute("aria-invalid") == "true"  # checked as it is typed
    assert "Điểm từ 0 đến 10" in await page.inner_text(f"#{cell(student)}-msg")
    await teacher.shot("gia-tri-sai")
    await field.fill("")
    await field.focus()
    await page.keyboard.type("8,5")
    assert await field.get_attribute("aria-invalid") == "false"
    async with page.expect_navigation():
        await page.keyboard.press("Enter")  # submits the sheet
    main = await page.inner_text("main")
    assert "đang bị khóa theo Lệnh số 7/LĐ" in main and "Điều 36.2" in main
    assert await page.locator("form.proposal").count() == 1
    assert "Gửi đề nghị điều chỉnh cho ô này" in main
    await teacher.shot("bi-tu-choi")


async def test_a_correction_filed_by_the_teacher_is_approved_by_the_principal(
    term: TermSchool, site: str, visit: Any
) -> None:
    """Điều 17.3: a recorded grade is not overwritten; the teacher files a written request from the
    refusal, the principal sees old and new value, history, requester and reason, and approves it
    with a reason; the sheet then shows the new value (Điều 4.4: never by the one who asked)."""
    student = term.demo.rosters["6A1"][1]
    teacher = await visit(site, "giao-vien")
    await teacher.sign_in(term.school, term.teacher)
    await teacher.go(sheet_path(term.school), "so-diem")
    page = teacher.page
    await page.fill(f"#{cell(student, 'final')}", "7")
    await page.get_by_role("button", name="Lưu điểm").click()
    assert "Đã lưu 1 ô điểm vào sổ cái." in await page.inner_text("main")
    await teacher.shot("da-luu")
    await page.fill(f"#{cell(student, 'final')}", "8,5")
    await page.get_by_role("button", name="Lưu điểm").click()
    assert "Điểm này đã được nhập (7,0)" in await page.inner_text("main")
    await teacher.shot("khong-ghi-de")
    await page.fill("form.proposal textarea", "Chấm thiếu câu 4, đã đối chiếu bài làm")
    await page.click("form.proposal button")
    assert "Đã gửi đề nghị điều chỉnh" in await page.inner_text("main")
    await teacher.shot("da-gui-de-nghi")

    principal = await visit(site, "hieu-truong")
    await principal.sign_in(term.school, PRINCIPAL.user)
    await principal.go(f"/truong/{term.school}/dieu-chinh", "hop-thu")
    request = principal.page.locator("section.request")
    text = await request.inner_text()
    assert term.demo.names[student] in text and "Chấm thiếu câu 4" in text
    assert await request.locator("dd.old").inner_text() == "7,0"
    assert await request.locator("dd.new").inner_text() == "8,5"
    await request.locator("textarea").fill("Đã kiểm tra bài làm, đồng ý")
    await request.locator("button[value=approve]").click()
    assert "Đã phê duyệt đề nghị" in await principal.page.inner_text("main")
    await principal.shot("da-phe-duyet")
    await principal.go(f"/truong/{term.school}/dieu-chinh?trang-thai=approved", "da-phe-duyet-danh-sach")
    assert "Đã kiểm tra bài làm, đồng ý" in await principal.page.inner_text("main")

    await teacher.go(sheet_path(term.school), "so-diem-sau-dieu-chinh")
    assert await page.input_value(f"#{cell(student, 'final')}") == "8,5"


async def test_the_portal_verifies_an_issued_hoc_ba_and_rejects_a_changed_one(
    signers: Signers, runtime: Runtime, visit: Any, tmp_path: Path
) -> None:
    """Điều 2.14, 31: anyone uploads a học bạ and reads the report; Điều 15: a changed one is not
    valid."""
    demo = signers.demo
    student = demo.rosters["8A1"][0]
    done = await signed_and_issued(signers, student)
    (tmp_path / "hocba.xml").write_bytes(done.xml)
    (tmp_path / "hocba.pdf").write_bytes(done.pdf)
    changed = done.xml.replace(demo.names[student].encode(), "Nguyễn Văn Giả".encode(), 1)
    (tmp_path / "hocba-sua.xml").write_bytes(changed)
    # The browser comes from 127.0.0.1, the address every in-process client of the session shares
    # (the fuzzing of the portal among them): a day later, the portal's limit counts this test alone.
    later = Runtime(runtime.settings, runtime.url, ManualClock(runtime.clock.now() + timedelta(days=1)))
    try:
        async with serve(later) as site:
            window = await visit(site, "cong-xac-minh")
            page = window.page
            for name, verdict in (("hocba.xml", "Hợp lệ"), ("hocba.pdf", "Hợp lệ"), ("hocba-sua.xml", "Không hợp lệ")):
                await window.go("/cong-xac-minh", f"tai-len-{name}")
                await page.set_input_files("#file", str(tmp_path / name))
                await page.get_by_role("button", name="Kiểm tra", exact=True).click()
                report = await page.inner_text("#verdict")
                assert report.startswith(verdict), (name, report)
                await window.shot(f"ket-qua-{name}")
                marks = await page.inner_text("table")
                if verdict == "Hợp lệ":
                    assert "✗" not in marks and "✓ đạt" in marks
                    assert "Trường THCS Khánh Phú đã ban hành đúng tệp này" in await page.inner_text("main")
                else:
                    assert "✗ không đạt" in marks
                    assert "Không tìm thấy tệp này trong các học bạ đã ban hành." in await page.inner_text("main")
    finally:
        await later.close()
