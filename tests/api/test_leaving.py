"""Leaving and borrowed authority, replayed through the API as an insider would try them (the
regulation's Điều 5.3c, 18.5, 18.7, 24.3, 27): a signed-out token, a disabled account, a second account
bound to the principal's staff id, an admin granting itself a role, and a re-import that should end an
assignment. Each attempt is refused with a problem naming it, changes nothing, and the refusal is in
the access trail."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from ledger.app.demo import ADMIN, PRINCIPAL
from ledger.base.settings import Settings
from ledger.school.accounts.tables import accounts
from signing.x509.pki import Pki
from tests.support.helpers import head, hocba
from tests.support.helpers import signed_in as signed_in_on_the_server
from tests.support.web import PASSWORD, TermSchool, bearer, school_in_term, trail

V1 = "/api/v1"


@pytest.fixture
async def term(app_engine: AsyncEngine, settings: Settings, pki: Pki) -> TermSchool:
    return await school_in_term(app_engine, settings, pki, students=1)


@pytest.fixture
async def client(term: TermSchool) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(term.runtime, scheduler=False), client=("10.42.0.1", 42000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hocba.test") as http:
        yield http


async def test_a_signed_out_token_stops_working_at_once(term: TermSchool, client: httpx.AsyncClient) -> None:
    school = term.school
    token = await bearer(client, school, term.teacher)
    assert (await client.get(f"{V1}/me", headers=token)).status_code == 200
    out = await client.post(f"{V1}/auth/sign-out", headers=token)
    assert out.status_code == 200 and out.json() == {"signed_out": True}
    again = await client.get(f"{V1}/me", headers=token)
    assert again.status_code == 401 and again.headers["content-type"].startswith("application/problem+json")
    assert ("me", "denied", "token.revoked") in await trail(term)
    # The page's session ends the same way: its cookie, kept by someone, no longer opens a page.
    signed_in = await client.post("/dang-nhap", data={"school": school, "username": term.teacher, "password": PASSWORD})
    cookie = signed_in.cookies["hocba_session"]
    home = await client.get(f"/truong/{school}")
    csrf = home.text.split('name="csrf" value="')[1].split('"')[0]
    assert (await client.post("/dang-xuat", data={"csrf": csrf})).status_code == 303
    client.cookies.clear()
    client.cookies.set("hocba_session", cookie)
    kept = await client.get(f"/truong/{school}")
    assert kept.status_code in (303, 401) and "/dang-nhap" in kept.headers.get("location", "/dang-nhap")


async def test_a_disabled_account_is_refused_at_once_dieu_27(term: TermSchool, client: httpx.AsyncClient) -> None:
    school = term.school
    teacher = await bearer(client, school, term.teacher)
    admin = await bearer(client, school, ADMIN.user)
    assert (await client.get(f"{V1}/me", headers=teacher)).status_code == 200
    done = await client.post(f"{V1}/schools/{school}/accounts/{term.teacher}/disable", headers=admin)
    assert done.status_code == 200 and done.json() == {"username": term.teacher, "disabled": True}
    assert (await client.get(f"{V1}/me", headers=teacher)).status_code == 401  # the live token, at once
    again = await client.post(
        f"{V1}/auth/token", json={"school": school, "username": term.teacher, "password": PASSWORD}
    )
    assert again.status_code == 401
    unknown = await client.post(f"{V1}/schools/{school}/accounts/khong-co-ai/disable", headers=admin)
    assert unknown.status_code == 404 and unknown.json()["code"] == "account.unknown"
    assert ("me", "denied", "account.unavailable") in await trail(term)


async def test_no_second_account_acts_as_the_principal_dieu_5_3c_24_3(
    term: TermSchool, client: httpx.AsyncClient
) -> None:
    """The admin creates an account bound to the principal's staff id: refused, an account in a leader's
    name is the principal's to open (Điều 5.3c); and even the principal may not open a second one while
    the first is active (one person, one active account)."""
    school = term.school
    admin = await bearer(client, school, ADMIN.user)
    shadow = {"username": "ht.bong", "kind": "STAFF", "staff_id": PRINCIPAL.user, "password": "mat-khau-bong-dem"}
    refused = await client.post(f"{V1}/schools/{school}/accounts", json=shadow, headers=admin)
    assert refused.status_code == 403 and refused.json()["code"] == "account.not_yours", refused.text
    second = await client.post(
        f"{V1}/schools/{school}/accounts", json=shadow, headers=await bearer(client, school, PRINCIPAL.user)
    )
    assert second.status_code == 409, second.text
    body = second.json()
    assert body["code"] == "account.person_taken" and PRINCIPAL.user in body["detail"]
    async with term.runtime.engine().connect() as conn:
        names = (await conn.execute(select(accounts.c.username).where(accounts.c.school_id == school))).scalars()
        assert "ht.bong" not in set(names)
    login = await client.post(
        f"{V1}/auth/token", json={"school": school, "username": "ht.bong", "password": "mat-khau-bong-dem"}
    )
    assert login.status_code == 401
    assert ("account_create", "denied", "account.not_yours") in await trail(term)
    assert ("account_create", "refused", "account.person_taken") in await trail(term)


async def test_no_one_grants_a_role_to_themselves(term: TermSchool, client: httpx.AsyncClient) -> None:
    """The admin imports an assignment making itself principal and a Toán teacher: refused, nothing
    appended, and its roles are what they were."""
    school = term.school
    admin = await bearer(client, school, ADMIN.user)
    before = await head(term.demo.ledger, school)
    rows: list[dict[str, Any]] = [
        {"staff": ADMIN.user, "role": "PRINCIPAL", "valid_from": "2025-10-01"},
        {
            "staff": ADMIN.user,
            "role": "SUBJECT_TEACHER",
            "year": "2025-2026",
            "class": "6A1",
            "subject": "TOAN",
            "term": 1,
            "valid_from": "2025-10-01",
        },
    ]
    for row in rows:
        answer = await client.post(f"{V1}/schools/{school}/imports/assignments", json={"rows": [row]}, headers=admin)
        assert answer.status_code == 403, answer.text
        assert answer.json()["code"] == "assignment.self"
    assert await head(term.demo.ledger, school) == before
    me = (await client.get(f"{V1}/me", headers=admin)).json()
    assert [g["role"] for g in me["grants"]] == ["ADMIN"]
    assert [r for r in await trail(term) if r[0] == "import_rows"] == [("import_rows", "denied", "assignment.self")] * 2


async def test_re_importing_an_assignment_with_its_end_ends_it_dieu_27(
    term: TermSchool, client: httpx.AsyncClient
) -> None:
    """The sector's export gives the same assignment with an end date: it ends; no second, open one
    begins, and the teacher no longer holds it."""
    school = term.school
    principal = await bearer(client, school, PRINCIPAL.user)
    admin = await bearer(client, school, ADMIN.user)
    teacher = await bearer(client, school, term.teacher)
    grants = (await client.get(f"{V1}/me", headers=teacher)).json()["grants"]
    assert {"role": "SUBJECT_TEACHER", "year": "2025-2026", "class_id": "6A1", "subject": "TOAN", "term": 1} in grants
    row = {
        "staff": term.teacher,
        "role": "SUBJECT_TEACHER",
        "year": "2025-2026",
        "class": "6A1",
        "subject": "TOAN",
        "term": 1,
        "valid_from": "2025-08-20",
        "valid_to": "2025-09-30",
    }
    ended = await client.post(f"{V1}/schools/{school}/imports/assignments", json={"rows": [row]}, headers=admin)
    assert ended.status_code == 200, ended.text
    async with term.runtime.engine().connect() as conn:
        types = [e.type for e in await _events_since(conn, school, ended.json())]
    assert types == ["assignment.ended"]
    grants = (await client.get(f"{V1}/me", headers=teacher)).json()["grants"]
    assert not [g for g in grants if (g["class_id"], g["subject"], g["term"]) == ("6A1", "TOAN", 1)]
    again = await client.post(f"{V1}/schools/{school}/imports/assignments", json={"rows": [row]}, headers=admin)
    assert again.status_code == 200 and again.json()["appended"] == 0  # the same export twice: nothing new
    assert (await client.get(f"/api/v1/schools/{school}/calendar/2025-2026", headers=principal)).status_code == 200


async def _events_since(conn: Any, school: str, report: dict[str, Any]) -> list[Any]:
    from ledger.log import store

    head_seq = (await store.read_head(conn, school)).seq
    return await store.select_events(conn, school, after=head_seq - int(report["appended"]), upto=head_seq, limit=100)


async def test_the_command_line_disables_an_account_and_the_trail_keeps_it(
    term: TermSchool, client: httpx.AsyncClient, env: dict[str, str]
) -> None:
    school = term.school
    token = await bearer(client, school, term.homeroom)
    env = await signed_in_on_the_server(term.runtime.engine(), env, school, ADMIN.user)
    done = hocba("account", "disable", "--school", school, "--username", term.homeroom, env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["disabled"] is True
    assert (await client.get(f"{V1}/me", headers=token)).status_code == 401
    missing = hocba("account", "disable", "--school", school, "--username", "khong-co-ai", env=env)
    assert missing.returncode != 0 and "no such account" in missing.stderr
    actions = [(a, o, r) for a, o, r in await trail(term) if a == "cli.account.disable"]
    assert actions == [("cli.account.disable", "allowed", None), ("cli.account.disable", "refused", "account.unknown")]


async def test_only_the_principal_makes_an_account_that_reads_everything_and_auditors_are_told(
    term: TermSchool, client: httpx.AsyncClient
) -> None:
    """The admin makes an auditor account for itself to read every transcript: refused (Điều 5.3c).
    The principal may; the new account raises an alert that auditors and the principal see."""
    school = term.school
    admin = await bearer(client, school, ADMIN.user)
    wanted = {"username": "thanhtra.bong", "kind": "AUDITOR", "password": "mat-khau-thanh-tra"}
    refused = await client.post(f"{V1}/schools/{school}/accounts", json=wanted, headers=admin)
    assert refused.status_code == 403 and refused.json()["code"] == "account.not_yours"
    assert "Hiệu trưởng" in refused.json()["detail_vi"]
    made = await client.post(
        f"{V1}/schools/{school}/accounts", json=wanted, headers=await bearer(client, school, PRINCIPAL.user)
    )
    assert made.status_code == 201, made.text
    auditor = await bearer(client, school, "thanhtra.phong")
    alerts = (await client.get(f"{V1}/schools/{school}/audit/alerts", headers=auditor)).json()["items"]
    assert [(a["rule"], a["username"]) for a in alerts] == [("privileged_account", "thanhtra.bong")]
    assert ("account_create", "denied", "account.not_yours") in await trail(term)


async def test_guessing_the_current_password_counts_towards_the_sign_in_limit(
    term: TermSchool, client: httpx.AsyncClient
) -> None:
    """Someone holding a session guesses its password through the password change: the fifth wrong
    guess blocks the sixth, even a right one, and signing in for the same account too."""
    school = term.school
    token = await bearer(client, school, term.teacher)
    for _ in range(5):
        wrong = await client.post(
            f"{V1}/me/password", json={"current": "khong-phai-mat-khau", "new": "mat-khau-moi-dai"}, headers=token
        )
        assert wrong.status_code == 403
    blocked = await client.post(
        f"{V1}/me/password", json={"current": PASSWORD, "new": "mat-khau-moi-dai"}, headers=token
    )
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    login = await client.post(
        f"{V1}/auth/token", json={"school": school, "username": term.teacher, "password": PASSWORD}
    )
    assert login.status_code == 429
    assert [r for r in await trail(term) if r[0] == "me_password"][-1] == (
        "me_password",
        "denied",
        "login.rate_limited",
    )
