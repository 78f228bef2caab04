"""The pages of the school's daily work, over HTTP as a browser sends it (forms, a session cookie):
sign-in and deny by default (DOMAIN §2), CSRF, the grade sheet's checks and refusals (TT22 Đ.6;
Điều 17.3, 36.2), the leadership inbox (Điều 4.4, 17.3), the signing buttons (Điều 18), the auditors'
pages (Điều 20.3) and the charts. Every page view is in the access trail. The same flows run in a
real browser in tests/pages/test_browser.py."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.http.scope import PUBLIC
from api.pages.charts import SCORE_BANDS, band_of
from api.pages.staff import demo_sign
from api.pages.text import EVENTS, OPERATIONS, TEXT
from api.pages.toolkit import staff_names
from audit.trail import query_access
from ledger.app.demo import ADMIN, CLERK, PRINCIPAL, DemoSchool, issuing, sign_as
from ledger.app.runtime import Runtime
from ledger.base.clock import VN_TZ
from ledger.base.settings import Settings
from ledger.log.projection import read
from ledger.school.assessments.commands import SheetEntry, record_sheet
from ledger.school.assessments.tables import assessments, conduct
from ledger.school.corrections.commands import decide_request, file_request
from ledger.school.corrections.model import assessment_target
from ledger.school.corrections.tables import corrections
from ledger.school.rules.policy import POLICY
from ledger.school.rules.tt22 import term_average
from ledger.school.signatures.commands import prepare_signatures, submit_signature
from ledger.school.signatures.tables import signatures
from ledger.school.years.tables import students
from signing.x509.pki import Pki
from tests.support.helpers import PASSWORD as FIXTURE_PASSWORD
from tests.support.helpers import head, refused
from tests.support.signers import Signers
from tests.support.web import (
    AUDITOR,
    TermSchool,
    accounts,
    cell,
    csrf,
    fill_sheet,
    labelled,
    lock_entry,
    school_in_term,
    service_for,
    sheet_path,
    sign_in,
)

pytestmark = pytest.mark.slow


@pytest.fixture
async def term(app_engine: AsyncEngine, settings: Settings, pki: Pki) -> TermSchool:
    return await school_in_term(app_engine, settings, pki)


def client_of(runtime: Runtime, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(runtime, scheduler=False), client=(address, 42000))
    return httpx.AsyncClient(transport=transport, base_url="http://hocba.test")


@pytest.fixture
async def teacher(term: TermSchool) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(term.runtime, "10.40.0.1") as client:
        await sign_in(client, term.school, term.teacher)
        yield client


@pytest.fixture
async def principal(term: TermSchool) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(term.runtime, "10.40.0.2") as client:
        await sign_in(client, term.school, PRINCIPAL.user)
        yield client


def test_both_languages_have_every_word() -> None:
    assert set(TEXT["vi"]) == set(TEXT["en"])
    assert set(EVENTS["vi"]) == set(EVENTS["en"])


def test_every_operation_has_a_vietnamese_name_for_the_access_log(app: Any) -> None:
    """No code on a Vietnamese page: every route the access log can show is named in words."""
    operations = {
        handler.operation_id
        for route in app.app.routes
        for handler in getattr(route, "route_handlers", [])
        if isinstance(getattr(handler, "operation_id", None), str)
    }
    assert operations and operations <= set(OPERATIONS["vi"]), sorted(operations - set(OPERATIONS["vi"]))


def test_every_page_names_an_action_of_the_policy(app: Any) -> None:
    """Deny by default (DOMAIN §2): each page for signed-in people names a policy action and reads the
    session cookie; only the sign-in page, the portal and the assets are public."""
    public, private = set(), set()
    for route in app.app.routes:
        for handler in getattr(route, "route_handlers", []):
            path = route.path
            if path.startswith(("/api/", "/schema", "/metrics")):
                continue
            if set(getattr(handler, "http_methods", ())) <= {"OPTIONS", "HEAD"}:
                continue  # answered by the framework
            action = handler.opt.get("action")
            if action == PUBLIC:
                public.add(path)
            else:
                assert action in POLICY and handler.opt.get("page") is True, (path, action)
                private.add(path)
    assert public == {"/dang-nhap", "/cong-xac-minh", "/cong-xac-minh/tra-cuu", "/static/{file_path:path}"}
    assert len(private) >= 15


async def test_sign_in_opens_only_what_the_policy_allows_and_every_view_is_recorded(term: TermSchool) -> None:
    """Deny by default (DOMAIN §2): no session, no page; a teacher is refused the leadership inbox
    (Điều 17.3); the cookie opens pages only and a bearer token opens no page."""
    school = term.school
    async with client_of(term.runtime, "10.40.0.9") as visitor:
        anonymous = await visitor.get(f"/truong/{school}/dieu-chinh")
        assert anonymous.status_code == 303
        assert unquote(anonymous.headers["location"]) == f"/dang-nhap?next=/truong/{school}/dieu-chinh"
        form = await visitor.get("/dang-nhap")
        assert form.status_code == 200 and "Tên đăng nhập" in form.text and labelled(form.text)
        wrong = await visitor.post("/dang-nhap", data={"school": school, "username": PRINCIPAL.user, "password": "x"})
        assert wrong.status_code == 401 and "Tên đăng nhập hoặc mật khẩu không đúng." in wrong.text
        elsewhere = await visitor.post(
            "/dang-nhap",
            data={
                "school": school,
                "username": PRINCIPAL.user,
                "password": "mat-khau-trang-web",
                "next": "//evil.example",
            },
        )
        assert elsewhere.status_code == 303 and elsewhere.headers["location"] == f"/truong/{school}"
        tricked = await visitor.post(
            "/dang-nhap",
            data={
                "school": school,
                "username": PRINCIPAL.user,
                "password": "mat-khau-trang-web",
                "next": "/\t/evil.example",
            },
        )
        assert tricked.headers["location"] == f"/truong/{school}"  # browsers drop the tab: //evil.example
        cookie = elsewhere.headers["set-cookie"]
        assert "hocba_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
        home = await visitor.get(f"/truong/{school}")
        assert home.status_code == 200 and "Xin chào, Đoàn Thị Thủy" in home.text
        assert f"/truong/{school}/dieu-chinh" in home.text and f"/truong/{school}/lich?year=2025-2026" in home.text
        people = (await visitor.get(f"/truong/{school}/nhan-su")).text
        assert "<td>Toán</td><td>I</td>" in people  # a teaching assignment: the subject by name, the term as I
        # the cookie is not a credential of the API
        api = await visitor.get(f"/api/v1/schools/{school}/corrections")
        assert api.status_code == 401
        # signing out needs the form's token; then the session is gone
        refused = await visitor.post("/dang-xuat", data={"csrf": "0" * 40})
        assert refused.status_code == 403 and TEXT["vi"]["stale_form"] in refused.text
        out = await visitor.post("/dang-xuat", data={"csrf": csrf(home.text)})
        assert out.status_code == 303 and 'hocba_session=""' in out.headers["set-cookie"]
        visitor.cookies.clear()
        assert (await visitor.get(f"/truong/{school}")).status_code == 303

    async with client_of(term.runtime, "10.40.0.10") as api_user:
        token = await api_user.post(
            "/api/v1/auth/token", json={"school": school, "username": PRINCIPAL.user, "password": "mat-khau-trang-web"}
        )
        bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
        assert (await api_user.get(f"/truong/{school}", headers=bearer)).status_code == 303

    async with client_of(term.runtime, "10.40.0.11") as teacher:
        await sign_in(teacher, school, term.teacher)
        denied = await teacher.get(f"/truong/{school}/dieu-chinh")
        assert denied.status_code == 403 and TEXT["vi"]["forbidden"] in denied.text
        assert (await teacher.get(f"/truong/{school}/kiem-toan")).status_code == 403
        other = await teacher.get("/truong/kp-khac/dieu-chinh")
        assert other.status_code == 403  # another school's pages
    async with term.runtime.engine().connect() as conn:
        seen = await query_access(conn, school, username=term.teacher, limit=20)
    actions = {(r["action"], r["outcome"]) for r in seen}
    assert ("page_inbox", "denied") in actions and ("page_audit", "denied") in actions
    assert ("page_login_submit", "allowed") in actions


async def test_refused_sign_ins_on_the_page_and_the_api_share_one_limit(term: TermSchool) -> None:
    """Five refused sign-ins of an account, by page or by API, block the sixth (DOMAIN §2)."""
    school = term.school
    async with client_of(term.runtime, "10.40.0.12") as visitor:
        for _ in range(5):
            wrong = await visitor.post("/dang-nhap", data={"school": school, "username": ADMIN.user, "password": "x"})
            assert wrong.status_code == 401
        blocked = await visitor.post(
            "/dang-nhap", data={"school": school, "username": ADMIN.user, "password": "mat-khau-trang-web"}
        )
        assert blocked.status_code == 429 and "Đăng nhập sai quá nhiều lần" in blocked.text
        api = await visitor.post(
            "/api/v1/auth/token", json={"school": school, "username": ADMIN.user, "password": "mat-khau-trang-web"}
        )
        assert api.status_code == 429


async def test_a_session_is_renewed_while_pages_are_used_and_ends_when_they_are_not(
    term: TermSchool, principal: httpx.AsyncClient
) -> None:
    """Tokens live 15 minutes; a page viewed past half of that renews the session, and its forms
    carry the token of the renewed session. A session left alone ends."""
    school = term.school
    first = await principal.get(f"/truong/{school}")
    assert "set-cookie" not in first.headers
    term.demo.clock.set(term.demo.clock.now() + timedelta(minutes=10))
    renewed = await principal.get(f"/truong/{school}/lich")
    assert renewed.status_code == 200 and "hocba_session=" in renewed.headers["set-cookie"]
    assert csrf(renewed.text) != csrf(first.text)
    term.demo.clock.set(term.demo.clock.now() + timedelta(minutes=14))
    assert (await principal.get(f"/truong/{school}")).status_code == 200  # alive: the renewed token
    term.demo.clock.set(term.demo.clock.now() + timedelta(minutes=16))
    ended = await principal.get(f"/truong/{school}")
    assert ended.status_code == 303 and ended.headers["location"].startswith("/dang-nhap?next=")


async def test_the_grade_sheet_checks_values_saves_and_refuses_an_overwrite_with_a_correction_offer(
    term: TermSchool, teacher: httpx.AsyncClient
) -> None:
    """TT22 Đ.6: "8,5" is a score, "11" is not; Điều 17.3: a recorded value is never overwritten, the
    page offers the written correction request instead."""
    school, student = term.school, term.demo.rosters["6A1"][0]
    page = await teacher.get(sheet_path(school))
    assert page.status_code == 200, page.text
    assert "Đang trong thời hạn nhập điểm, đến 22/01/2026 23:59." in page.text and labelled(page.text)
    assert 'data-kind="score"' in page.text and 'src="/static/hocba.js"' in page.text
    token = csrf(page.text)
    before = await head(term.demo.ledger, school)

    beside = term.demo.rosters["6A1"][1]
    bad = await teacher.post(sheet_path(school), data={"csrf": token, cell(student): "11", cell(beside): "7"})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text
    assert "Điểm phải là số từ 0 đến 10" in bad.text
    # all or nothing: the good value typed beside the wrong one is not saved either, and says so
    names = term.demo.names
    assert f"Các ô chưa lưu (đánh dấu trong bảng): {names[student]} (ĐĐGtx 1), {names[beside]} (ĐĐGtx 1)." in bad.text
    assert 'value="7" size="4"' in bad.text and bad.text.count('class="unsaved"') == 2
    assert await head(term.demo.ledger, school) == before

    saved = await teacher.post(sheet_path(school), data={"csrf": token, cell(student): "8,5"})
    assert saved.status_code == 303 and "luu=1" in saved.headers["location"]
    shown = await teacher.get(saved.headers["location"])
    assert (
        "Đã lưu 1 ô điểm vào sổ cái." in shown.text and f'name="{cell(student)}" type="text" value="8,5"' in shown.text
    )

    again = await teacher.post(sheet_path(school), data={"csrf": token, cell(student): "9"})
    assert again.status_code == 409
    assert "Điểm này đã được nhập (8,5); không thể ghi đè bằng 9,0." in again.text and "Điều 17.3" in again.text
    assert 'name="old_value" value="8.5"' in again.text and 'name="new_value" value="9"' in again.text
    assert '<span class="old">8,5</span> → <span class="new">9</span>' in again.text
    assert 'value="9" size="4"' in again.text and 'class="unsaved"' in again.text  # typed, marked unsaved
    assert (
        f"Chưa ô nào được lưu vào sổ cái. Các ô chưa lưu (đánh dấu trong bảng): {term.demo.names[student]} (ĐĐGtx 1)."
        in again.text
    )
    filed = await teacher.post(
        sheet_path(school).replace("?", "/dieu-chinh?"),
        data={
            "csrf": token,
            "student": student,
            "kind": "regular",
            "slot": "1",
            "old_value": "8.5",
            "new_value": "9",
            "reason": "Cộng nhầm điểm bài kiểm tra",
        },
    )
    assert filed.status_code == 303 and "dieu-chinh=1" in filed.headers["location"]
    async with term.runtime.engine().connect() as conn:
        [request] = await read(conn, corrections, school, status="pending")
    assert (request["old_value"], request["new_value"], request["requested_by"]) == ("8.5", "9.0", term.teacher)
    assert (
        await teacher.post(
            f"/truong/{school}/dieu-chinh/{request['request_id']}",
            data={"csrf": token, "decision": "approve", "reason": "x"},
        )
    ).status_code == 403


async def test_a_new_value_inside_the_window_is_an_entry_and_only_a_changed_one_asks_for_a_correction_dieu_17_3(
    term: TermSchool, teacher: httpx.AsyncClient
) -> None:
    """A save that changes a recorded cell and fills an empty one: the empty one is saved as an entry
    (the window is open), only the recorded one is offered as a correction request. After the final
    date no correction form is offered at all (Điều 25.3), and nothing is saved."""
    school, (first, second) = term.school, term.demo.rosters["6A1"][:2]
    token = csrf((await teacher.get(sheet_path(school))).text)
    assert (await teacher.post(sheet_path(school), data={"csrf": token, cell(first): "7"})).status_code == 303
    before = await head(term.demo.ledger, school)
    mixed = await teacher.post(sheet_path(school), data={"csrf": token, cell(first): "8", cell(second): "6,5"})
    assert mixed.status_code == 409
    assert await head(term.demo.ledger, school) == before + 1  # the new cell, as an entry
    assert "Đã lưu 1 ô mới vào sổ cái." in mixed.text and mixed.text.count('class="proposal"') == 1
    assert f'name="student" value="{first}"' in mixed.text and f'name="student" value="{second}"' not in mixed.text
    async with term.runtime.engine().connect() as conn:
        rows = await read(conn, assessments, school, student_id=second, subject="TOAN", term=1, kind="regular")
    assert [r["value"] for r in rows] == ["6.5"]

    term.demo.clock.set(datetime(2026, 9, 1, 8, tzinfo=VN_TZ))  # after the final date of the year
    await sign_in(teacher, school, term.teacher)  # the session of August has expired
    final = (await teacher.get(sheet_path(school))).text
    token = csrf(final)
    # nothing can be typed or imported any more (Điều 25.3): the grid is only read
    assert ">Lưu điểm</button>" not in final and 'id="import-file"' not in final and "readonly" in final
    late = await teacher.post(sheet_path(school), data={"csrf": token, cell(first): "9"})
    assert late.status_code in (403, 409) and 'class="proposal"' not in late.text
    assert "Chưa ô nào được lưu vào sổ cái" in late.text
    assert await head(term.demo.ledger, school) == before + 1


async def test_the_grid_numbers_its_rows_shows_the_ministry_code_and_the_term_average_tt22_d9(
    term: TermSchool, teacher: httpx.AsyncClient
) -> None:
    """The grid teachers know: STT, the Mã học sinh (not the 12-digit personal identifier), and ĐTBmhk
    = (ΣĐĐGtx + 2·ĐĐGgk + 3·ĐĐGck) / (số ĐĐGtx + 5) once a row is complete (TT22 Đ.9.1)."""
    school, student = term.school, term.demo.rosters["6A1"][0]
    page = await teacher.get(sheet_path(school))
    regular = page.text.count(f'id="c-{student}-regular-')
    values = {cell(student, "regular", n): v for n, v in zip(range(1, regular + 1), ["8", "7", "9", "6"], strict=False)}
    values |= {cell(student, "midterm", 0): "7", cell(student, "final", 0): "8"}
    saved = await teacher.post(sheet_path(school), data={"csrf": csrf(page.text), **values})
    assert saved.status_code == 303, saved.text
    shown = (await teacher.get(saved.headers["location"])).text
    scores = [Decimal(v) for v in values.values()]
    expected = term_average(scores[:-2], scores[-2], scores[-1])
    assert f'id="avg-{student}" aria-live="polite">{str(expected).replace(".", ",")}</td>' in shown
    async with term.runtime.engine().connect() as conn:
        [profile] = await read(conn, students, school, student_id=student)
    row = shown.split(f'<tr data-student="{student}">', 1)[1].split("</tr>", 1)[0]
    assert row.startswith("<td>1</td>") and f'<span class="muted">{profile["ministry_code"]}</span>' in row
    assert f">{student}<" not in row  # the personal identifier is not shown


async def test_the_grade_sheet_page_takes_the_subject_by_its_name_as_the_api_and_the_cli_do(
    term: TermSchool, teacher: httpx.AsyncClient
) -> None:
    """One resolver (ledger.school.rules.names): /mon/Toán/hoc-ky/HK I is the page of TOAN, term 1."""
    by_code = await teacher.get(sheet_path(term.school))
    for name, number in (("Toán", "HK I"), ("toán", "Học kì 1")):
        by_name = await teacher.get(sheet_path(term.school, subject=name).replace("/hoc-ky/1", f"/hoc-ky/{number}"))
        assert by_name.status_code == 200, by_name.text
        assert csrf(by_name.text) and "Toán" in by_name.text
        assert by_name.text.count('data-kind="score"') == by_code.text.count('data-kind="score"')
    unknown = await teacher.get(sheet_path(term.school, subject="Toán học"))
    assert unknown.status_code == 404 and "Toán (TOAN)" in unknown.text


async def test_leadership_approves_in_the_inbox_and_the_value_changes(
    term: TermSchool, teacher: httpx.AsyncClient, principal: httpx.AsyncClient
) -> None:
    """Điều 17.3: the inbox shows old and new value, the history, who asked and why; approval with a
    reason appends the change; a decision without a reason is refused and changes nothing."""
    school, student = term.school, term.demo.rosters["6A1"][1]
    token = csrf((await teacher.get(sheet_path(school))).text)
    await teacher.post(sheet_path(school), data={"csrf": token, cell(student, "midterm"): "6"})
    await teacher.post(
        sheet_path(school).replace("?", "/dieu-chinh?"),
        data={
            "csrf": token,
            "student": student,
            "kind": "midterm",
            "slot": "0",
            "old_value": "6",
            "new_value": "7,5",
            "reason": "Chấm sót câu 3",
        },
    )
    inbox = await principal.get(f"/truong/{school}/dieu-chinh")
    assert inbox.status_code == 200 and labelled(inbox.text)
    assert "Chấm sót câu 3" in inbox.text and term.demo.names[student] in inbox.text
    heading = inbox.text.split('<h2 id="req-', 1)[1].split("</h2>", 1)[0]
    assert student not in heading and ", học kì I, " in heading  # the Mã học sinh, not the personal id
    assert '<dd class="old">6,0</dd>' in inbox.text and '<dd class="new">7,5</dd>' in inbox.text
    request_id = re.search(r'action="/truong/[^/]+/dieu-chinh/([0-9a-f-]{36})"', inbox.text)
    assert request_id
    url = f"/truong/{school}/dieu-chinh/{request_id.group(1)}"
    before = await head(term.demo.ledger, school)
    empty = await principal.post(url, data={"csrf": csrf(inbox.text), "decision": "approve", "reason": ""})
    assert empty.status_code == 422 and await head(term.demo.ledger, school) == before
    done = await principal.post(url, data={"csrf": csrf(inbox.text), "decision": "approve", "reason": "Đúng bài"})
    assert done.status_code == 303 and done.headers["location"].endswith("xong=approved")
    async with term.runtime.engine().connect() as conn:
        [value] = await read(
            conn,
            assessments,
            school,
            year="2025-2026",
            student_id=student,
            subject="TOAN",
            term=1,
            kind="midterm",
            slot=0,
        )
    assert value["value"] == "7.5"
    approved = await principal.get(f"/truong/{school}/dieu-chinh?trang-thai=approved")
    assert "Đã phê duyệt" in approved.text and "Đúng bài" in approved.text


async def test_a_lock_on_the_calendar_page_refuses_entry_and_says_why(
    term: TermSchool, teacher: httpx.AsyncClient, principal: httpx.AsyncClient
) -> None:
    """Điều 36.2: the admin locks entry on the principal's order; the sheet then shows the lock and
    refuses a new value with the order it rests on, offering a correction request (Điều 17.3)."""
    school, student = term.school, term.demo.rosters["6A1"][2]
    calendar = await principal.get(f"/truong/{school}/lich?year=2025-2026")
    assert calendar.status_code == 200 and "đang mở" in calendar.text and "Khóa sổ cuối năm" in calendar.text
    assert '<th scope="row">I</th>' in calendar.text and '<th scope="row">II</th>' in calendar.text  # Học kì I, II
    assert "Khóa hoặc mở nhập liệu" not in calendar.text  # the principal orders, the admin locks
    async with client_of(term.runtime, "10.40.0.3") as admin:
        await sign_in(admin, school, ADMIN.user)
        page = await admin.get(f"/truong/{school}/lich?year=2025-2026")
        assert labelled(page.text)
        locked = await admin.post(
            f"/truong/{school}/lich/khoa?year=2025-2026",
            data={
                "csrf": csrf(page.text),
                "state": "closed",
                "class_id": "6A1",
                "subject": "toan",
                "term": "1",
                "order": "Lệnh số 3/LĐ ngày 01/10/2025",
                "ordered_by": PRINCIPAL.user,
            },
        )
        assert locked.status_code == 303
        listed = (await admin.get(locked.headers["location"])).text
        assert "Lệnh số 3/LĐ ngày 01/10/2025" in listed
        assert "lớp 6A1, môn Toán, học kì I" in listed and "môn TOAN" not in listed
    sheet = await teacher.get(sheet_path(school))
    assert "(năm học 2025-2026, lớp 6A1, môn Toán, học kì I) đang bị khóa theo Lệnh số 3/LĐ" in sheet.text
    refused = await teacher.post(sheet_path(school), data={"csrf": csrf(sheet.text), cell(student, "final"): "7"})
    assert refused.status_code == 409 and "đang bị khóa" in refused.text
    assert 'name="new_value" value="7"' in refused.text  # the correction request is offered


async def test_the_progress_board_counts_entries_and_shows_signed_and_changed_sheets_dieu_18_3(
    term: TermSchool, teacher: httpx.AsyncClient, principal: httpx.AsyncClient
) -> None:
    """Leadership follows the term: each class × subject × term sheet with cells entered out of cells
    due, ✓ once its teacher signed it, ⟳ when a value was recorded after the signature."""
    school, year, student = term.school, term.demo.year, term.demo.rosters["6A1"][0]
    board = f"/truong/{school}/tien-do?year={year}"
    assert (await teacher.get(board)).status_code == 403  # a subject teacher does not follow the school

    def toan(html: str) -> str:
        return html.split(f'href="/truong/{school}/lop/6A1/mon/TOAN/hoc-ky/1?year={year}"', 1)[1].split("</td>", 1)[0]

    first = await principal.get(board)
    assert first.status_code == 200 and labelled(first.text)
    head_row = first.text.split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert head_row.index("Ngữ văn") < head_row.index("Toán") < head_row.index("Ngoại ngữ 1")  # the học bạ's order
    entered, due = (int(n) for n in toan(first.text).split(">", 1)[1].split("<", 1)[0].split("/"))
    token = csrf((await teacher.get(sheet_path(school))).text)
    assert (
        await teacher.post(sheet_path(school), data={"csrf": token, cell(student, "final"): "7"})
    ).status_code == 303
    assert f">{entered + 1}/{due}<" in toan((await principal.get(board)).text)
    early = await teacher.post(sheet_path(school).replace("?", "/ky-bang-diem?"), data={"csrf": token})
    assert early.status_code == 409 and "Bảng điểm còn thiếu điểm" in early.text  # not signed half entered
    await fill_sheet(teacher, school, term.demo.rosters["6A1"])
    assert f">{due}/{due}<" in toan((await principal.get(board)).text)
    await lock_entry(term.demo)  # Điều 18.3, 36.2: signed once nothing more can be entered
    sign = sheet_path(school).replace("?", "/ky-bang-diem?")
    asked = await teacher.post(sign, data={"csrf": token})  # the first press says what will be signed
    assert asked.status_code == 200 and "Bạn sắp ký bảng điểm môn Toán lớp 6A1, học kì I, của 3 học sinh" in asked.text
    assert "✓" not in toan((await principal.get(board)).text)
    signed = await teacher.post(sign, data={"csrf": token, "confirm": "1"})
    assert signed.status_code == 303, signed.text
    assert "✓" in toan((await principal.get(board)).text)
    # a value corrected after the signature (Điều 17.3): the sheet is to be signed again
    target = assessment_target(year, 1, "6A1", "TOAN", student, "final", None)
    asked = await file_request(
        term.demo.ledger, school, term.demo.teacher("TOAN"), target, old_value="7.0", new_value="8", reason="Cộng nhầm"
    )
    # the teacher's sheet marks the cell and lists the request with its status (Điều 17.3)
    grid = (await teacher.get(sheet_path(school))).text
    cell_html = grid.split(f'id="{cell(student, "final")}"', 1)[1].split("</td>", 1)[0]
    assert "đề nghị sửa thành 8,0, chờ duyệt" in cell_html
    listed = grid.split('id="requests"', 1)[1].split("</table>", 1)[0]
    assert term.demo.names[student] in listed and "ĐĐGck" in listed and "7,0" in listed and "Đang chờ" in listed
    await decide_request(term.demo.ledger, school, PRINCIPAL, asked.payload["request"], approve=True, reason="Đúng")
    decided = (await teacher.get(sheet_path(school))).text
    assert "đã duyệt sửa thành 8,0" in decided.split(f'id="{cell(student, "final")}"', 1)[1].split("</td>", 1)[0]
    changed = toan((await principal.get(board)).text)
    assert "⟳" in changed and "✓" not in changed
    await accounts(term.runtime, term.demo, [CLERK.user])
    async with client_of(term.runtime, "10.40.0.8") as clerk:  # the clerk follows the counts, not the sheets
        await sign_in(clerk, school, CLERK.user)
        counts = await clerk.get(board)
        assert counts.status_code == 200 and f">{due}/{due}<" in counts.text and "/mon/" not in counts.text


async def test_the_homeroom_teacher_records_conduct_absences_and_comments_on_a_page_dieu_34(
    term: TermSchool, teacher: httpx.AsyncClient
) -> None:
    """Điều 34.1, 34.6; TT22 Đ.8: the homeroom teacher's term on a page: conduct, sessions absent with
    and without leave, the comment. A recorded conduct is not overwritten: the page says what was
    saved and what was not. A subject teacher only reads it."""
    school, year, (first, second) = term.school, term.demo.year, term.demo.rosters["6A1"][:2]
    path = f"/truong/{school}/lop/6A1/chu-nhiem/hoc-ky/1?year={year}"
    async with client_of(term.runtime, "10.40.0.9") as homeroom:
        await sign_in(homeroom, school, term.homeroom)
        page = await homeroom.get(path)
        assert page.status_code == 200 and labelled(page.text) and "Nhận xét học kì I" in page.text
        form = {
            "csrf": csrf(page.text),
            f"level-{first}": "Tốt",
            f"excused-{first}": "2",
            f"unexcused-{first}": "1",
            f"comment-1-{first}": "Chăm ngoan, tích cực phát biểu.",
        }
        saved = await homeroom.post(path, data=form)
        assert saved.status_code == 303 and "luu=3" in saved.headers["location"], saved.text
        shown = (await homeroom.get(saved.headers["location"])).text
        assert "Đã lưu 3 mục vào sổ cái." in shown and "Chăm ngoan, tích cực phát biểu." in shown
        assert '<option value="Tốt" selected>' in shown and f'name="excused-{first}"' in shown

        changed = await homeroom.post(path, data={**form, f"level-{first}": "Khá", f"excused-{second}": "1"})
        assert (
            changed.status_code == 409
            and "Đã lưu: không có gì. Chưa lưu: kết quả rèn luyện, số buổi nghỉ." in changed.text
        )
        assert "Điều 17.3" in changed.text
        same = await homeroom.post(path, data=form)
        assert "Không có mục nào thay đổi." in (await homeroom.get(same.headers["location"])).text
        erased = await homeroom.post(path, data={**form, f"comment-1-{first}": ""})
        assert erased.status_code == 422 and "nhận xét đã ghi không xóa được" in erased.text
        forged = await homeroom.get(path + "&luu=Hệ+thống+lỗi")  # no text from an address reaches a message
        assert "Hệ thống lỗi" not in forged.text and "Đã lưu" not in forged.text
        async with term.runtime.engine().connect() as conn:
            [row] = await read(conn, conduct, school, year=year, term=1, student_id=first)
        assert row["level"] == "Tốt"
        assert 'id="final-passed"' not in shown
    assert (await teacher.get(path)).status_code == 403 or "readonly" in (await teacher.get(path)).text
    token = csrf((await teacher.get(sheet_path(school))).text)
    assert (await teacher.post(path, data={"csrf": token, f"level-{second}": "Khá"})).status_code == 403
    term.demo.clock.set(datetime(2026, 9, 1, 8, tzinfo=VN_TZ))  # after the final date (Điều 25.3)
    async with client_of(term.runtime, "10.40.0.9") as homeroom:
        await sign_in(homeroom, school, term.homeroom)
        final = (await homeroom.get(path)).text
    assert "Đã qua hạn cuối điều chỉnh (30/08/2026 23:59, Điều 25.3)" in final
    assert ">Lưu</button>" not in final and 'name="level-' in final and "disabled" in final


async def test_the_school_summary_counts_every_student_once_per_class_grade_and_school_dieu_33_6(
    term: TermSchool, teacher: httpx.AsyncClient, principal: httpx.AsyncClient
) -> None:
    """The results the school reports: per class, a subtotal per grade and the school's total, each
    student counted once in learning and once in conduct, with shares written as schools write them."""
    school, year = term.school, term.demo.year
    page = await principal.get(f"/truong/{school}/tong-hop?year={year}&ky=1")
    assert page.status_code == 200 and labelled(page.text)
    assert "Toàn trường" in page.text and "Khối 6" in page.text and "Chưa xếp loại" in page.text
    enrolled = sum(len(roster) for roster in term.demo.rosters.values())
    total = page.text.split("<tfoot>", 1)[1].split("</tfoot>", 1)[0]
    cells = [c.split("<br>")[0] for c in re.findall(r"<td>(.*?)</td>", total, flags=re.S)]
    assert int(cells[0]) == enrolled
    learning, conduct = [int(c) for c in cells[1:6]], [int(c) for c in cells[6:11]]
    assert sum(learning) == enrolled and sum(conduct) == enrolled
    assert re.search(r"\d+(,\d)?%", total)  # 100,0% or 33,3%: a decimal comma
    assert (await teacher.get(f"/truong/{school}/tong-hop?year={year}")).status_code == 403


async def test_the_principal_sets_the_calendar_on_the_page_and_a_passed_date_is_never_moved_dieu_25(
    term: TermSchool, teacher: httpx.AsyncClient, principal: httpx.AsyncClient
) -> None:
    """Điều 25, 33.3c: the principal sets the year's dates on the page, as through the API; a date that
    has passed is not moved, and the page says so; a teacher has no such form."""
    school, year = term.school, term.demo.year
    page = await principal.get(f"/truong/{school}/lich?year={year}")
    assert page.status_code == 200 and labelled(page.text) and "Ban hành lịch năm học" in page.text
    assert "Ban hành lịch năm học" not in (await teacher.get(f"/truong/{school}/lich?year={year}")).text
    fields = dict(re.findall(r'name="([te][12]-[a-z]+|close|final)" type="date" required value="([0-9-]+)"', page.text))
    assert len(fields) == 10, fields
    later = {**fields, "e2-closes": "2026-05-25", "order": "Quyết định số 12/QĐ-THCS ngày 10/01/2026"}
    done = await principal.post(f"/truong/{school}/lich/ban-hanh?year={year}", data={"csrf": csrf(page.text), **later})
    assert done.status_code == 303, done.text
    shown = (await principal.get(done.headers["location"])).text
    assert "Đã ban hành lịch năm học." in shown and "25/05/2026" in shown
    before = await head(term.demo.ledger, school)
    moved = {**later, "e1-opens": "2025-09-20"}  # term I's window opened in September: a date that has passed
    refused = await principal.post(f"/truong/{school}/lich/ban-hanh?year={year}", data={"csrf": csrf(shown), **moved})
    assert refused.status_code in (409, 422) and 'role="alert"' in refused.text and "Điều 25" in refused.text
    assert 'value="2025-09-20"' in refused.text  # what was typed stays on the form
    assert await head(term.demo.ledger, school) == before
    assert (
        await teacher.post(f"/truong/{school}/lich/ban-hanh?year={year}", data={"csrf": csrf(shown), **later})
    ).status_code == 403


async def test_a_value_entered_after_the_hoc_ba_was_signed_leaves_that_signature_stale_dieu_18(
    term: TermSchool, teacher: httpx.AsyncClient
) -> None:
    """Điều 18: a signature covers what was on the học bạ when it was signed. The Toán teacher signs
    the year's Toán in each học bạ once both terms are entered and the principal has had entry locked
    (Điều 36.2); entry is opened again and a comment written for one pupil: that pupil's signature is
    stale (⟳), not only after a correction; the other pupils' signatures stand."""
    school, pupils = term.school, term.demo.rosters["6A1"]
    first, second = pupils[:2]
    await fill_sheet(teacher, school, pupils)
    term.demo.clock.set(datetime(2026, 3, 2, 9, tzinfo=VN_TZ))  # inside term II's entry window
    await sign_in(teacher, school, term.teacher)
    await fill_sheet(teacher, school, pupils, term=2)
    second_term = sheet_path(school, term=2)
    await lock_entry(term.demo, term_no=2)
    # Điều 18.3, 36.2: signed under the lock, sent back after entry was opened again: refused on the
    # append path, nothing appended
    runtime, year = term.runtime, term.demo.year
    async with runtime.engine().connect() as conn:
        [prepared] = await prepare_signatures(
            conn, school, year, [first], "SUBJECT_TEACHER", "TOAN", runtime.clock.now()
        )
    signed_early = demo_sign(runtime, school, term.teacher, prepared["document"])
    await lock_entry(term.demo, closed=False, term_no=2)

    def sending() -> Any:
        teacher_actor = term.demo.teacher("TOAN")
        roots, crls = runtime.trusted_roots(), runtime.crls()
        return submit_signature(
            term.demo.ledger, school, teacher_actor, year, first, signed_early, roots, crls, runtime.stamp()
        )

    refusal = await refused(term.demo.ledger, school, "signature.period_open", sending)
    assert "học bạ của " + term.demo.names[first] in refusal.vi
    await lock_entry(term.demo, term_no=2)
    token = csrf((await teacher.get(second_term)).text)
    asked = await teacher.post(second_term.replace("?", "/ky-hoc-ba?"), data={"csrf": token})
    listed = asked.text.split('class="confirm"')[1].split("</div>")[0]
    assert all(term.demo.names[p] in listed for p in pupils) and "Xác nhận ký 3 học bạ" in listed
    signed = await teacher.post(second_term.replace("?", "/ky-hoc-ba?"), data={"csrf": token, "confirm": "1"})
    assert signed.status_code == 303 and signed.headers["location"].endswith(f"ky={len(pupils)}"), signed.text
    await lock_entry(term.demo, closed=False, term_no=2)
    comment = SheetEntry(first, "comment", "Tiến bộ rõ trong học kì II")
    await record_sheet(
        term.demo.ledger,
        school,
        term.demo.teacher("TOAN"),
        year=term.demo.year,
        term=2,
        class_id="6A1",
        subject="TOAN",
        entries=[comment],
    )
    async with term.runtime.engine().connect() as conn:
        rows = await read(conn, signatures, school, year=term.demo.year, subject="TOAN")
    state = {r["student_id"]: r["stale"] for r in rows}
    assert state[first] is True and state[second] is False


async def test_sign_buttons_prepare_sign_and_submit_in_order(term: TermSchool, teacher: httpx.AsyncClient) -> None:
    """Điều 18.3: the subject teacher signs the class sheet; Điều 18, 24.5: the homeroom teacher signs
    only after every subject teacher, and the board says who signed what."""
    school = term.school
    await fill_sheet(teacher, school, term.demo.rosters["6A1"])
    token = csrf((await teacher.get(sheet_path(school))).text)
    early = await teacher.post(sheet_path(school).replace("?", "/ky-bang-diem?"), data={"csrf": token})
    assert early.status_code == 409 and "còn đến 23:59 ngày 22/01/2026" in early.text  # term I's entry is open
    await lock_entry(term.demo)
    signing = {"csrf": token, "confirm": "1"}
    signed = await teacher.post(sheet_path(school).replace("?", "/ky-bang-diem?"), data=signing)
    assert signed.status_code == 303, signed.text
    teacher_name = (await staff_names(term.runtime, school))[term.teacher]
    assert f"Bảng điểm đã được ký bởi {teacher_name}" in (await teacher.get(signed.headers["location"])).text
    # the year's học bạ waits for term II: its entry is open until 31 May (Điều 18.3, 33.3c)
    hocba = await teacher.post(sheet_path(school).replace("?", "/ky-hoc-ba?"), data=signing)
    assert hocba.status_code == 409 and "học kì II còn đến 23:59 ngày 31/05/2026" in hocba.text
    async with client_of(term.runtime, "10.40.0.4") as homeroom:
        await sign_in(homeroom, school, term.homeroom)
        board = await homeroom.get(f"/truong/{school}/lop/6A1/ky-so?year=2025-2026")
        assert board.status_code == 200 and 'class="sig signed"' not in board.text
        # not the homeroom teacher's turn: said once, no button offered; pupils shown by Mã học sinh
        assert "Chưa đến lượt ký: còn thiếu chữ ký của giáo viên môn" in board.text
        assert 'name="role" value="HOMEROOM_TEACHER"' not in board.text
        async with term.runtime.engine().connect() as conn:
            [profile] = await read(conn, students, school, student_id=term.demo.rosters["6A1"][0])
        row = board.text.split("<tbody>")[1].split("</tr>")[0]
        assert profile["ministry_code"] in row and profile["student_id"] not in row
        student = term.demo.rosters["6A1"][0]
        early = await homeroom.post(
            f"/truong/{school}/lop/6A1/ky-so?year=2025-2026",
            data={"csrf": csrf(board.text), "student": student, "role": "HOMEROOM_TEACHER"},
        )
        assert early.status_code == 409 and "Chưa đến lượt ký" in early.text and "Điều 18, 24.5" in early.text


async def test_the_principal_and_the_clerk_sign_from_the_board_the_xml_then_the_pdf(
    signers: Signers, settings: Settings
) -> None:
    """Điều 18, 24.5 and Điều 13: after the subject teachers, the homeroom teacher, the principal (XML,
    then PDF) and the clerk's seal (XML, then PDF) sign from the board; the học bạ can then be issued,
    which checks every signature again."""
    demo = signers.demo
    student = demo.rosters["6A1"][0]
    for subject in demo.subject_teachers:
        await sign_as(signers, student, "SUBJECT_TEACHER", subject)
    runtime = await service_for(demo, settings, signers.people)
    await accounts(runtime, demo, [PRINCIPAL.user, CLERK.user, demo.homeroom["6A1"]])
    board = f"/truong/{demo.school}/lop/6A1/ky-so?year=2025-2026"
    steps = [
        (demo.homeroom["6A1"], "HOMEROOM_TEACHER"),
        (PRINCIPAL.user, "PRINCIPAL"),
        (PRINCIPAL.user, "PDF_PRINCIPAL"),
        (CLERK.user, "ORGANISATION"),
        (CLERK.user, "PDF_ORGANISATION"),
    ]
    for number, (username, role) in enumerate(steps):
        async with client_of(runtime, f"10.40.1.{number}") as person:
            await sign_in(person, demo.school, username)
            page = await person.get(board)
            assert f'name="role" value="{role}"' in page.text, role
            asked = {"csrf": csrf(page.text), "student": student, "role": role}
            before = await head(demo.ledger, demo.school)
            shown = await person.post(board, data=asked)  # the first press names what will be signed
            assert shown.status_code == 200 and "Xác nhận trước khi ký" in shown.text
            assert demo.names[student] in shown.text.split('class="confirm"')[1].split("</div>")[0]
            assert await head(demo.ledger, demo.school) == before  # nothing signed yet
            signed = await person.post(board, data={**asked, "csrf": csrf(shown.text), "confirm": "1"})
            assert signed.status_code == 303 and signed.headers["location"].endswith("ky=1"), signed.text
    async with client_of(runtime, "10.40.1.9") as principal:
        await sign_in(principal, demo.school, PRINCIPAL.user)
        row = (await principal.get(board)).text.split(demo.names[student])[1].split("</tr>")[0]
    assert row.count('class="sig signed"') == len(demo.subject_teachers) + 5 and "sig unsigned" not in row
    assert "organisation" not in row  # the seal on the PDF is the school's, by its name
    event = await issuing(signers, student)()
    assert event.payload["student"] == student


async def test_auditor_pages_status_verification_timeline_as_of_and_access_log(
    term: TermSchool, teacher: httpx.AsyncClient
) -> None:
    """Điều 20.3: the auditor sees the ledger's state, verifies it, reads a student's history as it
    stood on a date and what changed since, and filters the access log."""
    school, student = term.school, term.demo.rosters["6A1"][0]
    token = csrf((await teacher.get(sheet_path(school))).text)
    await teacher.post(sheet_path(school), data={"csrf": token, cell(student): "9,5"})
    async with client_of(term.runtime, "10.40.0.5") as auditor:
        await sign_in(auditor, school, AUDITOR)
        status = await auditor.get(f"/truong/{school}/kiem-toan")
        assert status.status_code == 200 and "Chưa kiểm tra lần nào." in status.text
        verified = await auditor.post(f"/truong/{school}/kiem-toan/kiem-tra", data={"csrf": csrf(status.text)})
        assert (
            verified.status_code == 200
            and "Vừa kiểm tra: Sổ cái sự kiện: nguyên vẹn, Nhật ký truy cập: nguyên vẹn." in verified.text
        )
        bare = await auditor.get(f"/truong/{school}/kiem-toan/dong-thoi-gian")
        assert "Nhập mã định danh học sinh hoặc chọn lớp." in bare.text and 'id="replay"' not in bare.text
        timeline = await auditor.get(f"/truong/{school}/kiem-toan/dong-thoi-gian?hoc-sinh={student}")
        assert timeline.status_code == 200 and labelled(timeline.text)
        assert "Xếp lớp" in timeline.text and "Ghi điểm" in timeline.text and "giá trị: 9,5" in timeline.text
        events = timeline.text.split('id="events"', 1)[1]
        assert "môn: Toán" in events and "TOAN" not in events and "SUBJECT_TEACHER" not in events  # names, not codes
        as_of = await auditor.get(f"/truong/{school}/kiem-toan/dong-thoi-gian?hoc-sinh={student}&ngay=2025-09-30")
        assert "Dữ liệu tại cuối ngày 30/09/2025" in as_of.text and "Thay đổi từ sau ngày 30/09/2025" in as_of.text
        assert "Ghi điểm" in as_of.text and "Xếp lớp" not in as_of.text  # only what came after
        assert 'class="changed"' in as_of.text
        log = await auditor.get(f"/truong/{school}/kiem-toan/truy-cap?tai-khoan={term.teacher}")
        assert log.status_code == 200 and "Lưu sổ điểm" in log.text and labelled(log.text)
        assert AUDITOR not in log.text.split("<tbody>")[1]  # the filter shows only the teacher's entries
        assert ">Cho phép (200)<" in log.text and ">Từ chối theo quy định</option>" in log.text  # outcomes in words
        assert (await auditor.get(f"/truong/{school}/kiem-toan/dong-thoi-gian?hoc-sinh=123")).status_code == 422
        english = await auditor.get(f"/truong/{school}/kiem-toan?lang=en")
        assert '<html lang="en">' in english.text and "Ledger status" in english.text


async def test_class_charts_are_svg_with_the_numbers_beside_them(
    demo: DemoSchool, runtime: Runtime, credentials: dict[str, dict[str, str]]
) -> None:
    """TT22 Đ.9: the year averages of each scored subject fall in the bands of its levels; the
    learning and conduct levels of the class add up to its students."""
    async with client_of(runtime, "10.40.0.6") as principal:
        await sign_in(principal, demo.school, PRINCIPAL.user, FIXTURE_PASSWORD)
        page = await principal.get(f"/truong/{demo.school}/lop/6A1/bieu-do?year=2025-2026")
    assert page.status_code == 200, page.text
    assert page.text.count('role="img"') == 2 and '<title id="diem-title">' in page.text
    assert "http://" not in page.text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    tables = re.findall(r"<tbody>(.*?)</tbody>", page.text, re.S)
    grade_rows = re.findall(r"<tr><th scope=\"row\">([^<]+)</th>((?:<td>\d+</td>)+)</tr>", tables[0])
    level_rows = re.findall(r"<tr><th scope=\"row\">([^<]+)</th>((?:<td>\d+</td>)+)</tr>", tables[1])
    students = len(demo.rosters["6A1"])
    assert grade_rows and all(sum(map(int, re.findall(r"\d+", counts))) == students for _, counts in grade_rows)
    assert [name for name, _ in level_rows] == ["Học tập", "Rèn luyện"]
    assert all(sum(map(int, re.findall(r"\d+", counts))) == students for _, counts in level_rows)
    assert [band_of(x) for x in (0, 3.4, 3.5, 4.9, 5, 6.4, 6.5, 7.9, 8, 10)] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert len(SCORE_BANDS) == 5
