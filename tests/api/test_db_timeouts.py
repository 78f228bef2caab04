"""A stuck database gives 503 with Retry-After, never a hang: the service's engines wait a bounded
time to connect, for a statement, for a lock and for a free connection (ledger.app.db.Timeouts), and
liveness answers meanwhile."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from api.app import create_app
from api.http.problems import database_status
from ledger.app.db import APP_ROLE, Timeouts, create_engine, timeouts_of
from ledger.app.demo import DemoSchool
from ledger.app.runtime import Runtime
from ledger.base.clock import VN_TZ, ManualClock
from ledger.base.settings import Settings, SettingsError, load_settings
from tests.support.helpers import PASSWORD, database_url_of

V1 = "/api/v1"


@pytest.fixture
async def hurried(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The service with one-second statement and lock limits."""
    quick = replace(settings, db_statement_timeout=1, db_lock_timeout=1, db_pool_timeout=1)
    runtime = Runtime(quick, database_url_of(quick), ManualClock(datetime(2026, 8, 20, 10, tzinfo=VN_TZ)))
    app: Any = create_app(runtime, scheduler=False)
    transport = httpx.ASGITransport(app=app, client=("10.51.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hocba.test") as client:
        yield client
    await runtime.close()


async def test_a_locked_table_answers_503_with_retry_after_and_health_still_answers(
    hurried: httpx.AsyncClient, superuser: psycopg.Connection[Any], demo: DemoSchool
) -> None:
    login = {"school": demo.school, "username": "khong.ai.ca", "password": PASSWORD}
    with superuser.transaction():
        superuser.execute("LOCK TABLE hocba.accounts IN ACCESS EXCLUSIVE MODE")  # a stuck migration, say
        began = time.monotonic()
        stuck = asyncio.ensure_future(hurried.post(f"{V1}/auth/token", json=login))
        await asyncio.sleep(0.2)
        health = await hurried.get(f"{V1}/health")
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        assert time.monotonic() - began < 1.0
        answer = await asyncio.wait_for(stuck, timeout=10)
        waited = time.monotonic() - began
        form = {"school": demo.school, "username": "khong.ai.ca", "password": PASSWORD}
        page = await asyncio.wait_for(hurried.post("/dang-nhap", data=form), timeout=10)
    assert page.status_code == 503 and int(page.headers["retry-after"]) > 0
    assert answer.status_code == 503, answer.text
    assert int(answer.headers["retry-after"]) > 0
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert 0.9 < waited < 5


async def test_a_statement_that_runs_too_long_is_cut_short(database_url: str) -> None:
    engine = create_engine(database_url, APP_ROLE, Timeouts(statement=0.5))
    try:
        async with engine.connect() as conn:
            with pytest.raises(OperationalError) as cut:
                await conn.execute(text("SELECT pg_sleep(5)"))
    finally:
        await engine.dispose()
    assert isinstance(cut.value.orig, psycopg.errors.QueryCanceled)
    assert database_status(cut.value) == 503


async def test_waiting_too_long_for_a_free_connection_is_503(database_url: str) -> None:
    engine = create_engine(database_url, APP_ROLE, Timeouts(pool=0.5), pool_size=1, max_overflow=0)
    try:
        async with engine.connect():
            with pytest.raises(PoolTimeout) as waited:
                async with engine.connect():
                    pass
    finally:
        await engine.dispose()
    assert database_status(waited.value) == 503


async def test_the_timeouts_come_from_the_settings(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("HOCBA_DB_STATEMENT_TIMEOUT", "1.5")
    monkeypatch.setenv("HOCBA_DB_LOCK_TIMEOUT", "2")
    loaded = load_settings()
    assert timeouts_of(loaded) == Timeouts(connect=10, statement=1.5, lock=2, pool=10)
    monkeypatch.setenv("HOCBA_DB_POOL_TIMEOUT", "soon")
    with pytest.raises(SettingsError, match="HOCBA_DB_POOL_TIMEOUT"):
        load_settings()
    runtime = Runtime(replace(settings, db_statement_timeout=1.5, db_lock_timeout=2), database_url_of(settings))
    try:
        async with runtime.engine().connect() as conn:
            shown = [await conn.scalar(text(f"SHOW {name}")) for name in ("statement_timeout", "lock_timeout")]
    finally:
        await runtime.close()
    assert shown == ["1500ms", "2s"]
