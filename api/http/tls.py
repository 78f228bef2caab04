"""The service terminating TLS itself, with client certificates (`hocba serve --client-ca`).

uvicorn does not put the peer's certificate in the request scope (the ASGI TLS extension). Its
documented extension point is the HTTP protocol class (`uvicorn.Config(http=…)`): this subclass of
its h11 protocol reads the certificate the TLS handshake verified when the connection is made, and
gives every request of that connection `scope["extensions"]["tls"]` with `client_cert_chain` (a list
of PEM strings, the client's certificate first) by wrapping the application for that connection.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


class ClientCertificateApp:
    """The application as one TLS connection sees it: each request's scope carries the connection's
    client certificate under the ASGI TLS extension."""

    def __init__(self, app: Any, chain: list[str], version: int | None) -> None:
        self.app = app
        # the cipher suite's IANA number is not exposed by Python's ssl module: None, as the spec allows
        self.tls = {"server_cert": None, "client_cert_chain": chain, "tls_version": version, "cipher_suite": None}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") in ("http", "websocket"):
            scope = {**scope, "extensions": {**(scope.get("extensions") or {}), "tls": dict(self.tls)}}
        await self.app(scope, receive, send)


# TLS protocol versions as the ASGI TLS extension numbers them
_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


class ClientCertificateH11(H11Protocol):
    """uvicorn's h11 protocol, with the verified client certificate in each request's scope."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
            return
        der = ssl_object.getpeercert(binary_form=True)
        if not der:  # no certificate offered (CERT_OPTIONAL): pages and API keys as usual
            return
        version = _VERSIONS.get(ssl_object.version() or "")
        self.app = ClientCertificateApp(self.app, [ssl.DER_cert_to_PEM_cert(der)], version)
