"""The homeroom teacher's term in a real browser (Điều 34; Điều 18.4): every subject's sheet of 6A1 is
signed by its teacher; the homeroom teacher signs in, enters each pupil's conduct and sessions absent
for term I, then signs the class's term: a confirmation names the class, the term, the pupils and the
subjects, and the page then shows the signature. Screenshots under test-artifacts/screens/<test>/."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.web import TermSchool, lock_entry, signed_sheets

pytestmark = pytest.mark.slow


async def test_the_homeroom_teacher_enters_the_term_and_signs_it_dieu_18_4(
    term: TermSchool, site: str, visit: Any
) -> None:
    school, year, pupils = term.school, term.demo.year, term.demo.rosters["6A1"]
    codes = await signed_sheets(term.demo, term.runtime.pki, lambda staff: term.runtime.demo_signer(school, staff))
    window = await visit(site, "chu-nhiem")
    page = window.page
    await window.sign_in(school, term.homeroom)
    await window.go(f"/truong/{school}/lop/6A1/chu-nhiem/hoc-ky/1?year={year}", "chu-nhiem-hoc-ky-1")
    assert "Kết quả học kì chưa được ký." in await page.inner_text("#term-signature")
    assert "kết quả rèn luyện của" in await page.inner_text("#term-missing")

    for position, student in enumerate(pupils):
        await page.select_option(f"#level-{student}", "Khá" if position else "Tốt")
        await page.fill(f"#excused-{student}", str(position))
        await page.fill(f"#unexcused-{student}", "0")
    await window.shot("nhap-ren-luyen")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Lưu", exact=True).click()
    assert "Đã lưu" in await page.inner_text("[role=status]")
    assert "còn đến 23:59 ngày 22/01/2026" in await page.inner_text("#term-missing")  # entry still open
    await window.shot("da-luu")
    await lock_entry(term.demo, subject=None)  # Điều 36.2: the principal has entry of the class locked
    await window.go(f"/truong/{school}/lop/6A1/chu-nhiem/hoc-ky/1?year={year}", "da-khoa")

    async with page.expect_navigation():
        await page.get_by_role("button", name="Ký xác nhận học kì…").click()
    dialog = page.get_by_role("alertdialog")
    wanted = f"Ký xác nhận kết quả học kì I của lớp 6A1: {len(pupils)} học sinh, {len(codes)} môn học."
    assert wanted in await dialog.inner_text()
    await window.shot("xac-nhan-ky")
    async with page.expect_navigation():
        await dialog.get_by_role("button", name="Ký xác nhận", exact=True).click()
    assert "Đã ký xác nhận kết quả học kì của lớp." in await page.inner_text("[role=status]")
    assert "✓ Kết quả học kì đã được ký bởi" in await page.inner_text("#term-signature")
    assert await page.get_by_role("button", name="Ký xác nhận học kì…").count() == 0
    await window.shot("da-ky")
