"""A class's year-end summary on a page (Điều 33.6, 34.4; TT22 Đ.9–14): every pupil's year results in
the học bạ's order, promotion and awards; after the close (Điều 25.2), the subject teacher enters the
re-assessment results of their own subject and the principal the conduct after summer training, each
through the same commands and refusals as the API."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from ledger.app.demo import PRINCIPAL, DemoSchool, build_demo_school
from ledger.app.runtime import Runtime
from ledger.base.clock import VN_TZ
from ledger.base.settings import Settings
from ledger.school.transcripts.views import class_summary, load_student_year
from tests.support.helpers import head
from tests.support.web import accounts, csrf, labelled, service_for, sign_in

pytestmark = pytest.mark.slow
CLASS = "7A1"


@pytest.fixture
async def before_summer(
    app_engine: AsyncEngine, school: str, settings: Settings
) -> AsyncIterator[tuple[DemoSchool, Runtime]]:
    """A school whose year is over, on 10 August: closed (31 May), summer results not yet entered."""
    demo = await build_demo_school(app_engine, school, students_per_class=6, summer=False)
    demo.clock.set(datetime(2026, 8, 10, 9, tzinfo=VN_TZ))
    runtime = await service_for(demo, settings, {})
    yield demo, runtime
    await runtime.close()


def client_of(runtime: Runtime, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(runtime, scheduler=False), client=(address, 42000))
    return httpx.AsyncClient(transport=transport, base_url="http://hocba.test")


async def test_the_year_end_summary_and_the_summer_results_on_a_page_tt22_dieu_12_14(
    before_summer: tuple[DemoSchool, Runtime],
) -> None:
    demo, runtime = before_summer
    async with demo.ledger.engine.connect() as conn:
        lists = (await class_summary(conn, demo.school, demo.year, CLASS)).lists()
    [training] = lists["summer_training"]
    retaking, promoted = lists["re_assessment"][0], lists["promoted"][0]
    async with demo.ledger.engine.connect() as conn:
        view = await load_student_year(conn, demo.school, demo.year, retaking)
    subject = sorted(view.reassessable)[0]
    teacher = demo.subject_teachers[subject]
    await accounts(runtime, demo, [PRINCIPAL.user, teacher])
    page = f"/truong/{demo.school}/lop/{CLASS}/tong-ket?year={demo.year}"

    async with client_of(runtime, "10.60.0.1") as principal, client_of(runtime, "10.60.0.2") as teaching:
        await sign_in(principal, demo.school, PRINCIPAL.user)
        await sign_in(teaching, demo.school, teacher)
        shown = await principal.get(page)
        assert shown.status_code == 200 and labelled(shown.text)
        head_row = shown.text.split("<thead>", 1)[1].split("</thead>", 1)[0]
        assert head_row.index("Ngữ văn") < head_row.index("Toán") < head_row.index("Ngoại ngữ 1")  # học bạ order
        assert subject not in head_row  # names, not codes
        cells = re.findall(r"<td>(\d{1,2}[,.]\d)", shown.text)
        assert cells and all("," in c for c in cells)  # 7,5 as a school writes it
        assert "Rèn luyện trong kì nghỉ hè" in shown.text and "Kiểm tra lại trong hè" in shown.text  # as the học bạ
        assert "<td>Được lên lớp</td>" in shown.text.split(demo.names[promoted], 1)[1].split("</tr>", 1)[0]
        # only the principal enters the conduct after summer; only the subject's teacher its re-assessment
        assert f'name="he-{training}"' in shown.text and f'name="rt-{subject}-{retaking}"' not in shown.text
        # the subject teacher reads only their subject's re-assessment, not the class's year (Điều 5.3c)
        assert (await teaching.get(page)).status_code == 403
        own = page.replace("?", f"/kiem-tra-lai/{subject}?")
        theirs = await teaching.get(own)
        assert theirs.status_code == 200 and labelled(theirs.text)
        assert f'name="rt-{subject}-{retaking}"' in theirs.text and f'name="he-{training}"' not in theirs.text
        assert demo.names[promoted] not in theirs.text  # only the pupils re-assessed in the subject

        # Điều 33.6: the school's summary lists, by name and class, who is re-assessed, trained in summer
        # or held back, and the awards; with charts of the levels per grade and for the school
        report = (await principal.get(f"/truong/{demo.school}/tong-hop?year={demo.year}&ky=ca-nam")).text
        listed = report.split('id="summary-lists"', 1)[1]
        trained = listed.split("Rèn luyện hè", 1)[1].split("</table>", 1)[0]
        assert f'<th scope="row">{demo.names[training]}</th><td>{CLASS}</td>' in trained
        assert demo.names[retaking] in listed.split("Kiểm tra lại", 1)[1].split("</table>", 1)[0]
        assert report.count('role="img"') == 2 and "Toàn trường" in report.split('id="summary-charts"', 1)[1]

        # TT22 Đ.12–14: the principal records the conduct after summer training, once
        saved = await principal.post(
            page.replace("?", "/ren-luyen-he?"), data={"csrf": csrf(shown.text), f"he-{training}": "Đạt"}
        )
        assert saved.status_code == 303 and saved.headers["location"].endswith("luu=1")
        after = await principal.get(saved.headers["location"])
        assert "Đã lưu 1 kết quả vào sổ cái." in after.text and f'name="he-{training}"' not in after.text
        async with demo.ledger.engine.connect() as conn:
            settled = await load_student_year(conn, demo.school, demo.year, training)
        assert settled.outcome.conduct["after_summer"] is not None

        # the subject teacher records the re-assessment as typed (6,5); with a pupil not to be re-assessed
        # the whole form is refused (after the close only summer pupils change, Điều 25.1, 25.2), nothing
        # recorded
        before = await head(demo.ledger, demo.school)
        wrong = await teaching.post(
            page.replace("?", f"/kiem-tra-lai/{subject}?"),
            data={"csrf": csrf(theirs.text), f"rt-{subject}-{promoted}": "7", f"rt-{subject}-{retaking}": "6,5"},
        )
        alert = wrong.text.split('role="alert">', 1)[-1].split("</p>", 1)[0]
        assert wrong.status_code == 409 and "chỉ học sinh kiểm tra lại hoặc rèn luyện trong hè" in alert, alert
        assert "Điều 25.1, 25.2" in alert and 'value="6,5"' in wrong.text  # what was typed stays
        assert await head(demo.ledger, demo.school) == before
        typed = await teaching.post(
            page.replace("?", f"/kiem-tra-lai/{subject}?"),
            data={"csrf": csrf(theirs.text), f"rt-{subject}-{retaking}": "6,5"},
        )
        assert typed.status_code == 303 and typed.headers["location"].endswith("luu=1")
        async with demo.ledger.engine.connect() as conn:
            retaken = await load_student_year(conn, demo.school, demo.year, retaking)
        assert str(next(o.reassessed for o in retaken.outcome.subjects if o.code == subject)) == "6.5"
        done = (await teaching.get(typed.headers["location"])).text
        line = done.split(demo.names[retaking], 1)[1].split("</li>", 1)[0]
        assert "<strong>6,5</strong>" in line and "Đã lưu 1 kết quả vào sổ cái." in done, line

        # another subject's re-assessment is not this teacher's: refused by the guard
        other = next(code for code in demo.subject_teachers if demo.subject_teachers[code] != teacher)
        refused = await teaching.post(page.replace("?", f"/kiem-tra-lai/{other}?"), data={"csrf": csrf(done)})
        assert refused.status_code == 403
