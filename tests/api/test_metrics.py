"""`/metrics` in the Prometheus text format: the ledger, checkpoints, verification, alerts and the
refused-access rate per school; served to this machine or with the metrics token, never to others."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from ledger.app.demo import DemoSchool
from ledger.app.jobs import nightly_verification
from ledger.app.runtime import Runtime
from tests.support import helpers


@pytest.fixture
async def local(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A scraper on the service's own machine."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 9100))
    async with httpx.AsyncClient(transport=transport, base_url="http://hocba.test") as client:
        yield client


def sample(text: str, name: str, **labels: str) -> float:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    selector = rf"\{{{re.escape(inner)}\}}" if inner else ""
    found = re.search(rf"^{name}{selector} (\S+)$", text, re.MULTILINE)
    assert found, f"{name}{{{inner}}} is missing"
    return float(found.group(1))


async def test_metrics_describe_each_school_and_count_refused_access(
    local: httpx.AsyncClient,
    api: httpx.AsyncClient,
    demo: DemoSchool,
    runtime: Runtime,
    tokens: dict[str, dict[str, str]],
) -> None:
    await nightly_verification(runtime, [demo.school])
    before = sample(
        (await local.get("/metrics")).text, "hocba_access_requests_last_hour", outcome="denied", school=demo.school
    )
    denied = await api.get(f"/api/v1/schools/{demo.school}/issued", headers=tokens["SUBJECT_TEACHER"])
    assert denied.status_code == 403
    answer = await local.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = answer.text
    assert "# TYPE hocba_events gauge" in text
    assert sample(text, "hocba_events", school=demo.school) == await helpers.head(demo.ledger, demo.school)
    assert sample(text, "hocba_verification_ok", school=demo.school, log="events") == 1
    assert sample(text, "hocba_verification_timestamp_seconds", school=demo.school, log="events") > 1.7e9
    assert sample(text, "hocba_access_requests_last_hour", outcome="denied", school=demo.school) == before + 1
    assert demo.names[demo.rosters["6A1"][0]] not in text and demo.rosters["6A1"][0] not in text


async def test_metrics_are_refused_to_other_machines_without_the_token(
    api: httpx.AsyncClient, local: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = await api.get("/metrics")
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")
    relayed = await local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert relayed.status_code == 403  # a proxy on this machine relays the world, not this machine
    monkeypatch.setattr(runtime, "settings", replace(runtime.settings, metrics_token="mat-ma-giam-sat-0123456789"))
    assert (await api.get("/metrics", headers={"Authorization": "Bearer sai"})).status_code == 403
    allowed = await api.get("/metrics", headers={"Authorization": "Bearer mat-ma-giam-sat-0123456789"})
    assert allowed.status_code == 200 and "hocba_events" in allowed.text


async def test_backup_age_and_the_daily_backup_job_follow_the_configuration_dieu_20_4(
    local: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from ledger.app.jobs import build_scheduler

    assert "hocba_backup_age_seconds" not in (await local.get("/metrics")).text  # not configured
    assert "backup" not in {job.id for job in build_scheduler(runtime).get_jobs()}
    monkeypatch.setattr(runtime, "settings", replace(runtime.settings, backup_dirs=(tmp_path,)))
    assert sample((await local.get("/metrics")).text, "hocba_backup_age_seconds") == -1  # none yet
    made = runtime.clock.now().timestamp() - 3600
    manifest = {"created_at": datetime.fromtimestamp(made, UTC).isoformat(), "checkpoints": []}
    (tmp_path / "hocba-20260820T020000000000Z.json").write_text(json.dumps(manifest))
    assert abs(sample((await local.get("/metrics")).text, "hocba_backup_age_seconds") - 3600) < 5
    assert "backup" in {job.id for job in build_scheduler(runtime).get_jobs()}
