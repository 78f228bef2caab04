"""The witness's HTTP service (c2sp.org/tlog-witness), run by `hocba witness serve` on its own database
and key: POST /add-checkpoint, GET /<SHA-256 of the origin in hex>/checkpoint (the latest it
cosigned), and GET /evidence (what it refused as a smaller or forked tree). Nothing is authenticated
but the checkpoint's signature; every answer is plain text, as the specification says, but the
evidence, which is JSON."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, Response, get, post
from litestar.datastructures import State

from ledger.witness.state import MAX_BODY, Witness


def _witness(state: State) -> Witness:
    witness: Witness = state.witness
    return witness


@post("/add-checkpoint", status_code=200)
async def add_checkpoint(request: Request[Any, Any, Any], state: State) -> Response[bytes]:
    body = await request.body()
    if len(body) > MAX_BODY:
        return Response(f"the request is larger than {MAX_BODY} bytes\n".encode(), status_code=400)
    answer = await _witness(state).add_checkpoint(body)
    return Response(answer.body, status_code=answer.status, media_type=answer.content_type)


@get("/{origin_hash:str}/checkpoint")
async def latest_checkpoint(origin_hash: str, state: State) -> Response[bytes]:
    note = await _witness(state).latest(origin_hash)
    if note is None:
        return Response(b"no checkpoint cosigned for this log\n", status_code=404, media_type="text/plain")
    return Response(note, media_type="text/plain; charset=utf-8")


@get("/evidence")
async def evidence(state: State) -> list[dict[str, Any]]:
    rows = await _witness(state).evidence()
    return [{**r, "received_at": r["received_at"].isoformat()} for r in rows]


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


def create_witness_app(witness: Witness) -> Litestar:
    return Litestar(
        route_handlers=[add_checkpoint, latest_checkpoint, evidence, health],
        state=State({"witness": witness}),
        openapi_config=None,
        logging_config=None,
    )
