"""A process keeps the principals it has found (ledger.school.accounts.principals), and must never
act on one past a change: a disabled account, an ended grant, a signed-out token, a changed password
or a row edited by hand in the database is refused at the very next request, by this process and by
another one (a second application on the same database stands for it), and the refusal is in the
access trail."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from ledger.app.demo import ADMIN
from ledger.base.settings import Settings
from ledger.school.accounts.principals import Principals
from signing.x509.pki import Pki
from tests.support.web import PASSWORD, TermSchool, bearer, school_in_term, trail

V1 = "/api/v1"


@pytest.fixture
async def term(app_engine: AsyncEngine, settings: Settings, pki: Pki) -> TermSchool:
    return await school_in_term(app_engine, settings, pki, students=1)


@pytest.fixture
async def apps(term: TermSchool) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Two applications on the same database, each with its own kept principals: this process and
    another one."""
    clients = []
    for address in ("10.42.0.1", "10.42.0.2"):
        transport = httpx.ASGITransport(app=create_app(term.runtime, scheduler=False), client=(address, 42000))
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://hocba.test"))
    async with clients[0] as one, clients[1] as other:
        yield one, other


def kept(client: httpx.AsyncClient) -> Principals:
    principals: Principals = client._transport.app.state.principals  # type: ignore[attr-defined]
    return principals


async def warm(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> None:
    """Requests enough for the principal to be served from what the process keeps."""
    hits = kept(client).hits
    for _ in range(3):
        answer = await client.get(path, headers=headers)
        assert answer.status_code == 200, answer.text
    assert kept(client).hits >= hits + 2


async def test_a_disabled_account_is_refused_at_the_next_request_of_every_process(
    term: TermSchool, apps: tuple[httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    one, other = apps
    teacher = await bearer(one, term.school, term.teacher)
    await warm(one, f"{V1}/me", teacher)
    await warm(other, f"{V1}/me", teacher)
    admin = await bearer(one, term.school, ADMIN.user)
    done = await one.post(f"{V1}/schools/{term.school}/accounts/{term.teacher}/disable", headers=admin)
    assert done.status_code == 200, done.text
    assert (await one.get(f"{V1}/me", headers=teacher)).status_code == 401
    assert (await other.get(f"{V1}/me", headers=teacher)).status_code == 401
    assert [e for e in await trail(term) if e == ("me", "denied", "account.unavailable")] == [
        ("me", "denied", "account.unavailable")
    ] * 2


async def test_an_ended_grant_stops_granting_at_the_next_request_of_every_process(
    term: TermSchool, apps: tuple[httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    one, other = apps
    school, year = term.school, term.demo.year
    teacher = await bearer(one, school, term.teacher)
    taught = sorted(c for c, staff in term.demo.homeroom.items() if staff != term.teacher)  # by Toán alone
    sheet = f"{V1}/schools/{school}/classes/{taught[0]}/sheets/TOAN/1?year={year}"
    await warm(one, sheet, teacher)
    await warm(other, sheet, teacher)
    admin = await bearer(one, school, ADMIN.user)
    listed = (await one.get(f"{V1}/schools/{school}/assignments", headers=admin)).json()
    [grant] = [
        g
        for g in listed
        if (g["staff"], g["class"], g["subject"]) == (term.teacher, taught[0], "TOAN") and g["term"] in (1, None)
    ]
    ended = await one.post(
        f"{V1}/schools/{school}/assignments/{grant['assignment']}/end", json={"valid_to": "2025-09-30"}, headers=admin
    )
    assert ended.status_code == 200, ended.text
    assert (await one.get(sheet, headers=teacher)).status_code == 403
    assert (await other.get(sheet, headers=teacher)).status_code == 403
    other_class = f"{V1}/schools/{school}/classes/{taught[1]}/sheets/TOAN/1?year={year}"
    assert (await other.get(other_class, headers=teacher)).status_code == 200  # the grants left still hold
    refused = [e for e in await trail(term) if e[0] == "sheet_read" and e[1] == "denied"]
    assert refused == [("sheet_read", "denied", "policy.sheet.read")] * 2


async def test_a_signed_out_token_is_refused_at_the_next_request_of_every_process(
    term: TermSchool, apps: tuple[httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    one, other = apps
    teacher = await bearer(one, term.school, term.teacher)
    await warm(one, f"{V1}/me", teacher)
    await warm(other, f"{V1}/me", teacher)
    assert (await one.post(f"{V1}/auth/sign-out", headers=teacher)).status_code == 200
    assert (await other.get(f"{V1}/me", headers=teacher)).status_code == 401
    assert (await one.get(f"{V1}/me", headers=teacher)).status_code == 401
    assert [e for e in await trail(term) if e[2] == "token.revoked"] == [("me", "denied", "token.revoked")] * 2


async def test_a_changed_password_no_longer_signs_in(
    term: TermSchool, apps: tuple[httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    one, other = apps
    teacher = await bearer(one, term.school, term.teacher)
    await warm(other, f"{V1}/me", teacher)
    new = "mat-khau-moi-cua-toi"
    changed = await one.post(f"{V1}/me/password", json={"current": PASSWORD, "new": new}, headers=teacher)
    assert changed.status_code == 200, changed.text
    for client in (one, other):
        old = await client.post(
            f"{V1}/auth/token", json={"school": term.school, "username": term.teacher, "password": PASSWORD}
        )
        assert old.status_code == 401
    assert (await bearer(other, term.school, term.teacher, new))["Authorization"].startswith("Bearer ")
    refused = [e for e in await trail(term) if e[0] == "auth_token" and e[1] == "denied"]
    assert refused == [("auth_token", "denied", "login.password")] * 2


async def test_a_changed_password_ends_every_session_signed_in_before_it(
    term: TermSchool, apps: tuple[httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    """Whoever learnt the old password and signed in with it is signed out by the change, at their
    next request to any process; the owner goes on with the token the change returns."""
    one, other = apps
    stolen = await bearer(other, term.school, term.teacher)
    await warm(other, f"{V1}/me", stolen)
    own = await bearer(one, term.school, term.teacher)
    term.runtime.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    new = "mat-khau-moi-cua-toi"
    changed = await one.post(f"{V1}/me/password", json={"current": PASSWORD, "new": new}, headers=own)
    assert changed.status_code == 200, changed.text
    renewed = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert (await other.get(f"{V1}/me", headers=stolen)).status_code == 401
    assert (await one.get(f"{V1}/me", headers=stolen)).status_code == 401
    assert (await one.get(f"{V1}/me", headers=own)).status_code == 401  # the token the change was made with
    for client in (one, other):
        answer = await client.get(f"{V1}/me", headers=renewed)
        assert answer.status_code == 200, answer.text
    assert [e for e in await trail(term) if e[2] == "token.password_changed"] == [
        ("me", "denied", "token.password_changed")
    ] * 3


def minted(secret: bytes, school: str, username: str) -> str:
    """A token signed with the service's own secret (an insider who holds it as well)."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {"sub": username, "sch": school, "knd": "STAFF", "exp": 4102444800, "jti": "insider"}
    body = b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(signature)}"


async def test_rows_edited_by_hand_are_seen_at_the_next_request(
    term: TermSchool, apps: tuple[httpx.AsyncClient, httpx.AsyncClient], superuser: Any
) -> None:
    """A superuser edits the accounts table under a principal the process keeps: the teacher's account
    rebound to a colleague's staff id acts as no one, an account disabled by hand is refused, and a row
    forged for a colleague signs in neither by password nor with a token minted for it."""
    one, other = apps
    school = term.school
    colleague = next(s for s in term.demo.subject_teachers.values() if s not in (term.teacher, term.homeroom))
    teacher = await bearer(one, school, term.teacher)
    await warm(one, f"{V1}/me", teacher)
    superuser.execute(
        "UPDATE hocba.accounts SET staff_id = %s WHERE school_id = %s AND username = %s",
        (colleague, school, term.teacher),
    )
    rebound = await one.get(f"{V1}/me", headers=teacher)
    assert rebound.status_code == 401, rebound.text
    superuser.execute(
        "UPDATE hocba.accounts SET staff_id = %s WHERE school_id = %s AND username = %s",
        (term.teacher, school, term.teacher),
    )
    assert (await one.get(f"{V1}/me", headers=teacher)).json()["staff_id"] == term.teacher

    homeroom = await bearer(other, school, term.homeroom)
    await warm(other, f"{V1}/me", homeroom)
    superuser.execute(
        "UPDATE hocba.accounts SET disabled = true WHERE school_id = %s AND username = %s", (school, term.homeroom)
    )
    assert (await other.get(f"{V1}/me", headers=homeroom)).status_code == 401

    superuser.execute(  # an account for a colleague, straight into the table, with no ledger record
        "INSERT INTO hocba.accounts (school_id, username, kind, staff_id, password_hash, disabled) "
        "SELECT school_id, 'gv.bong', kind, %s, password_hash, false FROM hocba.accounts "
        "WHERE school_id = %s AND username = %s",
        (colleague, school, term.teacher),
    )
    login = await one.post(f"{V1}/auth/token", json={"school": school, "username": "gv.bong", "password": PASSWORD})
    assert login.status_code == 401
    secret = one._transport.app.state.tokens.secret  # type: ignore[attr-defined]
    forged = {"Authorization": f"Bearer {minted(secret, school, 'gv.bong')}"}
    for client in (one, other):
        assert (await client.get(f"{V1}/me", headers=forged)).status_code == 401
    assert [e for e in await trail(term) if e[2] == "account.unavailable"] == [
        ("me", "denied", "account.unavailable")
    ] * 4
