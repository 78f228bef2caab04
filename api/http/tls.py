"""What the service learns from the connection itself, under `hocba serve`.

uvicorn does not put the peer's certificate in the request scope (the ASGI TLS extension), and its
proxy-headers middleware replaces the scope's client address with the one X-Forwarded-For names
when the peer is a proxy it trusts. Its documented extension point is the HTTP protocol class
(`uvicorn.Config(http=…)`): this subclass of its h11 protocol wraps the application for each
connection, outside that middleware, and gives every request of the connection

- `scope["extensions"]["tls"]` with `client_cert_chain` (a list of PEM strings, the client's
  certificate first), when the TLS handshake verified a client certificate;
- `scope["hocba.peer"]`, the address of the machine that opened the connection (the proxy, behind
  one), which decides whether a proxy's X-SSL-Client-Cert header is believed (api.http.client_certs).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

PEER = "hocba.peer"  # scope key: the connection's peer address, before any X-Forwarded-For


class ConnectionApp:
    """The application as one connection sees it: each request's scope carries the connection's
    peer address and, over TLS with a verified client certificate, the ASGI TLS extension."""

    def __init__(self, app: Any, peer: tuple[str, int] | None, tls: dict[str, Any] | None) -> None:
        self.app = app
        self.peer = peer
        self.tls = tls

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") in ("http", "websocket"):
            scope = {**scope, PEER: self.peer}
            if self.tls is not None:
                scope["extensions"] = {**(scope.get("extensions") or {}), "tls": dict(self.tls)}
        await self.app(scope, receive, send)


# TLS protocol versions as the ASGI TLS extension numbers them
_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


def _client_certificate(transport: asyncio.Transport) -> dict[str, Any] | None:
    """The ASGI TLS extension for a connection whose handshake verified a client certificate."""
    ssl_object = transport.get_extra_info("ssl_object")
    if not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:  # no certificate offered (CERT_OPTIONAL): pages and API keys as usual
        return None
    return {
        "server_cert": None,
        "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)],
        "tls_version": _VERSIONS.get(ssl_object.version() or ""),
        "cipher_suite": None,  # its IANA number is not exposed by Python's ssl module; the spec allows None
    }


class ClientCertificateH11(H11Protocol):
    """uvicorn's h11 protocol, with the connection's peer and verified client certificate in each
    request's scope."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.app = ConnectionApp(self.app, self.client, _client_certificate(transport))
