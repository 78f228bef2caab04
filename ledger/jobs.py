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
    scheduler = AsyncIOScheduler(timezone=VN_TZ)
    engine = runtime.engine()

    async def checkpoints() -> None:
        await run_exclusive(engine, "checkpoint", lambda: checkpoint_all(engine, runtime.signer, runtime.clock))

    scheduler.add_job(
        checkpoints,
        "interval",
        seconds=runtime.settings.checkpoint_interval,
        id="checkpoint",
        max_instances=1,
        coalesce=True,
    )
    return scheduler
