"""The import of a gradebook file on the teacher's grade-sheet page, over HTTP as a browser sends it:
the dry run the API and the CLI make, shown by pupils' and columns' names, writes nothing; the
confirmation writes the new values and files a correction request for every value that differs from
the ledger (Điều 17.2, 17.3); a bad file, another class's or subject's, or one after the entry window
(Điều 33.3c) is refused with a plain message and nothing is written. The same import runs in a real
browser in tests/pages/test_browser_grid.py."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from api.app import create_app
from ledger.base.clock import VN_TZ
from ledger.log.projection import read
from ledger.school.assessments.tables import assessments
from ledger.school.corrections.tables import corrections
from ledger.school.imports.tables import MAX_BYTES
from ledger.school.rules.tt22 import term_average
from tests.support.gradebooks import regular_count, sheet_csv
from tests.support.helpers import head
from tests.support.web import TermSchool, cell, csrf, labelled, sheet_path, sign_in

pytestmark = pytest.mark.slow


@pytest.fixture
async def teacher(term: TermSchool) -> AsyncIterator[httpx.AsyncClient]:
    app: Any = create_app(term.runtime, scheduler=False)
    transport = httpx.ASGITransport(app=app, client=("10.40.0.1", 42000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hocba.test") as client:
        await sign_in(client, term.school, term.teacher)
        yield client
    await term.runtime.close()  # the worker processes that read the uploads


def action(school: str, step: str) -> str:
    return sheet_path(school).replace("?", f"/{step}?")


def marks(slots: int, regular: str, midterm: str, final: str) -> list[str]:
    return [regular] * slots + [midterm, final]


def dry_run_section(page: str) -> str:
    """The dry run's report, up to its confirmation form (whose hidden field carries the file)."""
    return page.split('id="dry-run-result"', 1)[1].split("<form", 1)[0].split("</section>", 1)[0]


async def test_the_dry_run_writes_nothing_and_the_confirmation_imports_as_the_api_does_dieu_17_2_17_3(
    term: TermSchool, teacher: httpx.AsyncClient
) -> None:
    """The teacher uploads the sheet: the dry run names every cell that would be written by the
    pupil's name and the column's, and the one recorded cell that differs as a correction request
    (Điều 17.3); nothing is written. "Nhập vào sổ" writes the new values, files the request, and
    the grid shows the values and ĐTBmhk (TT22 Đ.9.1)."""
    school, pupils = term.school, term.demo.rosters["6A1"]
    slots = await regular_count(term)
    page = await teacher.get(sheet_path(school))
    assert 'enctype="multipart/form-data"' in page.text and '<label for="import-file">Tệp bảng điểm' in page.text
    assert labelled(page.text)
    token = csrf(page.text)
    kept = await teacher.post(sheet_path(school), data={"csrf": token, cell(pupils[0], "final"): "7"})
    assert kept.status_code == 303
    values = {
        pupils[0]: marks(slots, "8", "7", "8"),  # ĐĐGck 8 in the file, 7 in the ledger
        pupils[1]: marks(slots, "9", "8,5", "9"),
    }
    data = sheet_csv(term, slots, values)
    before = await head(term.demo.ledger, school)

    dry = await teacher.post(
        action(school, "nhap-tep"), data={"csrf": token}, files={"file": ("toan-6a1.csv", data, "text/csv")}
    )
    assert dry.status_code == 200, dry.text
    assert await head(term.demo.ledger, school) == before  # a dry run writes nothing
    report = html.unescape(dry_run_section(dry.text))
    assert "Chạy thử tệp toan-6a1.csv" in report and "chưa ghi gì vào sổ cái" in report
    new = 2 * (slots + 2) - 1
    assert f"{new} ô mới sẽ được ghi; 1 ô khác với sổ sẽ thành đề nghị điều chỉnh; 0 ô giống sổ." in report
    assert "Tệp không ghi môn, lớp, học kì, năm học; dùng của trang này." in report
    columns = "".join(f'<th scope="col">ĐĐGtx {k}</th>' for k in range(1, slots + 1))
    assert columns + '<th scope="col">ĐĐGgk</th><th scope="col">ĐĐGck</th>' in report
    rows = {
        p: report.split(f'<th scope="row">{term.demo.names[p]}</th>', 1)[1].split("</tr>", 1)[0] for p in pupils[:2]
    }
    assert '<span class="old">7,0</span> → <span class="new">8,0</span>' in rows[pupils[0]]  # the ledger's, the file's
    assert rows[pupils[0]].count("đề nghị điều chỉnh") == 1 and rows[pupils[1]].count("<td>8,5") == 1
    assert not any(pupil in report for pupil in pupils)  # names, never the identifiers
    assert "Nhập vào sổ" in dry.text
    assert f'<form method="post" action="{sheet_path(school)}" novalidate>' in dry.text  # the grid saves to itself

    carried = re.search(r'name="data" value="([^"]+)"', dry.text)
    assert carried
    done = await teacher.post(
        action(school, "nhap-vao-so"), data={"csrf": token, "file": "toan-6a1.csv", "data": carried.group(1)}
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"].endswith(f"nhap={new}&de-nghi=1")
    assert await head(term.demo.ledger, school) == before + new + 1  # the values, and the correction request
    async with term.runtime.engine().connect() as conn:
        entries = await read(conn, assessments, school, year=term.demo.year, subject="TOAN", term=1, class_id="6A1")
        [request] = await read(conn, corrections, school, status="pending")
    stored = {(r["student_id"], r["kind"], r["slot"]): r["value"] for r in entries}
    assert stored[(pupils[1], "midterm", 0)] == "8.5" and stored[(pupils[0], "final", 0)] == "7.0"
    assert len(stored) == new + 1
    assert (request["old_value"], request["new_value"], request["requested_by"]) == ("7.0", "8.0", term.teacher)

    shown = await teacher.get(done.headers["location"])
    assert f"Đã nhập {new} ô điểm từ tệp vào sổ cái; 1 ô khác với sổ được gửi thành đề nghị điều chỉnh" in shown.text
    assert f'name="{cell(pupils[1], "midterm")}" type="text" value="8,5"' in shown.text
    expected = term_average([Decimal(9)] * slots, Decimal("8.5"), Decimal(9))
    assert f'id="avg-{pupils[1]}" aria-live="polite">{str(expected).replace(".", ",")}</td>' in shown.text

    again = await teacher.post(
        action(school, "nhap-tep"), data={"csrf": token}, files={"file": ("toan-6a1.csv", data, "text/csv")}
    )
    assert "0 ô mới sẽ được ghi" in again.text and "đã có đề nghị chờ duyệt" in again.text
    assert "Không có gì mới để nhập vào sổ." in again.text and "Nhập vào sổ</button>" not in again.text
    english = await teacher.post(
        action(school, "nhap-tep") + "&lang=en", data={"csrf": token}, files={"file": ("toan-6a1.csv", data)}
    )
    assert "Dry run of toan-6a1.csv" in english.text and "a request is already pending" in english.text
    assert "Nothing new to write to the ledger." in english.text


async def test_a_bad_file_another_sheet_or_a_late_one_is_refused_plainly_and_nothing_is_written_dieu_33_3c(
    term: TermSchool, teacher: httpx.AsyncClient
) -> None:
    """A file that is no spreadsheet, one too large, one whose title names another class and subject,
    no file at all, a confirmation whose file was lost: each refused with a message saying why, and
    nothing written. After term I's entry window (Điều 33.3c) the dry run says so and offers no
    confirmation, and a confirmation sent anyway is refused."""
    school, pupils = term.school, term.demo.rosters["6A1"]
    slots = await regular_count(term)
    token = csrf((await teacher.get(sheet_path(school))).text)
    before = await head(term.demo.ledger, school)

    async def upload(name: str, data: bytes) -> httpx.Response:
        return await teacher.post(action(school, "nhap-tep"), data={"csrf": token}, files={"file": (name, data)})

    def alert(page: httpx.Response) -> str:
        found = re.search(r'<p class="verdict bad" role="alert">(.*?)</p>', page.text, re.S)
        assert found, page.text
        return html.unescape(found.group(1))

    broken = await upload("toan.xlsx", b"PK\x03\x04 not a workbook")
    assert broken.status_code == 422 and alert(broken).startswith("toan.xlsx")
    huge = await upload("toan.csv", b"x" * (MAX_BYTES + 1))
    assert huge.status_code == 413 and "5 MB" in alert(huge)
    title = "SỔ ĐIỂM MÔN NGỮ VĂN - LỚP 6A2 - HỌC KỲ I"
    other = await upload("van-6a2.csv", sheet_csv(term, slots, {pupils[0]: marks(slots, "8", "8", "8")}, title))
    assert other.status_code == 422
    assert "tệp không phải bảng điểm" in alert(other) and "lớp 6A2" in alert(other) and "Ngữ văn" in alert(other)
    empty = await teacher.post(action(school, "nhap-tep"), data={"csrf": token}, files={"file": ("toan.csv", b"")})
    assert empty.status_code == 422 and alert(empty) == "Chưa chọn tệp, hoặc tệp rỗng."
    lost = await teacher.post(action(school, "nhap-vao-so"), data={"csrf": token, "file": "toan.csv", "data": "%%"})
    assert lost.status_code == 422 and "chạy thử lại" in alert(lost)
    assert 'id="dry-run-result"' not in other.text + lost.text
    assert await head(term.demo.ledger, school) == before

    term.demo.clock.set(datetime(2026, 1, 25, 9, tzinfo=VN_TZ))  # term I's entry window has closed
    await sign_in(teacher, school, term.teacher)
    token = csrf((await teacher.get(sheet_path(school))).text)
    data = sheet_csv(term, slots, {pupils[0]: marks(slots, "8", "8", "8")})
    late = await teacher.post(action(school, "nhap-tep"), data={"csrf": token}, files={"file": ("toan.csv", data)})
    assert late.status_code == 200
    report = html.unescape(dry_run_section(late.text))
    assert "Đã hết thời hạn nhập dữ liệu học kì I" in report and "Điều 33.3c" in report
    assert "Nhập vào sổ</button>" not in late.text
    carried = re.search(r'name="data" value="([^"]+)"', late.text)
    assert carried is None
    sent = await teacher.post(
        action(school, "nhap-vao-so"),
        data={"csrf": token, "file": "toan.csv", "data": base64.b64encode(data).decode()},
    )
    assert sent.status_code == 409 and "Đã hết thời hạn nhập dữ liệu học kì I" in alert(sent)
    assert await head(term.demo.ledger, school) == before
