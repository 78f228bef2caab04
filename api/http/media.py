"""OpenAPI for routes that answer or take bytes rather than JSON: the content types they use, so that
every content type the service speaks is documented (clients and schemathesis check against it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema

# What schools' software exports a gradebook as (ledger.school.imports.tables reads each).
SPREADSHEETS = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-excel",
    "text/csv",
    "text/tab-separated-values",
    "application/xml",
)
BINARY = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)


def documented(answers: tuple[str, ...] = (), takes: tuple[str, ...] = (), status: str = "200") -> type[Operation]:
    """An operation class whose success answer (`status`) is documented as each of `answers`, and
    whose request body, when it takes bytes, as each of `takes`."""

    @dataclass
    class BytesOperation(Operation):
        def __post_init__(self) -> None:
            success: Any = (self.responses or {}).get(status)
            if answers and success is not None:
                success.content = {kind: OpenAPIMediaType(schema=BINARY) for kind in answers}
            if takes:
                self.request_body = RequestBody(
                    content={kind: OpenAPIMediaType(schema=BINARY) for kind in takes}, required=True
                )

    return BytesOperation
