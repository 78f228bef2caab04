"""The Litestar application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, get
from litestar.datastructures import State
from litestar.response import Response
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE
from sqlalchemy import text

from ledger.jobs import build_scheduler
from ledger.runtime import Runtime


@get("/api/v1/health", operation_id="health", summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@get("/api/v1/ready", operation_id="ready", summary="Readiness: the database answers")
async def ready(state: State) -> Response[dict[str, str]]:
    runtime: Runtime = state.runtime
    try:
        async with runtime.engine().connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return Response({"status": "unavailable"}, status_code=HTTP_503_SERVICE_UNAVAILABLE)
    return Response({"status": "ready"})


def create_app(runtime: Runtime, *, scheduler: bool = True) -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        jobs = build_scheduler(runtime) if scheduler else None
        if jobs is not None:
            jobs.start()
        try:
            yield
        finally:
            if jobs is not None:
                jobs.shutdown(wait=False)
            await runtime.close()

    return Litestar(
        route_handlers=[health, ready],
        state=State({"runtime": runtime}),
        lifespan=[lifespan],
        logging_config=None,  # logging is configured once, in ledger.logs
    )
