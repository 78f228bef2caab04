"""The verification portal as a page (the regulation's Điều 2.14, 31): in Vietnamese, with an English
toggle, every input labelled; an issued học bạ uploaded reads as valid and issued, with each check
marked; a changed one reads as not valid; the five-detail lookup; and every page view, like every
request, is recorded in the access trail."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select

from api.app import create_app
from audit.trail import access_index
from ledger.app.runtime import Runtime
from ledger.format.envelope import SERVICE_CHAIN
from ledger.log.projection import read
from ledger.school.years.tables import students
from tests.support.signers import Signers, signed_and_issued
from tests.support.web import labelled


@pytest.fixture
async def browser(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """A visitor from an address of this module's own (the portal limits requests per address)."""
    transport = httpx.ASGITransport(app=create_app(runtime, scheduler=False), client=("10.30.0.1", 41000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hocba.test") as client:
        yield client


async def views(runtime: Runtime, action: str) -> int:
    t = access_index
    query = select(func.count()).where(t.c.school_id == SERVICE_CHAIN, t.c.action == action, t.c.seq_to.is_(None))
    async with runtime.engine().connect() as conn:
        return int(await conn.scalar(query) or 0)


async def test_the_portal_page_in_vietnamese_and_english_with_labels(browser: httpx.AsyncClient) -> None:
    page = await browser.get("/cong-xac-minh")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="vi">' in page.text and "Kiểm tra một tệp học bạ" in page.text and labelled(page.text)
    english = await browser.get("/cong-xac-minh?lang=en")
    assert '<html lang="en">' in english.text and "Check a học bạ file" in english.text and labelled(english.text)
    assert "hocba_lang=en" in english.headers["set-cookie"]
    style = await browser.get("/static/hocba.css")
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    assert "http://" not in page.text and "https://" not in page.text  # every asset from this service


async def test_uploading_an_issued_hoc_ba_shows_each_check_and_a_changed_one_is_rejected_dieu_31(
    signers: Signers, browser: httpx.AsyncClient, runtime: Runtime
) -> None:
    demo = signers.demo
    student = demo.rosters["9A1"][1]
    done = await signed_and_issued(signers, student)
    row, xml = done.row, done.xml
    before = await views(runtime, "page_portal_verify")

    good = await browser.post("/cong-xac-minh", files={"file": ("hocba.xml", xml, "application/xml")})
    assert good.status_code == 200, good.text
    assert "Hợp lệ: các chữ ký số đều đúng" in good.text
    assert "Trường THCS Khánh Phú đã ban hành đúng tệp này" in good.text  # the school by name, not its code
    assert f"Học bạ năm học {demo.year} của em {demo.names[student]}, lớp 9A1." in good.text
    assert "Biên nhận sổ cái khớp" in good.text
    assert "Sổ cái hiện tại của trường vẫn chứa biên nhận này" in good.text  # and no warning under it
    assert "Cảnh báo" not in good.text
    assert "✓ đạt" in good.text and "✗ không đạt" not in good.text
    assert "Hiệu trưởng" in good.text and "Dấu của nhà trường" in good.text
    assert "Hiệu trưởng: Đoàn Thị Thủy" in good.text and "ht.doanthuy" not in good.text  # signers by name
    assert "Giáo viên bộ môn (Toán): " in good.text  # and the subject each teacher signed
    assert "Thời điểm ký tin cậy: 12/08/2026" in good.text  # each signature's embedded timestamp (XAdES-T)

    changed = xml.replace(demo.names[student].encode(), "Nguyễn Văn Giả".encode(), 1)  # another name
    assert changed != xml
    bad = await browser.post("/cong-xac-minh", files={"file": ("hocba.xml", changed, "application/xml")})
    assert bad.status_code == 200
    assert "Không hợp lệ: văn bản không có giá trị pháp lý" in bad.text and "✗ không đạt" in bad.text
    # The changed part is named in words; the signature library's English stays off the Vietnamese page.
    assert "Nội dung phần thông tin học sinh đã bị thay đổi sau khi ký" in bad.text
    assert "Digest mismatch" not in bad.text and "reference" not in bad.text
    assert "Không tìm thấy tệp này trong các học bạ đã ban hành." in bad.text
    none = await browser.post("/cong-xac-minh", files={"file": ("empty.xml", b"", "application/xml")})
    assert none.status_code == 422 and "Hãy chọn một tệp XML hoặc PDF" in none.text
    assert await views(runtime, "page_portal_verify") == before + 3  # every page view is in the trail

    code = runtime.verification().code(demo.school, row["hocba_id"])
    details = {
        "school": demo.school,
        "hocba_id": row["hocba_id"],
        "full_name": demo.names[student].upper(),
        "birth_date": "",
        "student_id": student,
        "code": code,
    }
    async with demo.ledger.engine.connect() as conn:
        [person] = await read(conn, students, demo.school, student_id=student)
    details["birth_date"] = person["date_of_birth"].isoformat()
    found = await browser.post("/cong-xac-minh/tra-cuu?lang=en", data=details)
    assert found.status_code == 200 and "An issued học bạ was found." in found.text
    wrong = await browser.post("/cong-xac-minh/tra-cuu", data={**details, "code": "SAI-MA"})
    # the language chosen is remembered
    assert wrong.status_code == 404 and "No issued học bạ matches all five details." in wrong.text


async def test_the_portal_shows_who_signed_in_a_departed_teacher_s_place_dieu_18_5_18_7(
    signers: Signers, browser: httpx.AsyncClient
) -> None:
    from ledger.app.demo import PRINCIPAL, STAFF_NAMES
    from tests.school.test_substitute_signing import DECISION, leave, name_of, sign_in_place

    demo = signers.demo
    student = demo.rosters["8A1"][1]
    toan = demo.subject_teachers["TOAN"]
    await leave(signers, toan, "8A1", "SUBJECT_TEACHER", "TOAN")
    await sign_in_place(signers, student, "SUBJECT_TEACHER", "TOAN", PRINCIPAL, toan)
    done = await signed_and_issued(signers, student)
    page = await browser.post("/cong-xac-minh", files={"file": ("hocba.xml", done.xml, "application/xml")})
    assert page.status_code == 200 and "Hợp lệ: các chữ ký số đều đúng" in page.text
    said = f"Ký thay: {STAFF_NAMES[PRINCIPAL.user]} thay mặt {await name_of(signers, toan)}, theo {DECISION}"
    assert said in page.text
