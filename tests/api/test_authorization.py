"""Every route × every role against the table in tests/access_matrix.csv: deny by default, role ×
assignment × time (DOMAIN §2). A route missing from the table fails the test."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.app.demo import DemoSchool
from ledger.school.readmodels import school_ledger
from ledger.school.rules.policy import AccountKind, Grant, Principal, Target, allowed
from ledger.school.rules.roles import Role
from tests.support.helpers import SETUP

MATRIX = Path(__file__).with_name("access_matrix.csv")


def matrix() -> tuple[list[str], dict[str, dict[str, bool]]]:
    lines = [line for line in MATRIX.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    reader = csv.DictReader(lines)
    roles = [r for r in (reader.fieldnames or []) if r != "operation"]
    table = {row["operation"]: {role: row[role] == "Y" for role in roles} for row in reader}
    return roles, table


def operations(schema: dict[str, Any]) -> dict[str, tuple[str, str]]:
    found = {}
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            if path.startswith("/schema"):
                continue
            found[operation["operationId"]] = (method.upper(), path)
    return found


async def test_every_route_and_every_role_matches_the_table(
    api: httpx.AsyncClient, demo: DemoSchool, tokens: dict[str, dict[str, str]]
) -> None:
    roles, table = matrix()
    routes = operations((await api.get("/schema/openapi.json")).json())
    assert set(routes) == set(table), "every route needs a row in tests/access_matrix.csv"
    values = {
        "school": demo.school,
        "student": demo.rosters["6A1"][0],
        "class_id": "6A1",
        "subject": "TOAN",
        "term": "1",
        "period": "1",
        "kind": "staff",
        "year": demo.year,
        "request_id": "0b6c8a52-3f1e-4c57-9a43-1d2e5f6a7b8c",
        "fingerprint": "ab" * 32,
        "issuance": "kp-2025-2026-037311000001-1",
        "transfer": "kp-ct-037311000001-1",
        "username": "khong-co-tai-khoan-nay",
        "assignment": "5d0c7c4e-8a61-4f0e-9a55-0d8f3b1c2e7a",
    }
    mismatches = []
    for operation, (method, path) in sorted(routes.items()):
        url = path.format(**values)
        if "/schools/" in path:
            url += f"?year={demo.year}"
        for role in roles:
            headers = tokens.get(role, {})
            if operation == "auth_sign_out":  # signing out ends the token: a fresh one, not the shared one
                headers = await fresh_token(api, demo, role, headers)
            answer = await api.request(method, url, headers=headers, json={} if method == "POST" else None)
            let_through = answer.status_code not in (401, 403)
            if let_through != table[operation][role]:
                mismatches.append(f"{operation} as {role}: {answer.status_code}")
    assert mismatches == []


async def fresh_token(api: httpx.AsyncClient, demo: DemoSchool, role: str, headers: dict[str, str]) -> dict[str, str]:
    from tests.conftest import ROLE_ACCOUNTS
    from tests.support.helpers import PASSWORD

    if not headers.get("Authorization", "").startswith("Bearer"):
        return headers
    username = ROLE_ACCOUNTS[role][0]
    answer = await api.post(
        "/api/v1/auth/token", json={"school": demo.school, "username": username, "password": PASSWORD}
    )
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_an_action_without_a_rule_is_denied_to_everyone() -> None:
    everyone = Principal("ht", "kp", AccountKind.STAFF, tuple(Grant(role) for role in Role))
    assert not allowed("grades.delete_everything", everyone, Target())


@pytest.mark.parametrize(
    ("grant", "target", "expected"),
    [
        (Grant(Role.SUBJECT_TEACHER, "2025-2026", "6A1", "TOAN", 1), Target("2025-2026", "6A1", "TOAN", 1), True),
        (Grant(Role.SUBJECT_TEACHER, "2025-2026", "6A1", "TOAN", 1), Target("2025-2026", "6A1", "TOAN", 2), False),
        (Grant(Role.SUBJECT_TEACHER, "2025-2026", "6A1", "TOAN", 1), Target("2025-2026", "6A2", "TOAN", 1), False),
        (Grant(Role.SUBJECT_TEACHER, "2024-2025", "6A1", "TOAN", 1), Target("2025-2026", "6A1", "TOAN", 1), False),
        (Grant(Role.HOMEROOM_TEACHER, "2025-2026", "6A1"), Target("2025-2026", "6A1", "TOAN", 1), False),
        (Grant(Role.PRINCIPAL), Target("2025-2026", "6A1", "TOAN", 1), False),  # not without teaching it
    ],
)
def test_sheet_entry_needs_the_assignment_for_that_class_subject_and_term(
    grant: Grant, target: Target, expected: bool
) -> None:
    assert allowed("sheet.write", Principal("gv", "kp", AccountKind.STAFF, (grant,)), target) is expected


async def test_an_assignment_that_ended_no_longer_grants(
    api: httpx.AsyncClient, demo: DemoSchool, tokens: Any, runtime: Any
) -> None:
    """Role × assignment × time: the same account loses the right when its assignment ends."""
    from ledger.app.demo import PRINCIPAL
    from ledger.log.projection import read
    from ledger.school.accounts.commands import create_account
    from ledger.school.years.commands import end_assignment, make_assignments
    from ledger.school.years.model import Assignment
    from ledger.school.years.tables import assignments

    ledger = school_ledger(runtime.engine(), clock=runtime.clock)
    staff = "gv.tinhoc08"
    await make_assignments(ledger, demo.school, PRINCIPAL, [Assignment(staff, Role.LEADERSHIP, date(2025, 9, 1))])
    await create_account(
        school_ledger(runtime.engine(), clock=runtime.clock),
        demo.school,
        staff,
        AccountKind.STAFF,
        password="mat-khau-thu-nghiem",
        actor=SETUP,
    )
    login = await api.post(
        "/api/v1/auth/token", json={"school": demo.school, "username": staff, "password": "mat-khau-thu-nghiem"}
    )
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    # what leadership alone reads (not the clerk's reading, which other tests grant this account)
    summary = f"/api/v1/schools/{demo.school}/corrections"
    assert (await api.get(summary, headers=headers)).status_code == 200
    async with runtime.engine().connect() as conn:
        [grant] = await read(conn, assignments, demo.school, staff_id=staff, role="LEADERSHIP")
    await end_assignment(ledger, demo.school, PRINCIPAL, grant["assignment_id"], date(2025, 12, 31))
    assert (await api.get(summary, headers=headers)).status_code == 403


async def test_a_subject_named_in_the_path_by_its_name_is_its_code_for_the_policy_and_the_route(
    api: httpx.AsyncClient, demo: DemoSchool, tokens: Any
) -> None:
    """One resolver for the CLI, the API and the pages (ledger.school.rules.names): "Toán", "toán" and
    "TOAN" are one subject, "HK I" and "1" one term, "7a1" the class 7A1; the policy decides on the code, so the teacher of Toán may read it by name
    and not Khoa học tự nhiên; an unknown name is refused naming the subjects of the year."""
    base = f"/api/v1/schools/{demo.school}/classes/7A1/sheets"
    teacher = tokens["SUBJECT_TEACHER"]
    by_code = await api.get(f"{base}/TOAN/1?year={demo.year}", headers=teacher)
    assert by_code.status_code == 200
    for name, term in (("Toán", "1"), ("toán", "HK I"), ("to%C3%A1n", "Học kì 1"), ("TOAN", "I")):
        by_name = await api.get(f"{base}/{name}/{term}?year={demo.year}", headers=teacher)
        assert by_name.status_code == 200, by_name.text
        assert by_name.json() == by_code.json() and by_name.json()["subject"] == "TOAN"
    body = {"entries": [{"student": demo.rosters["7A1"][0], "kind": "final", "value": "9"}]}
    for other in ("KHTN", "Khoa học tự nhiên"):
        written = await api.post(f"{base}/{other}/1?year={demo.year}", json=body, headers=teacher)
        assert written.status_code == 403, other  # not the teacher's subject, by code or by name
    unknown = await api.get(f"{base}/Toán học/1?year={demo.year}", headers=teacher)
    assert unknown.status_code == 404 and unknown.json()["code"] == "subject.unknown"
    assert "Toán (TOAN)" in unknown.json()["detail_vi"]
    lower = await api.get(f"/api/v1/schools/{demo.school}/classes/7a1/sheets/Toán/II?year={demo.year}", headers=teacher)
    assert lower.status_code == 200 and (lower.json()["class"], lower.json()["term"]) == ("7A1", 2)
    no_term = await api.get(f"{base}/Toán/HK III?year={demo.year}", headers=teacher)
    assert no_term.status_code == 422 and no_term.json()["code"] == "term.invalid"
