"""uvicorn with api.http.tls's protocol puts the client certificate the TLS handshake verified in each
request's scope (the ASGI TLS extension), and nothing when the client presents none; real TLS on
loopback, a real uvicorn server."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography import x509

from api.http.tls import PEER, ClientCertificateH11
from signing.x509.pki import Pki
from tests.support.helpers import free_port
from tests.support.tls import ServerTls, server_certificate, write_pair


async def echo_tls(scope: Any, receive: Any, send: Any) -> None:
    """An application that answers with the scope's TLS extension (the peer and client addresses in
    headers)."""
    if scope["type"] != "http":
        return
    tls = (scope.get("extensions") or {}).get("tls")
    body = json.dumps(tls).encode()
    addresses = [(b"x-peer", scope[PEER][0].encode()), (b"x-client", scope["client"][0].encode())]
    headers = [(b"content-type", b"application/json"), *addresses]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def served(tmp_path: Path, pki: Pki) -> Iterator[tuple[str, ServerTls]]:
    tls = server_certificate(tmp_path / "server")
    port = free_port()
    config = uvicorn.Config(
        echo_tls,
        host="127.0.0.1",
        port=port,
        ssl_certfile=str(tls.cert),
        ssl_keyfile=str(tls.key),
        ssl_ca_certs=str(pki.root_path),
        ssl_cert_reqs=ssl.CERT_OPTIONAL,
        http=ClientCertificateH11,
        log_config=None,
        lifespan="off",
        forwarded_allow_ips="127.0.0.1",  # uvicorn believes X-Forwarded-For from loopback, as by default
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"https://127.0.0.1:{port}", tls
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def test_the_verified_client_certificate_is_in_the_scope(
    served: tuple[str, ServerTls], pki: Pki, tmp_path: Path
) -> None:
    base, tls = served
    holder = pki.issue_demo_client("kp", "so-gddt", valid_from=datetime(2026, 1, 1, tzinfo=UTC))
    pair = write_pair(tmp_path / "client", "so-gddt", holder)
    with tls.client(base, pair) as client:
        first, second = client.get("/").json(), client.get("/again").json()  # two requests, one connection
    for seen in (first, second):
        (pem,) = seen["client_cert_chain"]
        assert x509.load_pem_x509_certificate(pem.encode()) == holder.certificate
        assert seen["tls_version"] in (0x0303, 0x0304) and seen["server_cert"] is None
    with tls.client(base) as anonymous:
        assert anonymous.get("/").json() is None  # no certificate offered: no TLS extension claimed


def test_the_peer_is_kept_when_uvicorn_applies_x_forwarded_for(served: tuple[str, ServerTls]) -> None:
    """Behind a proxy on loopback, uvicorn makes the scope's client the address X-Forwarded-For names;
    the peer that opened the connection (the proxy) is kept beside it, for the trusted-proxy check."""
    base, tls = served
    with tls.client(base) as client:
        answer = client.get("/", headers={"X-Forwarded-For": "203.0.113.9"})
    assert (answer.headers["x-client"], answer.headers["x-peer"]) == ("203.0.113.9", "127.0.0.1")


def test_a_client_certificate_of_another_ca_fails_the_handshake(served: tuple[str, ServerTls], tmp_path: Path) -> None:
    """The handshake verifies the certificate against --client-ca: one the CA did not issue never
    reaches the application."""
    base, tls = served
    stranger = Pki(tmp_path / "other-pki")
    stranger.init_demo()
    pair = write_pair(tmp_path / "client", "stranger", stranger.issue_demo_client("kp", "so-gddt"))
    with tls.client(base, pair) as client, pytest.raises(httpx.TransportError):
        client.get("/")
