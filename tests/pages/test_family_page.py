"""A family's page (Điều 31: families read the issued học bạ; Điều 20.3: every view is recorded): a
guardian sees the child's results with decimal commas, downloads the exact files issued, and sees who
viewed the record by name; another child's page and files are refused, and the refusal is recorded."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from api.app import create_app
from api.pages.toolkit import staff_names
from audit.trail import query_access
from ledger.app.demo import PRINCIPAL
from ledger.app.runtime import Runtime
from ledger.school.accounts.commands import create_account
from ledger.school.readmodels import school_ledger
from ledger.school.rules.policy import AccountKind
from tests.support.helpers import SETUP
from tests.support.signers import YEAR, Signers, signed_and_issued
from tests.support.web import PASSWORD, sign_in

pytestmark = pytest.mark.slow
GUARDIAN = "phuhuynh.trang"


@pytest.fixture
async def client_at(runtime: Runtime) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    app = create_app(runtime, scheduler=False)
    clients = {
        who: httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 43000)), base_url="http://t")
        for who, address in (("leader", "10.50.0.1"), ("family", "10.50.0.2"))
    }
    yield clients
    for client in clients.values():
        await client.aclose()


async def test_a_guardian_reads_the_results_downloads_the_hoc_ba_and_sees_who_viewed_it_dieu_31(
    signers: Signers, runtime: Runtime, client_at: dict[str, httpx.AsyncClient]
) -> None:
    demo = signers.demo
    student, other = demo.rosters["9A1"][1], demo.rosters["9A1"][2]
    done = await signed_and_issued(signers, student)
    ledger = school_ledger(runtime.engine(), clock=runtime.clock)
    for username, kind, child in ((PRINCIPAL.user, AccountKind.STAFF, None), (GUARDIAN, AccountKind.GUARDIAN, student)):
        await create_account(ledger, demo.school, username, kind, student_id=child, password=PASSWORD, actor=SETUP)
    page = f"/truong/{demo.school}/hoc-sinh/{student}"

    leader, family = client_at["leader"], client_at["family"]
    await sign_in(leader, demo.school, PRINCIPAL.user)
    assert (await leader.get(f"{page}?year={YEAR}")).status_code == 200  # the principal looks first

    await sign_in(family, demo.school, GUARDIAN)
    home = await family.get(f"/truong/{demo.school}")
    assert f'href="{page}' in home.text and "Kết quả học tập và học bạ của con" in home.text
    # greeted and linked by the child's name, not the account's username; no staff heading for a family
    assert (
        f"Xin chào, cha mẹ học sinh {demo.names[student]}" in home.text and GUARDIAN not in home.text.split("<main")[1]
    )
    assert "Lãnh đạo nhà trường" not in home.text
    mine = await family.get(f"{page}?year={YEAR}")
    assert mine.status_code == 200, mine.text
    assert demo.names[student] in mine.text
    order = ["Ngữ văn", "Toán", "Ngoại ngữ 1", "Giáo dục công dân", "Lịch sử và Địa lí", "Khoa học tự nhiên"]
    places = [mine.text.index(f'<th scope="row">{name}</th>') for name in order]
    assert places == sorted(places), "subjects in the học bạ's order, not by code"
    cells = re.findall(r"<td>([^<]*)</td>", mine.text)
    assert any(re.fullmatch(r"\d{1,2},\d", c) for c in cells), cells  # 8,5, as a school writes it
    assert not any(re.fullmatch(r"\d{1,2}\.\d", c) for c in cells), cells

    english = await family.get(f"{page}?year={YEAR}&lang=en")  # the result in English words, not Vietnamese
    assert "Completed lower secondary school" in english.text and "Hoàn thành chương trình THCS" not in english.text
    await family.get(f"{page}?year={YEAR}&lang=vi")

    card = await family.get(f"{page}/phieu-bao?year={YEAR}&ky=ca-nam")
    assert card.status_code == 200 and "Phiếu báo kết quả học tập và rèn luyện" in card.text
    assert "Cha mẹ học sinh (ký, ghi rõ họ tên)" in card.text and "Toán" in card.text
    assert re.search(r"Ninh Bình, ngày \d{2} tháng \d{1,2} năm 2026", card.text)  # the place-and-date line
    assert "Nghỉ có phép" in card.text and "Nghỉ không phép" in card.text  # the year's sessions absent

    issuance = done.row["issuance_id"]
    pdf = await family.get(f"{page}/hoc-ba/{issuance}?format=pdf")
    xml = await family.get(f"{page}/hoc-ba/{issuance}?format=xml")
    assert (pdf.status_code, pdf.content, pdf.headers["content-type"]) == (200, done.pdf, "application/pdf")
    assert (xml.status_code, xml.content) == (200, done.xml)
    assert f'filename="{done.row["hocba_id"]}.pdf"' in pdf.headers["content-disposition"]

    # Who viewed the record: the principal, by name and role, not by account code.
    principal_name = (await staff_names(runtime, demo.school))[PRINCIPAL.user]
    again = await family.get(f"{page}?year={YEAR}")
    viewers = again.text.split("Ai đã xem hồ sơ của con", 1)[1]
    assert principal_name in viewers and "Hiệu trưởng" in viewers and "Trang kết quả học tập" in viewers
    assert GUARDIAN not in viewers  # the family's own visits are not listed as someone else's

    # Another child's page and files are refused, and each refusal is recorded with the student.
    refused = await family.get(f"/truong/{demo.school}/hoc-sinh/{other}?year={YEAR}")
    taken = await family.get(f"/truong/{demo.school}/hoc-sinh/{other}/hoc-ba/{issuance}?format=pdf")
    assert (refused.status_code, taken.status_code) == (403, 403)
    assert demo.names[other] not in refused.text
    async with runtime.engine().connect() as conn:
        denied = await query_access(conn, demo.school, username=GUARDIAN, outcome="denied", limit=10)
    assert {r["action"] for r in denied} >= {"page_student", "page_student_document"}
    assert all(r["students"] == [other] for r in denied)
