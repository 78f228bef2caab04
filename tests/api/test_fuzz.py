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


@pytest.fixture(scope="module")
async def fuzz_school(app_engine: Any, runtime: Any) -> str:
    """A school of its own, so that what the fuzzer writes touches nothing else."""
    from ledger.app.demo import build_demo_school
    from ledger.school.accounts.commands import create_account
    from ledger.school.rules.policy import AccountKind

    school = f"fz-{uuid.uuid4().hex[:8]}"
    await build_demo_school(app_engine, school, students_per_class=2, terms=(1,))
    for username in ("ht.doanthuy", "qt.tranvanminh"):
        await create_account(
            school_ledger(runtime.engine(), clock=runtime.clock),
            school,
            username,
            AccountKind.STAFF,
            password=PASSWORD,
            actor=SETUP,
        )
    return school


@pytest.fixture(scope="module")
def fuzz_headers(live_server: str, fuzz_school: str) -> dict[str, dict[str, str]]:
    """Tokens of the principal and the admin: between them, most routes let requests through."""
    headers = {}
    for role, username in (("PRINCIPAL", "ht.doanthuy"), ("ADMIN", "qt.tranvanminh")):
        login = httpx.post(
            f"{live_server}/api/v1/auth/token", json={"school": fuzz_school, "username": username, "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        headers[role] = {"Authorization": f"Bearer {login.json()['access_token']}"}
    return headers


@pytest.mark.slow
def test_no_server_errors_and_every_answer_is_documented(
    live_server: str, fuzz_school: str, fuzz_headers: dict[str, dict[str, str]]
) -> None:
    schema = schemathesis.openapi.from_url(f"{live_server}/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

    def fuzzer(operation: Any, headers: dict[str, str]) -> Any:
        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case: Any) -> None:
            if "school" in (case.path_parameters or {}):
                case.path_parameters["school"] = fuzz_school
            case.call_and_validate(base_url=live_server, headers=headers, checks=checks)

        return fuzz

    for operation in operations:
        admin_route = "/imports/" in operation.path or operation.path.endswith("/accounts")
        fuzzer(operation, fuzz_headers["ADMIN" if admin_route else "PRINCIPAL"])()
