"""Liveness and readiness."""

from __future__ import annotations

from litestar import Response, get
from litestar.datastructures import State
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE
from sqlalchemy import text

from api.http.scope import PUBLIC, runtime_of
from api.v1.params import V1


@get(f"{V1}/health", operation_id="health", opt={"action": PUBLIC}, summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    # Asks nothing of the database (its access entry is written, as every request's is, within the
    # engine's timeouts), so that a stuck query elsewhere does not make the process look dead.
    return {"status": "ok"}


@get(f"{V1}/ready", operation_id="ready", opt={"action": PUBLIC}, summary="Readiness: the database answers")
async def ready(state: State) -> Response[dict[str, str]]:
    try:
        async with runtime_of(state).engine().connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:  # within the engine's timeouts: a stuck database answers here, it does not hang
        return Response(
            {"status": "unavailable"}, status_code=HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "5"}
        )
    return Response({"status": "ready"})
