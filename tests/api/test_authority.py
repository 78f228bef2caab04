"""The chain of authority over roles and accounts, replayed through the API as an insider would try
it (the regulation's Điều 5.3c, 24.3, 33.2): the administrator records grants but gives no leadership
role by itself, the principal's role rests on a decision from above, accounts are ledger events, and
an account row slipped into the database behind the ledger opens nothing."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from ledger.app.demo import ADMIN, PRINCIPAL, VICE_PRINCIPAL
from ledger.base.settings import Settings
from ledger.log import store
from ledger.school.accounts.passwords import hash_password
from signing.x509.pki import Pki
from tests.support.helpers import head
from tests.support.web import PASSWORD, TermSchool, bearer, school_in_term, trail

V1 = "/api/v1"
DECISION_TEXT = "Quyết định số 77/QĐ-SGDĐT bổ nhiệm Hiệu trưởng".encode()


@pytest.fixture
async def term(app_engine: AsyncEngine, settings: Settings, pki: Pki) -> TermSchool:
    return await school_in_term(app_engine, settings, pki, students=1)


@pytest.fixture
async def client(term: TermSchool) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(term.runtime, scheduler=False), client=("10.42.0.2", 42000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hocba.test") as http:
        yield http


async def last_event(term: TermSchool) -> Any:
    async with term.runtime.engine().connect() as conn:
        seq = (await store.read_head(conn, term.school)).seq
        [event] = await store.select_events(conn, term.school, after=seq - 1, upto=seq, limit=1)
    return event


async def roles_of(client: httpx.AsyncClient, token: dict[str, str]) -> set[str]:
    return {g["role"] for g in (await client.get(f"{V1}/me", headers=token)).json()["grants"]}


async def test_a_leadership_grant_by_the_admin_waits_for_the_principal_dieu_5_3c(
    term: TermSchool, client: httpx.AsyncClient
) -> None:
    """The admin records a vice-principal grant for a teacher: it is on the ledger, waiting, and gives
    nothing; the principal and auditors are told. The admin cannot approve it; the principal does,
    and only then does the teacher hold the role."""
    school = term.school
    admin = await bearer(client, school, ADMIN.user)
    teacher = await bearer(client, school, term.teacher)
    row = {"staff": term.teacher, "role": "LEADERSHIP", "valid_from": "2025-10-01"}
    made = await client.post(f"{V1}/schools/{school}/imports/assignments", json={"rows": [row]}, headers=admin)
    assert made.status_code == 200 and made.json()["appended"] == 1, made.text
    event = await last_event(term)
    assert event.type == "assignment.made" and event.payload["pending"] is True
    assert event.actor.account == ADMIN.user  # the account that acted, with the staff id it acts for
    assert "LEADERSHIP" not in await roles_of(client, teacher)

    listed = (await client.get(f"{V1}/schools/{school}/assignments", headers=admin)).json()
    [waiting] = [a for a in listed if a["pending"]]
    assert (waiting["staff"], waiting["role"], waiting["name"]) == (term.teacher, "LEADERSHIP", waiting["name"])
    assert waiting["name"] and waiting["name"] != term.teacher  # the person's name, not their code

    approve = f"{V1}/schools/{school}/assignments/{waiting['assignment']}/approve"
    by_admin = await client.post(approve, json={"note": "tự duyệt"}, headers=admin)
    assert by_admin.status_code == 403 and "LEADERSHIP" not in await roles_of(client, teacher)
    ok = await client.post(
        approve, json={"note": "Quyết định 12/QĐ-THCS"}, headers=await bearer(client, school, PRINCIPAL.user)
    )
    assert ok.status_code == 200, ok.text
    approved = await last_event(term)
    assert approved.type == "assignment.approved" and approved.actor.user == PRINCIPAL.user
    assert "LEADERSHIP" in await roles_of(client, teacher)
    again = await client.post(approve, json={}, headers=await bearer(client, school, PRINCIPAL.user))
    assert again.status_code == 409 and again.json()["code"] == "assignment.not_pending"

    auditor = await bearer(client, school, "thanhtra.phong")
    alerts = (await client.get(f"{V1}/schools/{school}/audit/alerts", headers=auditor)).json()["items"]
    assert [(a["rule"], a["username"], a["detail"]["pending"]) for a in alerts] == [
        ("privileged_grant", term.teacher, True)
    ]
    assert ("assignment_approve", "denied", None) in [(a, o, None) for a, o, _ in await trail(term)]


async def test_a_refused_grant_never_takes_effect_and_needs_a_reason(
    term: TermSchool, client: httpx.AsyncClient
) -> None:
    school = term.school
    admin = await bearer(client, school, ADMIN.user)
    principal = await bearer(client, school, PRINCIPAL.user)
    row = {"staff": term.homeroom, "role": "CLERK", "valid_from": "2025-10-01"}
    assert (
        await client.post(f"{V1}/schools/{school}/imports/assignments", json={"rows": [row]}, headers=admin)
    ).is_success
    [waiting] = [
        a for a in (await client.get(f"{V1}/schools/{school}/assignments", headers=admin)).json() if a["pending"]
    ]
    refuse = f"{V1}/schools/{school}/assignments/{waiting['assignment']}/refuse"
    bare = await client.post(refuse, json={}, headers=principal)
    assert bare.status_code == 422 and bare.json()["code"] == "text.required"
    done = await client.post(refuse, json={"note": "Không đúng đề xuất của tổ"}, headers=principal)
    assert done.status_code == 200, done.text
    assert "CLERK" not in await roles_of(client, await bearer(client, school, term.homeroom))
    listed = (await client.get(f"{V1}/schools/{school}/assignments", headers=admin)).json()
    assert waiting["assignment"] not in {a["assignment"] for a in listed}


async def test_the_principals_role_rests_on_a_decision_from_above_dieu_24_3_33_2(
    term: TermSchool, client: httpx.AsyncClient
) -> None:
    """The admin makes the vice principal a second principal: without the appointing decision it is
    refused; with one, it waits for the principal in force. Nothing changes until then."""
    school = term.school
    admin = await bearer(client, school, ADMIN.user)
    url = f"{V1}/schools/{school}/imports/assignments"
    before = await head(term.demo.ledger, school)
    bare = {"staff": VICE_PRINCIPAL.user, "role": "PRINCIPAL", "valid_from": "2025-10-01"}
    refused = await client.post(url, json={"rows": [bare]}, headers=admin)
    assert refused.status_code == 422 and refused.json()["code"] == "assignment.decision_required"
    assert "Điều 24.3" in refused.json()["rule"]
    bad_hash = {**bare, "decision_number": "77/QĐ-SGDĐT", "decision_issuer": "Sở GD&ĐT Ninh Bình",
                "decision_date": "2025-09-28", "decision_sha256": "abc"}  # fmt: skip
    assert (await client.post(url, json={"rows": [bad_hash]}, headers=admin)).json()["code"] == (
        "assignment.decision_hash"
    )
    forged_signature = {**bad_hash, "decision_sha256": hashlib.sha256(DECISION_TEXT).hexdigest(),
                        "decision_signature": "bm90IGEgc2lnbmF0dXJl"}  # fmt: skip
    assert (await client.post(url, json={"rows": [forged_signature]}, headers=admin)).json()["code"] == (
        "assignment.decision_signature"
    )
    assert await head(term.demo.ledger, school) == before
    with_decision = {k: v for k, v in forged_signature.items() if k != "decision_signature"}
    made = await client.post(url, json={"rows": [with_decision]}, headers=admin)
    assert made.status_code == 200, made.text
    event = await last_event(term)
    assert event.payload["pending"] is True
    assert event.payload["decision"]["number"] == "77/QĐ-SGDĐT"
    assert event.payload["decision"]["sha256"] == hashlib.sha256(DECISION_TEXT).hexdigest()
    assert "PRINCIPAL" not in await roles_of(client, await bearer(client, school, VICE_PRINCIPAL.user))
    refusals = [(a, o, r) for a, o, r in await trail(term) if a == "import_rows" and o != "allowed"]
    assert [r for _, _, r in refusals] == [
        "assignment.decision_required",
        "assignment.decision_hash",
        "assignment.decision_signature",
    ]


async def test_only_the_principal_ends_a_leadership_role(term: TermSchool, client: httpx.AsyncClient) -> None:
    """The admin ends the vice principal's role, or re-imports it with an end date: refused; the
    principal ends it with a decision; teaching roles the admin ends itself (Điều 5.3c, 27)."""
    school = term.school
    admin = await bearer(client, school, ADMIN.user)
    listed = (await client.get(f"{V1}/schools/{school}/assignments", headers=admin)).json()
    [deputy] = [a for a in listed if a["role"] == "LEADERSHIP"]
    end = f"{V1}/schools/{school}/assignments/{deputy['assignment']}/end"
    refused = await client.post(end, json={"valid_to": "2025-10-31", "decision": "—"}, headers=admin)
    assert refused.status_code == 403 and refused.json()["code"] == "assignment.needs_principal"
    row = {
        "staff": VICE_PRINCIPAL.user,
        "role": "LEADERSHIP",
        "valid_from": deputy["valid_from"],
        "valid_to": "2025-10-31",
    }
    again = await client.post(f"{V1}/schools/{school}/imports/assignments", json={"rows": [row]}, headers=admin)
    assert again.status_code == 403 and again.json()["code"] == "assignment.needs_principal"
    assert "LEADERSHIP" in await roles_of(client, await bearer(client, school, VICE_PRINCIPAL.user))
    principal = await bearer(client, school, PRINCIPAL.user)
    done = await client.post(
        end, json={"valid_to": "2025-09-30", "decision": "Quyết định 15/QĐ-THCS"}, headers=principal
    )
    assert done.status_code == 200, done.text
    assert (await last_event(term)).payload == {
        "assignment": deputy["assignment"],
        "valid_to": "2025-09-30",
        "decision": "Quyết định 15/QĐ-THCS",
    }
    assert "LEADERSHIP" not in await roles_of(client, await bearer(client, school, VICE_PRINCIPAL.user))
    [teaching] = [a for a in listed if a["staff"] == term.homeroom and a["role"] == "HOMEROOM_TEACHER"]
    ended = await client.post(
        f"{V1}/schools/{school}/assignments/{teaching['assignment']}/end",
        json={"valid_to": "2025-09-30", "decision": "Quyết định 16/QĐ-THCS"},
        headers=admin,
    )
    assert ended.status_code == 200, ended.text


async def test_accounts_are_ledger_events_and_a_row_behind_the_ledger_opens_nothing(
    term: TermSchool, client: httpx.AsyncClient, superuser: Any
) -> None:
    """Opening and disabling an account are events naming the account that acted. An account row
    written straight into the database, as someone holding it could, does not sign in."""
    school = term.school
    admin = await bearer(client, school, ADMIN.user)
    student = term.demo.rosters["6A1"][0]
    made = await client.post(
        f"{V1}/schools/{school}/accounts",
        json={"username": "phuhuynh.moi", "kind": "GUARDIAN", "student_id": student, "password": "mat-khau-phu-huynh"},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    opened = await last_event(term)
    assert (opened.type, opened.payload["username"], opened.payload["student"]) == (
        "account.opened",
        "phuhuynh.moi",
        student,
    )
    assert (opened.actor.user, opened.actor.account) == (ADMIN.user, ADMIN.user)
    assert "password" not in str(opened.payload) and "hash" not in str(opened.payload)
    gone = await client.post(
        f"{V1}/schools/{school}/accounts/phuhuynh.moi/disable", json={"reason": "Chuyển trường"}, headers=admin
    )
    assert gone.status_code == 200, gone.text
    assert (await last_event(term)).payload == {"username": "phuhuynh.moi", "reason": "Chuyển trường"}

    before = await head(term.demo.ledger, school)
    hashed = await hash_password("mat-khau-bong-dem")
    superuser.execute(  # the insider: an account bound to the principal, straight into the table
        "INSERT INTO hocba.accounts (school_id, username, kind, staff_id, password_hash, disabled) "
        "VALUES (%s, 'ht.bong', 'STAFF', NULL, %s, false)",
        (school, hashed),
    )
    login = await client.post(
        f"{V1}/auth/token", json={"school": school, "username": "ht.bong", "password": "mat-khau-bong-dem"}
    )
    assert login.status_code == 401
    assert await head(term.demo.ledger, school) == before
    assert ("auth_token", "denied", "login.unknown") in await trail(term)


async def test_accounts_made_before_accounts_were_events_are_carried_over_once(server_url: str) -> None:
    """A database with accounts from before revision 0014 upgrades: each account gets one
    account.opened event by the service, marked carried over, and keeps signing in."""
    from ledger.app import migrate
    from ledger.app.db import APP_ROLE, create_engine, ensure_database
    from ledger.school.accounts.queries import account_row

    name = f"hocba_test_carry_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = ensure_database(server_url, name)
    try:
        migrate.upgrade(url, "0013")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO hocba.accounts (school_id, username, kind, staff_id, password_hash, disabled) "
                "VALUES ('truong-cu', 'gv.cu', 'STAFF', 'gv.cu', 'x', false), "
                "('truong-cu', 'gv.nghi', 'STAFF', 'gv.nghi', 'x', true)"
            )
        migrate.upgrade(url)
        migrate.upgrade(url)  # a second upgrade carries nothing again
        engine = create_engine(url, APP_ROLE)
        try:
            async with engine.connect() as conn:
                events = await store.select_events(conn, "truong-cu", after=0, upto=10, limit=10)
                row = await account_row(conn, "truong-cu", "gv.cu")
        finally:
            await engine.dispose()
        assert [(e.type, e.actor.user, e.payload["username"]) for e in events] == [
            ("account.opened", "system", "gv.cu"),
            ("account.opened", "system", "gv.nghi"),
            ("account.disabled", "system", "gv.nghi"),  # closed before: closed on the ledger too
        ]
        assert all(e.payload["carried_over"] for e in events if e.type == "account.opened")
        assert row is not None and not row["disabled"]
        with psycopg.connect(url, autocommit=True) as conn:
            assert conn.execute("SELECT to_regclass('hocba.accounts_carried')").fetchone() == (None,)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def page_client(term: TermSchool, username: str) -> tuple[httpx.AsyncClient, str]:
    """A browser signed in as `username`, and the CSRF token of its forms."""
    transport = httpx.ASGITransport(app=create_app(term.runtime, scheduler=False), client=("10.42.0.3", 42000))
    browser = httpx.AsyncClient(transport=transport, base_url="http://hocba.test")
    signed = await browser.post("/dang-nhap", data={"school": term.school, "username": username, "password": PASSWORD})
    assert signed.status_code == 303, signed.text
    home = await browser.get(f"/truong/{term.school}")
    return browser, home.text.split('name="csrf" value="')[1].split('"')[0]


async def test_the_staff_page_lets_the_principal_approve_and_the_admin_disable_dieu_5_3c_27(
    term: TermSchool, client: httpx.AsyncClient
) -> None:
    school = term.school
    admin = await bearer(client, school, ADMIN.user)
    row = {"staff": term.teacher, "role": "IT_REVIEWER", "valid_from": "2025-10-01"}
    assert (
        await client.post(f"{V1}/schools/{school}/imports/assignments", json={"rows": [row]}, headers=admin)
    ).is_success
    [waiting] = [
        a for a in (await client.get(f"{V1}/schools/{school}/assignments", headers=admin)).json() if a["pending"]
    ]

    browser, csrf = await page_client(term, PRINCIPAL.user)
    try:
        shown = await browser.get(f"/truong/{school}/nhan-su")
        assert shown.status_code == 200
        assert "Phân công chờ Hiệu trưởng duyệt" in shown.text and waiting["name"] in shown.text
        assert "Giáo viên tin học (đối soát)" in shown.text  # the role by its name, not its code
        assert "<td>Toán</td>" in shown.text and "<td>TOAN</td>" not in shown.text  # the subject too
        done = await browser.post(
            f"/truong/{school}/nhan-su/duyet",
            data={"csrf": csrf, "assignment": waiting["assignment"], "note": "QĐ 20/QĐ-THCS", "decision": "approve"},
        )
        assert done.status_code == 303
    finally:
        await browser.aclose()
    assert "IT_REVIEWER" in await roles_of(client, await bearer(client, school, term.teacher))

    browser, csrf = await page_client(term, ADMIN.user)
    try:
        listed = (await client.get(f"{V1}/schools/{school}/assignments", headers=admin)).json()
        [deputy] = [a for a in listed if a["role"] == "LEADERSHIP"]
        refused = await browser.post(
            f"/truong/{school}/nhan-su/ket-thuc",
            data={"csrf": csrf, "assignment": deputy["assignment"], "valid_to": "2025-10-31", "decision_text": "x"},
        )
        assert refused.status_code == 403 and "Chỉ Hiệu trưởng kết thúc phân công vai trò này." in refused.text
        homeroom = await bearer(client, school, term.homeroom)
        gone = await browser.post(
            f"/truong/{school}/nhan-su/khoa", data={"csrf": csrf, "username": term.homeroom, "reason": "Nghỉ hưu"}
        )
        assert gone.status_code == 303
        assert (await client.get(f"{V1}/me", headers=homeroom)).status_code == 401
        page = await browser.get(f"/truong/{school}/nhan-su")
        assert "Đã khóa" in page.text
    finally:
        await browser.aclose()
    assert [r for r in await trail(term) if r[0] == "page_assignment_end"] == [
        ("page_assignment_end", "denied", "assignment.needs_principal")
    ]


async def test_the_command_line_approves_and_ends_assignments_as_the_signed_in_account_dieu_5_3c_27(
    term: TermSchool, client: httpx.AsyncClient, env: dict[str, str]
) -> None:
    """`hocba assignment list/approve/end`, each as the account signed in: the admin cannot approve,
    the principal can; the admin ends a teaching assignment; every run leaves its access entry."""
    import json

    from tests.support.helpers import hocba, signed_in

    school = term.school
    admin = await bearer(client, school, ADMIN.user)
    row = {"staff": term.teacher, "role": "CLERK", "valid_from": "2025-10-01"}
    assert (
        await client.post(f"{V1}/schools/{school}/imports/assignments", json={"rows": [row]}, headers=admin)
    ).is_success
    as_admin = await signed_in(term.runtime.engine(), env, school, ADMIN.user)
    as_principal = await signed_in(term.runtime.engine(), env, school, PRINCIPAL.user)
    listed = hocba("assignment", "list", "--school", school, "--json", env=as_admin)
    assert listed.returncode == 0, listed.stderr
    [waiting] = [a for a in json.loads(listed.stdout) if a["pending"]]
    refused = hocba("assignment", "approve", waiting["assignment"], "--school", school, env=as_admin)
    assert refused.returncode != 0 and "PRINCIPAL" in refused.stderr
    done = hocba("assignment", "approve", waiting["assignment"], "--school", school, "--note", "QĐ 3", env=as_principal)
    assert done.returncode == 0, done.stderr
    assert "CLERK" in await roles_of(client, await bearer(client, school, term.teacher))
    teaching = next(
        a for a in json.loads(listed.stdout) if a["staff"] == term.homeroom and a["role"] == "HOMEROOM_TEACHER"
    )
    ended = hocba(
        "assignment", "end", teaching["assignment"], "--school", school, "--valid-to", "31/12/2026",
        "--decision", "Quyết định 30/QĐ-THCS", env=as_admin,
    )  # fmt: skip
    assert ended.returncode == 0, ended.stderr
    event = await last_event(term)
    assert event.type == "assignment.ended" and event.actor.account == ADMIN.user
    cli = [r for r in await trail(term) if r[0].startswith("cli.assignment")]
    assert [r[1] for r in cli] == ["allowed", "denied", "allowed", "allowed"]


async def test_only_the_principal_opens_or_closes_a_leaders_account_dieu_5_3c(
    term: TermSchool, client: httpx.AsyncClient
) -> None:
    """The admin closes the principal's account to open one of its own in the principal's name, or
    opens an account for someone whose leadership grant is still waiting: refused, nothing changes.
    The principal may, and auditors are told."""
    school = term.school
    admin = await bearer(client, school, ADMIN.user)
    principal = await bearer(client, school, PRINCIPAL.user)
    for leader in (PRINCIPAL.user, VICE_PRINCIPAL.user):
        refused = await client.post(f"{V1}/schools/{school}/accounts/{leader}/disable", json={}, headers=admin)
        assert refused.status_code == 403 and refused.json()["code"] == "account.not_yours", refused.text
    assert (await client.get(f"{V1}/me", headers=principal)).status_code == 200
    newcomer = next(t for t in sorted(term.demo.subject_teachers.values()) if t not in (term.teacher, term.homeroom))
    row = {"staff": newcomer, "role": "LEADERSHIP", "valid_from": "2025-10-01"}
    assert (
        await client.post(f"{V1}/schools/{school}/imports/assignments", json={"rows": [row]}, headers=admin)
    ).is_success
    before = await head(term.demo.ledger, school)
    wanted = {"username": newcomer, "kind": "STAFF", "password": "mat-khau-moi-dai"}
    refused = await client.post(f"{V1}/schools/{school}/accounts", json=wanted, headers=admin)
    assert refused.status_code == 403 and refused.json()["code"] == "account.not_yours"
    assert await head(term.demo.ledger, school) == before
    made = await client.post(f"{V1}/schools/{school}/accounts", json=wanted, headers=principal)
    assert made.status_code == 201, made.text
    closed = await client.post(
        f"{V1}/schools/{school}/accounts/{VICE_PRINCIPAL.user}/disable", json={"reason": "Nghỉ hưu"}, headers=principal
    )
    assert closed.status_code == 200, closed.text
    auditor = await bearer(client, school, "thanhtra.phong")
    alerts = (await client.get(f"{V1}/schools/{school}/audit/alerts", headers=auditor)).json()["items"]
    assert ("privileged_account", newcomer) in [(a["rule"], a["username"]) for a in alerts]
    denied = [r for r in await trail(term) if r[0] in ("account_disable", "account_create") and r[1] == "denied"]
    assert [r[2] for r in denied] == ["account.not_yours"] * 3


async def test_with_no_principal_in_force_a_new_principal_needs_a_second_person_dieu_33_2(
    term: TermSchool, client: httpx.AsyncClient
) -> None:
    """The principal's role ended (retired, by the Sở's decision). The admin records the Sở's decision
    appointing a successor: it waits; the admin cannot make it take effect alone, but a vice-principal
    can, and only for a principal's appointment."""
    school = term.school
    admin = await bearer(client, school, ADMIN.user)
    principal = await bearer(client, school, PRINCIPAL.user)
    deputy = await bearer(client, school, VICE_PRINCIPAL.user)
    listed = (await client.get(f"{V1}/schools/{school}/assignments", headers=admin)).json()
    [own] = [a for a in listed if a["role"] == "PRINCIPAL"]
    retire = {"valid_to": "2025-09-30", "decision": "Quyết định 80/QĐ-SGDĐT nghỉ hưu"}
    ended = await client.post(
        f"{V1}/schools/{school}/assignments/{own['assignment']}/end", json=retire, headers=principal
    )
    assert ended.status_code == 200, ended.text
    row = {"staff": term.teacher, "role": "PRINCIPAL", "valid_from": "2025-10-01", "decision_number": "81/QĐ-SGDĐT",
           "decision_issuer": "Sở GD&ĐT Ninh Bình", "decision_date": "2025-09-29",
           "decision_sha256": hashlib.sha256(DECISION_TEXT).hexdigest()}  # fmt: skip
    made = await client.post(f"{V1}/schools/{school}/imports/assignments", json={"rows": [row]}, headers=admin)
    assert made.status_code == 200 and (await last_event(term)).payload["pending"] is True
    [waiting] = [
        a for a in (await client.get(f"{V1}/schools/{school}/assignments", headers=admin)).json() if a["pending"]
    ]
    approve = f"{V1}/schools/{school}/assignments/{waiting['assignment']}/approve"
    assert (await client.post(approve, json={}, headers=admin)).status_code == 403
    teacher = await bearer(client, school, term.teacher)
    assert (await client.post(approve, json={}, headers=teacher)).status_code == 403
    assert "PRINCIPAL" not in await roles_of(client, teacher)
    other = {"staff": term.homeroom, "role": "CLERK", "valid_from": "2025-10-01"}
    assert (
        await client.post(f"{V1}/schools/{school}/imports/assignments", json={"rows": [other]}, headers=admin)
    ).is_success
    [clerk] = [
        a
        for a in (await client.get(f"{V1}/schools/{school}/assignments", headers=admin)).json()
        if a["pending"] and a["role"] == "CLERK"
    ]
    refused = await client.post(
        f"{V1}/schools/{school}/assignments/{clerk['assignment']}/approve", json={}, headers=deputy
    )
    assert refused.status_code == 403 and refused.json()["code"] == "assignment.not_yours"
    done = await client.post(approve, json={"note": "81/QĐ-SGDĐT"}, headers=deputy)
    assert done.status_code == 200, done.text
    assert "PRINCIPAL" in await roles_of(client, teacher)
