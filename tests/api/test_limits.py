"""Limits that hold under concurrency (the regulation's Điều 20.3: every access is recorded, and the
sign-in limit protects accounts): many simultaneous wrong passwords, or portal requests, from one
attacker pass the limit no more often than one at a time would. Every refusal is in the access trail."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from audit.trail import access_index
from ledger.app.demo import DemoSchool
from ledger.app.limits import reserve
from ledger.app.logins import LOGIN_ATTEMPTS, LOGIN_WINDOW, login_limits
from ledger.app.runtime import Runtime
from ledger.format.envelope import SERVICE_CHAIN
from tests.support.helpers import PASSWORD, SETUP

V1 = "/api/v1"
ADDRESSES = itertools.count(1)


def client_from(app: Any, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://hocba.test")


async def reasons(engine: AsyncEngine, school: str, action: str, **where: str) -> Counter[tuple[str, str | None]]:
    t = access_index
    query = select(t.c.outcome, t.c.reason).where(t.c.school_id == school, t.c.action == action, t.c.seq_to.is_(None))
    for column, value in where.items():
        query = query.where(t.c[column] == value)
    async with engine.connect() as conn:
        return Counter((outcome, reason) for outcome, reason in (await conn.execute(query)).all())


async def guardian(demo: DemoSchool) -> str:
    """A guardian's account of its own on the fixture school (the limit counts per account)."""
    from ledger.school.accounts.commands import create_account
    from ledger.school.rules.policy import AccountKind

    number = next(ADDRESSES)
    username = f"phuhuynh.gioihan{number:02d}"
    student = demo.rosters["8A1"][number % len(demo.rosters["8A1"])]
    await create_account(
        demo.ledger, demo.school, username, AccountKind.GUARDIAN, student_id=student, password=PASSWORD, actor=SETUP
    )
    return username


async def test_simultaneous_wrong_passwords_pass_the_sign_in_limit_only_five_times_dieu_20(
    app: Any, runtime: Runtime, demo: DemoSchool, app_engine: AsyncEngine
) -> None:
    """50 wrong passwords at once for one account: 5 are checked (401), 45 refused unchecked (429),
    and then the right password is refused too for the window."""
    username = await guardian(demo)
    wrong = {"school": demo.school, "username": username, "password": "khong-phai-mat-khau"}
    async with client_from(app, f"10.31.0.{next(ADDRESSES)}") as client:
        answers = await asyncio.gather(*(client.post(f"{V1}/auth/token", json=wrong) for _ in range(50)))
        statuses = Counter(a.status_code for a in answers)
        assert statuses == {401: LOGIN_ATTEMPTS, 429: 50 - LOGIN_ATTEMPTS}
        limited = [a for a in answers if a.status_code == 429]
        assert all(int(a.headers["retry-after"]) > 0 for a in limited)
        assert all(a.headers["content-type"].startswith("application/problem+json") for a in limited)
        right = await client.post(f"{V1}/auth/token", json={**wrong, "password": PASSWORD})
        assert right.status_code == 429 and int(right.headers["retry-after"]) > 0
    trail = await reasons(app_engine, demo.school, "auth_token", username=username)
    assert trail == {("denied", "login.password"): 5, ("denied", "login.rate_limited"): 46}


async def test_a_successful_sign_in_does_not_count_towards_the_limit(
    app: Any, runtime: Runtime, demo: DemoSchool
) -> None:
    username = await guardian(demo)
    right = {"school": demo.school, "username": username, "password": PASSWORD}
    async with client_from(app, f"10.31.0.{next(ADDRESSES)}") as client:
        answers = [await client.post(f"{V1}/auth/token", json=right) for _ in range(12)]
        assert [a.status_code for a in answers] == [200] * 12  # each gives its attempt back
        for _ in range(LOGIN_ATTEMPTS):
            wrong = await client.post(f"{V1}/auth/token", json={**right, "password": "sai"})
            assert wrong.status_code == 401
        assert (await client.post(f"{V1}/auth/token", json=right)).status_code == 429


async def test_simultaneous_portal_requests_pass_the_limit_only_thirty_times_dieu_20(
    app: Any, app_engine: AsyncEngine
) -> None:
    """50 portal look-ups at once from one address: 30 are answered, 20 refused with 429, each one
    recorded."""
    attempt = {
        "school": "kp-none",
        "hocba_id": "x",
        "full_name": "A",
        "birth_date": "2013-01-01",
        "student_id": "037313000001",
        "code": "AAAAA-BBBBB",
    }
    address = f"10.32.0.{next(ADDRESSES)}"
    async with client_from(app, address) as client:
        answers = await asyncio.gather(*(client.post(f"{V1}/portal/lookup", json=attempt) for _ in range(50)))
    statuses = Counter(a.status_code for a in answers)
    assert statuses[429] == 20 and sum(statuses.values()) - statuses[429] == 30, statuses
    assert all(int(a.headers["retry-after"]) > 0 for a in answers if a.status_code == 429)
    trail = await reasons(app_engine, SERVICE_CHAIN, "portal_lookup", client=address)
    assert trail[("denied", "portal.rate_limited")] == 20
    assert sum(trail.values()) == 50


async def test_attempts_on_both_sides_of_a_window_s_end_count_together(app_engine: AsyncEngine) -> None:
    """Three wrong guesses just before a window ends and three just after are six within 15 minutes:
    the sixth is refused; a window later, the guesses have aged out."""
    school = f"t-gioihan-{next(ADDRESSES)}"
    limits = login_limits("gv.ranhgioi", None)

    async def attempt(at: datetime) -> bool:
        return (await reserve(app_engine, school, limits, LOGIN_WINDOW, at)).over is None

    end = datetime(2026, 8, 20, 3, 15, tzinfo=UTC)
    assert [await attempt(end - timedelta(seconds=5)) for _ in range(3)] == [True] * 3
    assert [await attempt(end + timedelta(seconds=5)) for _ in range(3)] == [True, True, False]
    assert await attempt(end + LOGIN_WINDOW * 2 + timedelta(seconds=5))
