"""Scheduled jobs: checkpoints on a schedule, never run twice at once across processes."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger import store
from ledger.append import Ledger
from ledger.jobs import build_scheduler, run_exclusive
from ledger.runtime import Runtime
from tests.helpers import noted


async def test_a_job_held_elsewhere_does_not_run_here(app_engine: AsyncEngine) -> None:
    runs: list[int] = []

    async def job() -> None:
        runs.append(1)

    async with app_engine.connect() as other_process:
        await other_process.execute(text("SELECT pg_advisory_lock(hashtextextended('job:demo', 0))"))
        assert await run_exclusive(app_engine, "demo", job) is False
        await other_process.execute(text("SELECT pg_advisory_unlock(hashtextextended('job:demo', 0))"))
    assert await run_exclusive(app_engine, "demo", job) is True
    assert runs == [1]


async def test_scheduler_signs_checkpoints_for_schools_with_new_events(
    ledger: Ledger, runtime: Runtime, school: str
) -> None:
    await ledger.append(school, noted(3))
    fast = Runtime(replace(runtime.settings, checkpoint_interval=1), runtime.url, runtime.clock)
    scheduler = build_scheduler(fast)
    scheduler.start()
    try:
        for _ in range(50):
            await asyncio.sleep(0.2)
            async with ledger.engine.connect() as conn:
                latest = await store.latest_checkpoint(conn, school)
            if latest is not None:
                break
    finally:
        scheduler.shutdown(wait=False)
        await fast.close()
    assert latest is not None
    assert latest.checkpoint.tree_size == 3
