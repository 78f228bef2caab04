"""Passed dates stay passed (the regulation's Điều 25.1, 25.4, 33.3c, 36.2; DOMAIN §4). Each moment of
the calendar, against an injected clock: before it passes the principal may move it, once it has
passed nobody can, and a coming moment never moves into the past. After the final date only a
reopening that names the Department of Education's decision lets a correction through, as its own
event, and only until its end."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from audit.trail import access_index
from ledger.app.demo import PRINCIPAL, VICE_PRINCIPAL, DemoSchool, build_demo_school
from ledger.app.runtime import Runtime
from ledger.app.verification import verify_installation
from ledger.base.clock import VN_TZ
from ledger.base.settings import Settings
from ledger.log.projection import read
from ledger.school.accounts.commands import create_account
from ledger.school.assessments.tables import assessments
from ledger.school.calendar.commands import reopen_year, set_calendar
from ledger.school.calendar.model import Calendar, Decision, Window, default_calendar
from ledger.school.calendar.moves import moments
from ledger.school.corrections.commands import decide_request, file_request
from ledger.school.corrections.model import assessment_target
from ledger.school.readmodels import school_ledger
from ledger.school.rules.policy import AccountKind
from tests.support.helpers import SETUP, database_url_of, head, refused

YEAR = "2025-2026"
ORDER = "Quyết định số 21/QĐ-THCS của Hiệu trưởng"
DECISION = Decision(
    "Quyết định số 812/QĐ-SGDĐT", "Sở Giáo dục và Đào tạo Phú Yên", datetime(2026, 11, 20).date(), "ab" * 32
)
PASSWORD = "mat-khau-lich-nam-hoc"


def shifted(calendar: Calendar, field: str, by: timedelta) -> Calendar:
    """The calendar with one moment moved."""
    if field in ("close", "final"):
        return replace(calendar, **{field: getattr(calendar, field) + by})
    _, term, edge = field.split(".")
    window = calendar.entry[int(term)]
    moved = Window(window.opens + by, window.closes) if edge == "opens" else Window(window.opens, window.closes + by)
    return replace(calendar, entry={**calendar.entry, int(term): moved})


MOMENTS = [field for field, *_ in moments(default_calendar(YEAR, ORDER))]
ARTICLES = {field: rule for field, _, _, rule, _ in moments(default_calendar(YEAR, ORDER))}


@pytest.mark.parametrize("field", MOMENTS)
async def test_a_moment_moves_before_it_passes_and_never_after_dieu_25_33_3c(
    app_engine: AsyncEngine, school: str, field: str
) -> None:
    demo = await build_demo_school(app_engine, school, students_per_class=1, terms=())
    usual = default_calendar(YEAR, ORDER)
    moment = {f: m for f, *_, m in moments(usual)}[field]
    by = timedelta(days=1) if field == "close" else timedelta(days=-1)  # keeps the calendar consistent
    if moment - timedelta(days=2) > demo.clock.now():
        demo.clock.set(moment - timedelta(days=2))
        assert len(await set_calendar(demo.ledger, school, PRINCIPAL, shifted(usual, field, by))) == 1
        assert len(await set_calendar(demo.ledger, school, PRINCIPAL, usual)) == 1  # and back
    demo.clock.set(moment + timedelta(microseconds=1))
    for change in (by, 2 * by):
        error = await refused(
            demo.ledger,
            school,
            "calendar.passed",
            lambda change=change: set_calendar(demo.ledger, school, PRINCIPAL, shifted(usual, field, change)),  # type: ignore[misc]
        )
        assert error.field == field and error.rule == ARTICLES[field]
        assert "đã qua" in error.vi and "Sở Giáo dục và Đào tạo" in error.vi


@pytest.mark.parametrize(
    ("now", "field", "to"),
    [
        (datetime(2026, 1, 10, tzinfo=VN_TZ), "entry.1.closes", datetime(2026, 1, 5, 23, 59, tzinfo=VN_TZ)),
        (datetime(2026, 8, 1, tzinfo=VN_TZ), "final", datetime(2026, 7, 15, 23, 59, tzinfo=VN_TZ)),
    ],
)
async def test_a_coming_moment_never_moves_into_the_past_dieu_36_2(
    app_engine: AsyncEngine, school: str, now: datetime, field: str, to: datetime
) -> None:
    """Closing a period early is a lock on the principal's order, not a date rewritten after the fact."""
    demo = await build_demo_school(app_engine, school, students_per_class=1, terms=())
    usual = default_calendar(YEAR, ORDER)
    demo.clock.set(now)
    moment = {f: m for f, *_, m in moments(usual)}[field]
    error = await refused(
        demo.ledger,
        school,
        "calendar.into_past",
        lambda: set_calendar(demo.ledger, school, PRINCIPAL, shifted(usual, field, to - moment)),
    )
    assert "khóa nhập liệu theo quyết định của Hiệu trưởng" in error.vi and "Điều 36.2" in str(error.rule)


async def math_final(demo: DemoSchool, student: str) -> str:
    async with demo.ledger.engine.connect() as conn:
        [row] = await read(
            conn, assessments, demo.school, year=YEAR, student_id=student, subject="TOAN", term=2, kind="final"
        )
    return str(row["value"])


async def test_after_the_final_date_the_calendar_stays_and_only_a_reopening_by_the_so_lets_a_correction_through(
    app_engine: AsyncEngine, settings: Settings, school: str
) -> None:
    """The attack: three months after the final date the principal's account moves the final date to
    31 December, then files and approves a correction of a Toán final score. Refused over HTTP, nothing
    appended, the refusal in the access trail (Điều 25.4). The lawful way, a reopening naming the
    Department of Education's decision, is an event of its own and ends when it says."""
    demo = await build_demo_school(app_engine, school, students_per_class=2, summer=False)
    student = demo.rosters["6A1"][0]
    before = await math_final(demo, student)
    runtime = Runtime(settings, database_url_of(settings), demo.clock)
    demo.clock.set(datetime(2026, 11, 30, 9, tzinfo=VN_TZ))
    for username in (PRINCIPAL.user, VICE_PRINCIPAL.user, demo.teacher("TOAN").user):
        await create_account(
            school_ledger(runtime.engine(), clock=runtime.clock),
            school,
            username,
            AccountKind.STAFF,
            password=PASSWORD,
            actor=SETUP,
        )
    transport = httpx.ASGITransport(app=create_app(runtime, scheduler=False), client=("10.41.0.1", 42000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hocba.test") as client:

        async def bearer(username: str) -> dict[str, str]:
            answer = await client.post(
                "/api/v1/auth/token", json={"school": school, "username": username, "password": PASSWORD}
            )
            return {"Authorization": f"Bearer {answer.json()['access_token']}"}

        principal = await bearer(PRINCIPAL.user)
        start = await head(demo.ledger, school)
        moved = await client.post(
            f"/api/v1/schools/{school}/calendar/{YEAR}",
            json={"order": ORDER, "final": "2026-12-31T23:59:59+07:00"},
            headers=principal,
        )
        assert moved.status_code == 409, moved.text
        assert moved.json()["code"] == "calendar.passed" and moved.json()["rule"] == "Điều 25.4"
        target = assessment_target(YEAR, 2, "6A1", "TOAN", student, "final", 0)
        filed = await client.post(
            f"/api/v1/schools/{school}/classes/6A1/sheets/TOAN/2/corrections?year={YEAR}",
            json={"student": student, "kind": "final", "slot": 0, "new_value": "10", "reason": "Chấm lại"},
            headers=await bearer(demo.teacher("TOAN").user),
        )
        assert filed.status_code == 409 and filed.json()["code"] == "deadline.final", filed.text
        assert await head(demo.ledger, school) == start
        async with runtime.engine().connect() as conn:
            trail = await read(conn, access_index, school, order_by=["entry"])
        refusals = [(e["action"], e["outcome"], e["reason"]) for e in trail if e["outcome"] == "refused"]
        assert ("calendar_set", "refused", "calendar.passed") in refusals
        assert ("correction_file_sheet", "refused", "deadline.final") in refusals

        # The lawful way: the Sở decides, the principal records the decision, as its own event.
        scan = b"%PDF-1.7 quyet dinh 812/QD-SGDDT"
        reopening = {
            "until": "2026-12-07T23:59:59+07:00",
            "document": {
                "number": "Quyết định số 812/QĐ-SGDĐT",
                "issued_by": "Sở Giáo dục và Đào tạo Phú Yên",
                "issued_on": "2026-11-28",
                "sha256": hashlib.sha256(scan).hexdigest(),
            },
        }
        too_long = await client.post(
            f"/api/v1/schools/{school}/calendar/{YEAR}/reopenings",
            json={**reopening, "until": "2027-01-31T23:59:59+07:00"},
            headers=principal,
        )
        assert too_long.status_code == 422 and too_long.json()["code"] == "reopening.until"
        opened = await client.post(
            f"/api/v1/schools/{school}/calendar/{YEAR}/reopenings", json=reopening, headers=principal
        )
        assert opened.status_code == 200, opened.text
        again = await client.post(
            f"/api/v1/schools/{school}/calendar/{YEAR}/reopenings", json=reopening, headers=principal
        )
        assert again.status_code == 409 and again.json()["code"] == "reopening.duplicate"
        shown = (await client.get(f"/api/v1/schools/{school}/calendar/{YEAR}", headers=principal)).json()
        assert shown["calendar"]["final"] == "2026-08-30T23:59:59.999999+07:00"  # the date itself never moved
        assert [r["document"]["number"] for r in shown["reopenings"]] == ["Quyết định số 812/QĐ-SGDĐT"]
        signed_in = await client.post(
            "/dang-nhap", data={"school": school, "username": PRINCIPAL.user, "password": PASSWORD}
        )
        assert signed_in.status_code == 303
        page = await client.get(f"/truong/{school}/lich?year={YEAR}")
        assert "Quyết định số 812/QĐ-SGDĐT" in page.text and "28/11/2026" in page.text
        assert "07/12/2026 23:59" in page.text and "Mở lại sau hạn theo quyết định của Sở" in page.text
        # Auditors see it counted: on the timeline, and in the verify report.
        timeline = await client.get(f"/truong/{school}/kiem-toan/dong-thoi-gian")
        assert "Mở lại sau hạn theo quyết định của Sở (Điều 25.4): 1" in timeline.text
        assert "Quyết định số 812/QĐ-SGDĐT" in timeline.text
        report, _ = await verify_installation(runtime, [school], ask_witnesses=False)
        assert [r.noted for r in report.of("events")] == [{"reopenings": 1}]
        verified = await client.get(f"/api/v1/schools/{school}/ledger/verify", headers=principal)
        assert [s["noted"] for s in verified.json()["schools"] if s["log"] == "events"] == [{"reopenings": 1}]

    # Within the reopening a correction goes through request and approval (Điều 17.3) ...
    request = await file_request(
        demo.ledger, school, demo.teacher("TOAN"), target, old_value=before, new_value="8", reason="Sở cho phép sửa"
    )
    await decide_request(demo.ledger, school, VICE_PRINCIPAL, request.payload["request"], approve=True, reason="Đúng")
    assert await math_final(demo, student) == "8.0"
    # ... and after it ends, nothing changes again.
    demo.clock.set(datetime(2026, 12, 8, tzinfo=VN_TZ))
    await refused(
        demo.ledger,
        school,
        "deadline.final",
        lambda: file_request(
            demo.ledger, school, demo.teacher("TOAN"), target, old_value="8.0", new_value="10", reason="Sửa tiếp"
        ),
    )


async def test_a_reopening_names_a_decision_and_comes_only_after_the_close(
    app_engine: AsyncEngine, school: str
) -> None:
    demo = await build_demo_school(app_engine, school, students_per_class=1, terms=())
    until = datetime(2026, 1, 5, tzinfo=VN_TZ)
    await refused(
        demo.ledger,
        school,
        "reopening.not_needed",
        lambda: reopen_year(demo.ledger, school, PRINCIPAL, YEAR, until=until, decision=DECISION),
    )
    demo.clock.set(datetime(2026, 6, 2, tzinfo=VN_TZ))
    await refused(
        demo.ledger,
        school,
        "role.not_held",
        lambda: reopen_year(
            demo.ledger, school, VICE_PRINCIPAL, YEAR, until=datetime(2026, 6, 9, tzinfo=VN_TZ), decision=DECISION
        ),
    )
    with pytest.raises(Exception, match="64"):
        Decision.parse("Quyết định số 1", "Sở GD&ĐT", "28/11/2026", "not-a-hash")
