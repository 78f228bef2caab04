"""The HTTP API: problem+json errors, authentication, and the access trail that every request
leaves, allowed or refused, before its response goes out (Điều 5.3c, 20.3, 32)."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from audit.trail import access_index
from ledger.app.demo import DemoSchool
from ledger.app.runtime import Runtime
from ledger.base.clock import SystemClock
from ledger.format.envelope import SERVICE_CHAIN
from ledger.log import store
from ledger.log.schema import ACCESS, access_log
from ledger.log.verify import verify
from tests.support.helpers import PASSWORD, SETUP

V1 = "/api/v1"


async def entries(engine: AsyncEngine, school: str) -> int:
    async with engine.connect() as conn:
        return int(
            await conn.scalar(select(func.count()).select_from(access_log).where(access_log.c.school_id == school)) or 0
        )


async def last_entry(engine: AsyncEngine, school: str) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = (
            (
                await conn.execute(
                    select(access_index)
                    .where(access_index.c.school_id == school)
                    .order_by(access_index.c.entry.desc())
                    .limit(1)
                )
            )
            .mappings()
            .first()
        )
    assert row is not None
    return dict(row)


async def test_openapi_is_served_and_every_operation_is_named(api: httpx.AsyncClient) -> None:
    answer = await api.get("/schema/openapi.json")
    assert answer.status_code == 200
    doc = answer.json()
    assert doc["openapi"].startswith("3.1")
    operations = [op for path in doc["paths"].values() for op in path.values()]
    assert operations and all(op.get("operationId") for op in operations)


async def test_health_and_readiness(api: httpx.AsyncClient, app_engine: AsyncEngine) -> None:
    before = await entries(app_engine, SERVICE_CHAIN)
    assert (await api.get(f"{V1}/health")).json() == {"status": "ok"}
    ready = await api.get(f"{V1}/ready")
    assert ready.json() == {"status": "ready"}
    assert "x-request-id" in ready.headers
    assert await entries(app_engine, SERVICE_CHAIN) == before + 2


@pytest.mark.parametrize(
    ("method", "path", "body", "role", "status", "chain"),
    [
        ("GET", "/students/037312009999/transcript?year=2025-2026", None, None, 401, "service"),  # no credential
        ("GET", "/nothing-here", None, "PRINCIPAL", 404, "service"),  # no route: no school touched
        ("POST", "/classes/7A1/sheets/TOAN/1?year=2025-2026", {"entries": "no"}, "SUBJECT_TEACHER", 422, "school"),
        ("POST", "/classes/7A1/sheets/TOAN/1?year=2025-2026", {"entries": []}, "ADMIN", 403, "school"),
        ("GET", "/students/037312009999/transcript?year=2025-2026", None, "PRINCIPAL", 404, "school"),
    ],
)
async def test_every_request_leaves_exactly_one_access_entry(
    api: httpx.AsyncClient,
    app_engine: AsyncEngine,
    demo: DemoSchool,
    tokens: Any,
    method: str,
    path: str,
    body: Any,
    role: str | None,
    status: int,
    chain: str,
) -> None:
    where = SERVICE_CHAIN if chain == "service" else demo.school
    before = await entries(app_engine, where)
    headers = tokens[role] if role else {}
    answer = await api.request(method, f"{V1}/schools/{demo.school}{path}", json=body, headers=headers)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["status"] == status and problem["detail"] and problem["detail_vi"]
    assert await entries(app_engine, where) == before + 1
    entry = await last_entry(app_engine, where)
    assert (entry["status"], entry["request_id"], entry["client"]) == (
        status,
        answer.headers["x-request-id"],
        "10.0.0.7",
    )
    assert entry["outcome"] == ("denied" if status in (401, 403) else "refused")


async def test_failed_logins_are_recorded_and_rate_limited(
    api: httpx.AsyncClient, app_engine: AsyncEngine, demo: DemoSchool, credentials: Any
) -> None:
    wrong = {"school": demo.school, "username": "gv.gdcd04", "password": "not-the-password"}
    from ledger.school.accounts.commands import create_account
    from ledger.school.rules.policy import AccountKind

    await create_account(demo.ledger, demo.school, "gv.gdcd04", AccountKind.STAFF, password=PASSWORD, actor=SETUP)
    for attempt in range(5):
        answer = await api.post(f"{V1}/auth/token", json=wrong)
        assert answer.status_code == 401, attempt
        assert "mật khẩu không đúng" in answer.json()["detail_vi"]
    entry = await last_entry(app_engine, demo.school)
    assert (entry["action"], entry["outcome"], entry["username"], entry["reason"]) == (
        "auth_token",
        "denied",
        "gv.gdcd04",
        "login.password",
    )
    limited = await api.post(f"{V1}/auth/token", json={**wrong, "password": PASSWORD})  # even the right one, now
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0


async def test_the_trail_failing_fails_the_request(
    api: httpx.AsyncClient, app: Any, demo: DemoSchool, tokens: Any
) -> None:
    trail = app.state.trail

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database gone")

    original, trail.record = trail.record, broken
    try:
        answer = await api.get(
            f"{V1}/schools/{demo.school}/students/{demo.rosters['6A1'][0]}/transcript?year={demo.year}",
            headers=tokens["PRINCIPAL"],
        )
    finally:
        trail.record = original
    assert answer.status_code == 503
    assert answer.json()["detail"].startswith("the access trail could not be written")
    assert "subjects" not in answer.text


async def test_after_the_close_entry_is_refused_with_its_rule_and_the_refusal_is_recorded_dieu_25(
    api: httpx.AsyncClient, demo: DemoSchool, tokens: Any, app_engine: AsyncEngine
) -> None:
    """The service's clock is 20 August: the fixture year closed on 31 May (Điều 25.1). A student
    with summer work is still open (Điều 25.2), but term I's entry window is long closed: the way
    forward is a correction request (Điều 17.3)."""
    done, summer = demo.rosters["7A1"][0], demo.rosters["7A1"][3]  # 7A1[3]: summer training
    sheet = f"{V1}/schools/{demo.school}/classes/7A1/sheets/TOAN/1?year={demo.year}"
    async with app_engine.connect() as conn:
        before = (await store.read_head(conn, demo.school)).seq
    closed = await api.post(
        sheet, json={"entries": [{"student": done, "kind": "final", "value": "9"}]}, headers=tokens["SUBJECT_TEACHER"]
    )
    assert closed.status_code == 409
    problem = closed.json()
    assert (problem["code"], problem["rule"]) == ("deadline.close", "Điều 25.1, 25.2")
    assert "31/05/2026" in problem["detail_vi"] and "2026-05-31T23:59:59" in problem["detail"]
    entry = await last_entry(app_engine, demo.school)
    assert (entry["outcome"], entry["reason"], entry["students"]) == ("refused", "deadline.close", [done])
    window = await api.post(
        sheet, json={"entries": [{"student": summer, "kind": "final", "value": "9"}]}, headers=tokens["SUBJECT_TEACHER"]
    )
    assert window.status_code == 409
    assert window.json()["code"] == "window.closed" and "correction request" in window.json()["detail"]
    body = {"entries": [{"student": summer, "kind": "final", "value": "9"}]}
    for role in ("HOMEROOM_TEACHER", "PRINCIPAL", "ADMIN", "AUDITOR", "GUARDIAN"):
        denied = await api.post(sheet, json=body, headers=tokens[role])
        assert denied.status_code == 403, role
    other_subject = await api.post(sheet.replace("TOAN", "KHTN"), json=body, headers=tokens["SUBJECT_TEACHER"])
    assert other_subject.status_code == 403
    entry = await last_entry(app_engine, demo.school)
    assert entry["reason"] == "policy.sheet.write"
    assert entry["students"] == []  # refused before any student's data was touched
    async with app_engine.connect() as conn:
        assert (await store.read_head(conn, demo.school)).seq == before


async def test_a_correction_filed_approved_and_read_over_http_dieu_17_3(
    api: httpx.AsyncClient, demo: DemoSchool, tokens: Any, app_engine: AsyncEngine
) -> None:
    """On 20 August a student with summer work can still be corrected (Điều 25.2): the teacher files,
    a vice-principal approves, and the request shows the value's history."""
    student = demo.rosters["7A1"][3]
    sheet = f"{V1}/schools/{demo.school}/classes/7A1/sheets/TOAN/2"
    entries = (await api.get(f"{sheet}?year={demo.year}", headers=tokens["SUBJECT_TEACHER"])).json()["entries"]
    old = next(e["value"] for e in entries if e["student"] == student and e["kind"] == "midterm")
    new = "10.0" if old != "10.0" else "9.0"
    body = {"student": student, "kind": "midterm", "old_value": old, "new_value": new, "reason": "Cộng nhầm điểm"}
    stale = await api.post(
        f"{sheet}/corrections?year={demo.year}", json={**body, "old_value": "0"}, headers=tokens["SUBJECT_TEACHER"]
    )
    assert stale.status_code == 409 and stale.json()["field"] == "old_value"
    filed = await api.post(f"{sheet}/corrections?year={demo.year}", json=body, headers=tokens["SUBJECT_TEACHER"])
    assert filed.status_code == 201, filed.text
    request = filed.json()["request"]
    inbox = await api.get(f"{V1}/schools/{demo.school}/corrections?status=pending", headers=tokens["LEADERSHIP"])
    assert request in [item["request_id"] for item in inbox.json()["items"]]
    decide = f"{V1}/schools/{demo.school}/corrections/{request}"
    empty = await api.post(f"{decide}/approve", json={"reason": ""}, headers=tokens["LEADERSHIP"])
    assert empty.status_code == 422  # a decision gives its reason
    approved = await api.post(f"{decide}/approve", json={"reason": "Đã xem bài"}, headers=tokens["LEADERSHIP"])
    assert (approved.status_code, approved.json()["appended"]) == (200, 2)
    again = await api.post(f"{decide}/reject", json={"reason": "Lại"}, headers=tokens["PRINCIPAL"])
    assert again.status_code == 409 and again.json()["code"] == "correction.approved"
    shown = (await api.get(decide, headers=tokens["AUDITOR"])).json()
    assert (shown["status"], shown["decided_by"], shown["requested_by"]) == (
        "approved",
        "pht.nguyenvanhung",
        "gv.toan02",
    )
    assert [v["value"] for v in shown["history"]] == [old, new]
    entry = await last_entry(app_engine, demo.school)
    assert entry["action"] == "correction_read" and entry["students"] == [student]
    transcript = (
        await api.get(
            f"{V1}/schools/{demo.school}/students/{student}/transcript?year={demo.year}", headers=tokens["PRINCIPAL"]
        )
    ).json()
    assert transcript["subjects"]["TOAN"]["corrections"] >= 1
    unknown = await api.get(f"{V1}/schools/{demo.school}/corrections/{uuid.uuid4()}", headers=tokens["AUDITOR"])
    assert unknown.status_code == 404


async def test_the_calendar_and_locks_over_http_dieu_33_3c_36_2(
    api: httpx.AsyncClient, demo: DemoSchool, tokens: Any
) -> None:
    from ledger.app.demo import CALENDAR_ORDER

    calendar = f"{V1}/schools/{demo.school}/calendar/{demo.year}"
    shown = (await api.get(calendar, headers=tokens["SUBJECT_TEACHER"])).json()
    assert shown["calendar"]["close"] == "2026-05-31T23:59:59.999999+07:00"
    same = await api.post(calendar, json={"order": CALENDAR_ORDER}, headers=tokens["PRINCIPAL"])
    assert (same.status_code, same.json()["appended"]) == (200, 0)
    bad = await api.post(
        calendar, json={"order": CALENDAR_ORDER, "final": "2026-05-01T00:00:00+07:00"}, headers=tokens["PRINCIPAL"]
    )
    assert bad.status_code == 422 and bad.json()["field"] == "close"
    assert (await api.get(f"{V1}/schools/{demo.school}/calendar/2030-2031", headers=tokens["CLERK"])).status_code == 404

    locks = f"{V1}/schools/{demo.school}/locks"
    order = {"year": demo.year, "class_id": "9A1", "order": "Quyết định số 30/QĐ-THCS", "ordered_by": "ht.doanthuy"}
    wrong = await api.post(
        locks, json={**order, "state": "closed", "ordered_by": "pht.nguyenvanhung"}, headers=tokens["ADMIN"]
    )
    assert wrong.status_code == 409 and wrong.json()["rule"] == "Điều 36.2"
    closed = await api.post(locks, json={**order, "state": "closed"}, headers=tokens["ADMIN"])
    assert closed.status_code == 200, closed.text
    held = (await api.get(calendar, headers=tokens["PRINCIPAL"])).json()["locks"]
    assert [(lock["class_id"], lock["state"]) for lock in held] == [("9A1", "closed")]
    assert held[0]["order_ref"] == {"text": "Quyết định số 30/QĐ-THCS", "by": "ht.doanthuy"}
    opened = await api.post(locks, json={**order, "state": "open"}, headers=tokens["ADMIN"])
    assert opened.status_code == 200
    held = (await api.get(calendar, headers=tokens["PRINCIPAL"])).json()["locks"]
    assert [(lock["class_id"], lock["state"]) for lock in held] == [("9A1", "open")]


async def test_reading_records_by_role(api: httpx.AsyncClient, demo: DemoSchool, tokens: Any) -> None:
    own, other = demo.rosters["6A1"][0], demo.rosters["6A1"][1]
    path = f"{V1}/schools/{demo.school}/students/{{}}/transcript?year={demo.year}"
    assert (await api.get(path.format(own), headers=tokens["GUARDIAN"])).status_code == 200
    assert (await api.get(path.format(other), headers=tokens["GUARDIAN"])).status_code == 403
    assert (await api.get(path.format(own), headers=tokens["ADMIN"])).status_code == 403  # Điều 5.3c
    assert (await api.get(path.format(own), headers=tokens["AUDITOR"])).status_code == 200
    assert (await api.get(path.format(own), headers=tokens["HOMEROOM_TEACHER"])).status_code == 200  # 6A1's homeroom
    seventh = demo.rosters["7A1"][0]
    assert (await api.get(path.format(seventh), headers=tokens["HOMEROOM_TEACHER"])).status_code == 403


async def test_evaluate_over_http_uses_the_public_contract(api: httpx.AsyncClient, tokens: Any) -> None:
    bad = {
        "grade": 7,
        "subjects": [{"code": "TOAN", "kind": "score", "periods_per_year": 140, "terms": {"1": {}, "2": {}}}],
    }
    answer = await api.post(f"{V1}/assessment/evaluate", json=bad, headers=tokens["SUBJECT_TEACHER"])
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["field"] == "subjects[0].terms.1.regular"
    assert problem["detail_vi"]


async def test_auditors_see_who_accessed_a_student_and_guardians_who_viewed_theirs(
    api: httpx.AsyncClient, demo: DemoSchool, tokens: Any
) -> None:
    student = demo.rosters["6A1"][0]
    await api.get(
        f"{V1}/schools/{demo.school}/students/{student}/transcript?year={demo.year}", headers=tokens["PRINCIPAL"]
    )
    audit = f"{V1}/schools/{demo.school}/audit/access"
    by_student = (await api.get(audit, params={"student": student}, headers=tokens["AUDITOR"])).json()["items"]
    assert any(i["username"] == "ht.doanthuy" and i["action"] == "student_transcript" for i in by_student)
    by_user = (await api.get(audit, params={"user": "ht.doanthuy", "limit": 2}, headers=tokens["AUDITOR"])).json()
    assert len(by_user["items"]) == 2 and by_user["next"]
    older = (
        await api.get(audit, params={"user": "ht.doanthuy", "cursor": by_user["next"]}, headers=tokens["AUDITOR"])
    ).json()
    assert all(i["entry"] < int(by_user["next"]) for i in older["items"])
    refused = (await api.get(audit, params={"outcome": "denied"}, headers=tokens["AUDITOR"])).json()["items"]
    assert refused and all(i["outcome"] == "denied" for i in refused)
    viewers = (
        await api.get(f"{V1}/schools/{demo.school}/students/{student}/viewers", headers=tokens["GUARDIAN"])
    ).json()
    assert any(v["username"] == "ht.doanthuy" for v in viewers["items"])
    assert (await api.get(audit, headers=tokens["PRINCIPAL"])).status_code == 200
    assert (await api.get(audit, headers=tokens["ADMIN"])).status_code == 403


async def test_the_access_trail_is_a_verifiable_chain(
    api: httpx.AsyncClient, demo: DemoSchool, tokens: Any, runtime: Runtime, auditor_engine: AsyncEngine
) -> None:

    await api.get(f"{V1}/me", headers=tokens["CLERK"])
    checkpoint = await runtime.checkpoint(demo.school, chain=ACCESS, clock=SystemClock())  # the trail's own time
    assert checkpoint is not None and checkpoint.log == "access"
    report = await verify(auditor_engine, runtime.trusted_roots(), [demo.school], chains=(ACCESS,))
    assert report.ok, report.to_json()
    assert report.schools[0].events >= 10


async def test_me_reports_roles_from_assignments(api: httpx.AsyncClient, tokens: Any) -> None:
    me = (await api.get(f"{V1}/me", headers=tokens["SUBJECT_TEACHER"])).json()
    roles = {g["role"] for g in me["grants"]}
    assert roles == {"SUBJECT_TEACHER", "HOMEROOM_TEACHER"}
    assert {g["subject"] for g in me["grants"] if g["role"] == "SUBJECT_TEACHER"} == {"TOAN"}


async def test_control_characters_in_a_request_cannot_make_its_record_unwritable(
    api: httpx.AsyncClient, demo: DemoSchool, tokens: Any, app_engine: AsyncEngine
) -> None:
    """Found by fuzzing: a NUL byte in the body's student ids reached the trail's text columns, the
    entry could not be written, and the request failed closed (503) instead of being refused."""
    body = {"entries": [{"student": "\u0000abc", "level": "Đạt"}]}
    answer = await api.post(
        f"{V1}/schools/{demo.school}/classes/6A1/summer-conduct?year={demo.year}",
        json=body,
        headers=tokens["PRINCIPAL"],
    )
    assert answer.status_code == 422
    nul_path = await api.get(
        f"{V1}/schools/{demo.school}/students/%00/transcript?year={demo.year}", headers=tokens["PRINCIPAL"]
    )
    assert nul_path.status_code in (404, 422)
    entry = await last_entry(app_engine, demo.school)
    assert "\u0000" not in entry["path"] and "\ufffd" in entry["path"]


async def test_cli_token_works_against_the_api(
    api: httpx.AsyncClient, demo: DemoSchool, env: dict[str, str], tokens: Any
) -> None:
    """`hocba token` mints a fresh token for the signed-in account only, and the API accepts it."""
    from tests.support.helpers import hocba, signed_in

    auditor = await signed_in(demo.ledger.engine, env, demo.school, "thanhtra.so", kind="AUDITOR")
    minted = hocba("token", "--school", demo.school, env=auditor)
    assert minted.returncode == 0, minted.stderr
    me = await api.get(f"{V1}/me", headers={"Authorization": f"Bearer {minted.stdout.strip()}"})
    assert me.status_code == 200
    assert (me.json()["kind"], me.json()["username"]) == ("AUDITOR", "thanhtra.so")
    nobody = hocba("token", "--school", demo.school, env=env)
    assert nobody.returncode == 2 and "hocba login" in nobody.stderr


async def test_certificate_login_with_a_signed_challenge_dieu_10_2(
    api: httpx.AsyncClient, demo: DemoSchool, tokens: Any, pki: Any, runtime: Runtime
) -> None:
    import base64

    from cryptography.hazmat.primitives.serialization import Encoding

    async def attempt(staff_id: str, username: str = "ht.doanthuy", tamper: bool = False) -> httpx.Response:
        holder = pki.issue_demo_personal(
            demo.school, staff_id, "Đoàn Thị Thủy", valid_from=runtime.clock.now() - timedelta(days=30)
        )
        challenge = (await api.post(f"{V1}/auth/challenge", json={"school": demo.school, "username": username})).json()[
            "challenge"
        ]
        signature = holder.sign(challenge.encode())
        if tamper:
            challenge = challenge.replace("hocba-login", "hocba-logon")
        return await api.post(
            f"{V1}/auth/certificate",
            json={
                "school": demo.school,
                "username": username,
                "challenge": challenge,
                "certificate": base64.b64encode(holder.certificate.public_bytes(Encoding.DER)).decode(),
                "signature": base64.b64encode(signature).decode(),
            },
        )

    accepted = await attempt("ht.doanthuy")
    assert accepted.status_code == 200, accepted.text
    me = await api.get(f"{V1}/me", headers={"Authorization": f"Bearer {accepted.json()['access_token']}"})
    assert me.json()["username"] == "ht.doanthuy"
    assert (await attempt("pht.nguyenvanhung")).status_code == 401  # someone else's certificate
    assert (await attempt("ht.doanthuy", tamper=True)).status_code == 401  # a challenge not issued by us


async def test_signing_over_http_prepare_sign_on_the_signer_side_submit_dieu_8_18(
    api: httpx.AsyncClient, demo: DemoSchool, tokens: Any, pki: Any, runtime: Runtime
) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    from signing.xml import verify as xml_verify
    from signing.xml import xades

    student = demo.rosters["6A1"][0]
    base = f"{V1}/schools/{demo.school}"
    holder = pki.issue_demo_personal(
        demo.school, "gv.toan02", "Gv Toán", valid_from=runtime.clock.now() - timedelta(days=30)
    )
    pem = holder.certificate.public_bytes(Encoding.PEM).decode()
    denied = await api.post(f"{base}/certificates", json={"certificate": pem}, headers=tokens["LEADERSHIP"])
    assert denied.status_code == 403
    registered = await api.post(f"{base}/certificates", json={"certificate": pem}, headers=tokens["PRINCIPAL"])
    assert registered.status_code == 201, registered.text
    listed = (await api.get(f"{base}/certificates", headers=tokens["AUDITOR"])).json()["items"]
    assert any(c["holder"] == "gv.toan02" and c["approved_by"] == "ht.doanthuy" for c in listed)

    prepare = f"{base}/students/{student}/signatures/prepare?year={demo.year}"
    not_mine = await api.post(prepare, json={"role": "HOMEROOM_TEACHER"}, headers=tokens["SUBJECT_TEACHER"])
    assert not_mine.status_code == 403 and not_mine.json()["code"] == "signature.role"
    prepared = await api.post(
        prepare, json={"role": "SUBJECT_TEACHER", "subject": "TOAN"}, headers=tokens["SUBJECT_TEACHER"]
    )
    assert prepared.status_code == 200, prepared.text
    assert prepared.json()["references"] == ["#subject-TOAN"]
    document = base64.b64decode(prepared.json()["document"])
    signed = xades.sign_prepared(document, holder.key, holder.certificate, signing_time=runtime.clock.now())
    body = {"document": base64.b64encode(signed).decode()}
    submitted = await api.post(
        f"{base}/students/{student}/signatures?year={demo.year}", json=body, headers=tokens["SUBJECT_TEACHER"]
    )
    assert submitted.status_code == 201, submitted.text
    assert (submitted.json()["role"], submitted.json()["parts"]) == ("SUBJECT_TEACHER", ["subject-TOAN"])
    again = await api.post(
        f"{base}/students/{student}/signatures?year={demo.year}", json=body, headers=tokens["SUBJECT_TEACHER"]
    )
    assert again.status_code == 409, again.text
    xml = await api.get(f"{base}/students/{student}/hocba.xml?year={demo.year}", headers=tokens["GUARDIAN"])
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml")
    [signature] = (await xml_verify.verify_xml(xml.content, pki.roots(), [pki.crl()])).signatures
    assert signature.ok and signature.staff_id == "gv.toan02"
