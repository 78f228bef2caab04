"""The access trail at the edge: every request, including one that matches no route, leaves exactly
one access entry before its response starts (fail closed)."""

from __future__ import annotations

import uuid
from typing import Any, cast

import msgspec
from litestar.types import Message, Receive, Scope, Send

from api.http.problems import PROBLEM, Problem, vietnamese
from api.http.scope import ACCESS
from audit.trail import AccessEntry
from ledger.app.runtime import Runtime
from ledger.base.logs import get_logger

log = get_logger(__name__)


class Service:
    """The ASGI application served: the Litestar app, wrapped so that every request, including one
    that matches no route, leaves exactly one access entry before its response starts. (Litestar's
    own middleware runs only for requests that reach a route.)"""

    def __init__(self, app: Any) -> None:
        self.app = app

    @property
    def state(self) -> Any:
        return self.app.state

    async def __call__(self, asgi_scope: Scope, receive: Receive, send: Send) -> None:
        scope = cast(dict[str, Any], asgi_scope)
        if scope["type"] != "http":
            await self.app(asgi_scope, receive, send)
            return
        runtime: Runtime = self.state.runtime
        client = scope.get("client")
        entry = AccessEntry(
            request_id=str(uuid.uuid4()),
            method=scope["method"],
            path=scope["path"],
            client=client[0] if client else None,
            started=runtime.clock.now(),
        )
        scope[ACCESS] = entry
        state = {"replaced": False, "started": False}

        async def send_recorded(message: Message) -> None:
            if message["type"] == "http.response.start" and not state["started"]:
                state["started"] = True
                try:
                    await self.state.trail.record(entry, message["status"])
                except Exception:
                    # Fail closed: without its access entry, the request does not succeed.
                    log.exception("access entry not written; answering 503", request_id=entry.request_id)
                    state["replaced"] = True
                    await _send_unavailable(send, entry.request_id)
                    return
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", entry.request_id.encode()))
                message = cast(Message, {**message, "headers": headers})
            if state["replaced"]:
                return
            await send(message)

        await self.app(asgi_scope, receive, send_recorded)


async def _send_unavailable(send: Send, request_id: str) -> None:
    body = msgspec.json.encode(
        Problem(
            title="Service unavailable",
            status=503,
            detail="the access trail could not be written; nothing is returned without it; retry",
            detail_vi=vietnamese(503),
            request_id=request_id,
        )
    )
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", PROBLEM.encode()),
                (b"retry-after", b"5"),
                (b"x-request-id", request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
