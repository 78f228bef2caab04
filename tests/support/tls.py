"""TLS on loopback for the tests: a server certificate for 127.0.0.1, `hocba serve` with TLS and
client certificates in a process of its own, and an integration client's certificate and key files."""

from __future__ import annotations

import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from signing.x509.keys import KeySigner
from tests.support.helpers import free_port


@dataclass(frozen=True)
class ServerTls:
    cert: Path
    key: Path

    def client(self, base_url: str, client: tuple[Path, Path] | None = None) -> httpx.Client:
        """An HTTPS client that trusts this server certificate, presenting `client` (cert, key) if given."""
        context = ssl.create_default_context(cafile=str(self.cert))
        if client is not None:
            context.load_cert_chain(str(client[0]), str(client[1]))
        return httpx.Client(base_url=base_url, verify=context, timeout=30)


def server_certificate(directory: Path) -> ServerTls:
    """A self-signed TLS server certificate for 127.0.0.1 (the client trusts it as it is)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    return ServerTls(*write_pair(directory, "server", KeySigner(key, cert)))


def write_pair(directory: Path, name: str, holder: KeySigner[ec.EllipticCurvePrivateKey]) -> tuple[Path, Path]:
    """Write a certificate and its key as PEM files, as a TLS client or server reads them."""
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key.pem"
    cert_path.write_bytes(holder.certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        holder.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@contextmanager
def tls_service(env: dict[str, str], server: ServerTls, client_ca: Path) -> Iterator[str]:
    """`hocba serve` with TLS and client certificates verified against `client_ca`, in a process of
    its own; yields its https base URL."""
    tls = ["--tls-cert", str(server.cert), "--tls-key", str(server.key), "--client-ca", str(client_ca)]
    with served(env, tls, lambda base: server.client(base), "https") as base:
        yield base


@contextmanager
def plain_service(env: dict[str, str]) -> Iterator[str]:
    """`hocba serve` over plain HTTP on loopback, as it runs behind a TLS-terminating proxy."""
    with served(env, [], lambda base: httpx.Client(base_url=base, timeout=30), "http") as base:
        yield base


@contextmanager
def served(
    env: dict[str, str], options: list[str], client: Callable[[str], httpx.Client], scheme: str
) -> Iterator[str]:
    port = free_port()
    script = Path(sys.executable).with_name("hocba")
    process = subprocess.Popen(
        [str(script), "serve", "--port", str(port), *options], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"{scheme}://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        with client(base) as probe:
            while True:
                try:
                    probe.get("/api/v1/health")
                    break
                except httpx.TransportError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        output = process.stdout.read().decode() if process.stdout else ""
                        pytest.fail(f"hocba serve did not come up:\n{output}")
                    time.sleep(0.2)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
