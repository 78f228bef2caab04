"""Property-based fuzzing of the running service from its own OpenAPI schema (schemathesis): no
answer is a server error, and every answer has a documented status, content type and shape."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ledger.school.readmodels import school_ledger
from tests.support.helpers import PASSWORD, SETUP, free_port


@pytest.fixture(scope="module")
def live_server(database_url: str, home: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "HOCBA_HOME": str(home), "HOCBA_LOG_FORMAT": "json"}
    script = Path(sys.executable).with_name("hocba")
    process = subprocess.Popen(
        [str(script), "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/api/v1/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


FUZZ_ACCOUNTS = {  # role: (username, account kind)
    "PRINCIPAL": ("ht.doanthuy", "STAFF"),
    "ADMIN": ("qt.tranvanminh", "STAFF"),
    "SUBJECT_TEACHER": ("gv.toan02", "STAFF"),
    "AUDITOR": ("thanhtra.fuzz", "AUDITOR"),
    "INTEGRATION": ("so-gddt-fuzz", "INTEGRATION"),
}


@pytest.fixture(scope="module")
async def fuzz_school(app_engine: Any, runtime: Any) -> tuple[str, str]:
    """A school of its own, so that what the fuzzer writes touches nothing else; its accounts, and
    the integration client's API key."""
    from ledger.app.demo import build_demo_school
    from ledger.school.accounts.commands import create_account
    from ledger.school.rules.policy import AccountKind

    school = f"fz-{uuid.uuid4().hex[:8]}"
    await build_demo_school(app_engine, school, students_per_class=2, terms=(1,))
    key = ""
    for username, kind in FUZZ_ACCOUNTS.values():
        made = await create_account(
            school_ledger(runtime.engine(), clock=runtime.clock),
            school,
            username,
            AccountKind(kind),
            password=None if kind == "INTEGRATION" else PASSWORD,
            actor=SETUP,
        )
        key = made.api_key or key
    return school, key


@pytest.fixture(scope="module")
def fuzz_headers(live_server: str, fuzz_school: tuple[str, str]) -> dict[str, dict[str, str]]:
    """Credentials of the principal, the admin, a teacher, an auditor and the Sở's integration client."""
    school, key = fuzz_school
    headers = {"INTEGRATION": {"Authorization": f"ApiKey {key}"}}
    for role, (username, kind) in FUZZ_ACCOUNTS.items():
        if kind == "INTEGRATION":
            continue
        login = httpx.post(
            f"{live_server}/api/v1/auth/token", json={"school": school, "username": username, "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        headers[role] = {"Authorization": f"Bearer {login.json()['access_token']}"}
    return headers


@pytest.mark.slow
def test_no_server_errors_and_every_answer_is_documented(
    live_server: str, fuzz_school: tuple[str, str], fuzz_headers: dict[str, dict[str, str]]
) -> None:
    """Every operation as the role that may use it (the principal, or the admin for its routes) with
    15 examples, and as a teacher, an auditor and the integration client with 4 each: what they may
    not do must be refused as documented, never answered with a server error."""
    school = fuzz_school[0]
    schema = schemathesis.openapi.from_url(f"{live_server}/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

    def fuzzer(operation: Any, headers: dict[str, str], examples: int) -> Any:
        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case: Any) -> None:
            if "school" in (case.path_parameters or {}):
                case.path_parameters["school"] = school
            case.call_and_validate(base_url=live_server, headers=headers, checks=checks)

        return fuzz

    for operation in operations:
        admin_route = "/imports/" in operation.path or operation.path.endswith("/accounts")
        fuzzer(operation, fuzz_headers["ADMIN" if admin_route else "PRINCIPAL"], 15)()
        for role in ("SUBJECT_TEACHER", "AUDITOR", "INTEGRATION"):
            fuzzer(operation, fuzz_headers[role], 4)()
