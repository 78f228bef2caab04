"""The teacher's grade grid in a real browser (Debian's Chromium through Playwright, the shared
fixtures of tests/pages/conftest.py): a sheet imported from the page at phone width, dry run first,
then confirmed (Điều 17.2; ĐTBmhk by TT22 Đ.9.1); and a save refused after the entry window (Điều
33.3c) that says plainly nothing was saved and which cells, the typed values kept and marked.

Every page reached is checked for a label on every input and saved as a screenshot under
test-artifacts/screens/<test>/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from ledger.base.clock import VN_TZ
from ledger.base.vietnamese import number
from ledger.school.rules.tt22 import term_average
from tests.support.browser import SIDEWAYS, TOO_WIDE
from tests.support.gradebooks import regular_count, sheet_csv
from tests.support.web import TermSchool, cell, sheet_path

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
async def closed(term: TermSchool) -> AsyncIterator[None]:
    yield
    await term.runtime.close()  # the worker processes that read the uploads


async def test_the_teacher_imports_a_sheet_from_the_page_and_sees_the_term_averages_dieu_17_2(
    term: TermSchool, site: str, visit: Any
) -> None:
    """At 390 px: the teacher picks the file the school's software exported, reads the dry run
    (nothing written yet), confirms with "Nhập vào sổ", and the grid shows the imported values and
    each pupil's ĐTBmhk = (ΣĐĐGtx + 2·ĐĐGgk + 3·ĐĐGck) / (số ĐĐGtx + 5)."""
    pupils = term.demo.rosters["6A1"][:2]
    slots = await regular_count(term)
    values = {pupils[0]: ["8"] * slots + ["7", "9"], pupils[1]: ["6,5"] * slots + ["8", "7,5"]}
    teacher = await visit(site, "giao-vien", width=390, height=844)
    await teacher.sign_in(term.school, term.teacher)
    await teacher.go(sheet_path(term.school), "so-diem")
    page = teacher.page
    file = {"name": "Toan_6A1_HK1.csv", "mimeType": "text/csv", "buffer": sheet_csv(term, slots, values)}
    await page.set_input_files("#import-file", files=[file])
    async with page.expect_navigation():
        await page.get_by_role("button", name="Chạy thử").click()
    report = await page.inner_text("#dry-run-result")
    assert "chưa ghi gì vào sổ cái" in report
    assert f"{2 * (slots + 2)} ô mới sẽ được ghi; 0 ô khác với sổ" in report
    assert term.demo.names[pupils[1]] in report and "ĐĐGck" in report
    assert await page.input_value(f"#{cell(pupils[0], 'final')}") == ""  # the grid holds nothing yet
    assert await page.evaluate(SIDEWAYS) <= 0, await page.evaluate(TOO_WIDE)
    await teacher.shot("chay-thu")

    async with page.expect_navigation():
        await page.get_by_role("button", name="Nhập vào sổ").click()
    assert f"Đã nhập {2 * (slots + 2)} ô điểm từ tệp vào sổ cái" in await page.inner_text("main")
    assert await page.input_value(f"#{cell(pupils[1], 'final')}") == "7,5"
    for pupil, marks in values.items():
        scores = [Decimal(v.replace(",", ".")) for v in marks]
        average = term_average(scores[:-2], scores[-2], scores[-1])
        assert await page.inner_text(f"#avg-{pupil}") == number(str(average))
    assert await page.inner_text(f"#avg-{term.demo.rosters['6A1'][2]}") == ""  # not in the file
    assert await page.evaluate(SIDEWAYS) <= 0, await page.evaluate(TOO_WIDE)
    await teacher.shot("da-nhap")


async def test_a_save_after_the_entry_window_says_nothing_was_saved_and_keeps_the_typed_values_dieu_33_3c(
    term: TermSchool, site: str, visit: Any
) -> None:
    """After term I's entry window closed, the teacher types two grades and saves: the page says no
    cell was saved, names both by pupil and column, keeps what was typed marked "chưa lưu", and offers
    a correction request for each (Điều 17.3); read again, the sheet still has neither."""
    first, second = term.demo.rosters["6A1"][:2]
    term.demo.clock.set(datetime(2026, 1, 25, 9, tzinfo=VN_TZ))
    teacher = await visit(site, "giao-vien")
    await teacher.sign_in(term.school, term.teacher)
    await teacher.go(sheet_path(term.school), "het-han")
    page = teacher.page
    await page.fill(f"#{cell(first)}", "8,5")
    await page.fill(f"#{cell(second, 'final')}", "7")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Lưu điểm").click()
    note = await page.inner_text("#unsaved")
    names = term.demo.names
    assert note == (
        "Chưa ô nào được lưu vào sổ cái. Các ô chưa lưu (đánh dấu trong bảng): "
        f"{names[first]} (ĐĐGtx 1), {names[second]} (ĐĐGck)."
    )
    main = await page.inner_text("main")
    assert "Đã hết thời hạn nhập dữ liệu học kì I" in main and "Điều 33.3c" in main
    for field, typed in ((cell(first), "8,5"), (cell(second, "final"), "7")):
        assert await page.input_value(f"#{field}") == typed
        assert await page.get_attribute(f"#{field}", "class") == "unsaved"
        assert await page.inner_text(f"#{field}-msg") == "chưa lưu"
    assert await page.locator("form.proposal").count() == 2
    await teacher.shot("khong-luu")

    await teacher.go(sheet_path(term.school), "doc-lai")
    assert await page.input_value(f"#{cell(first)}") == "" and await page.input_value(f"#{cell(second, 'final')}") == ""
