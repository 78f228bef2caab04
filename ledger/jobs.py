"""Scheduled jobs. APScheduler runs inside every service process; a PostgreSQL advisory lock makes
sure that, with several processes, each run of a job happens in one of them only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.checkpointing import checkpoint_all
from ledger.clock import VN_TZ
from ledger.logs import get_logger
from ledger.runtime import Runtime
from ledger.schema import ACCESS, EVENTS

log = get_logger(__name__)


async def run_exclusive(engine: AsyncEngine, name: str, job: Callable[[], Awaitable[object]]) -> bool:
    """Run `job` unless another process holds the job's lock; True when it ran here."""
    key = {"key": f"job:{name}"}
    async with engine.connect() as conn:
        if not await conn.scalar(text("SELECT pg_try_advisory_lock(hashtextextended(:key, 0))"), key):
            return False
        try:
            await job()
        except Exception:
            log.exception("scheduled job failed", job=name)
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(hashtextextended(:key, 0))"), key)
    return True


def build_scheduler(runtime: Runtime) -> AsyncIOScheduler:
    from audit import rules
    from audit.trail import AccessTrail

    scheduler = AsyncIOScheduler(timezone=VN_TZ)
    engine = runtime.engine()
    trail = AccessTrail(engine, clock=runtime.clock)

    async def checkpoints() -> None:
        async def both() -> None:
            for chain in (EVENTS, ACCESS):
                await checkpoint_all(engine, runtime.signer, runtime.clock, chain)

        await run_exclusive(engine, "checkpoint", both)

    async def unusual_access() -> None:
        await run_exclusive(engine, "unusual-access", lambda: rules.scan(engine, trail, runtime.clock.now()))

    every = {"max_instances": 1, "coalesce": True}
    scheduler.add_job(checkpoints, "interval", seconds=runtime.settings.checkpoint_interval, id="checkpoint", **every)
    scheduler.add_job(unusual_access, "interval", seconds=60, id="unusual-access", **every)
    return scheduler
