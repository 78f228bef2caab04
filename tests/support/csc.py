"""A licensed CA's remote-signing service for the tests: certomancer's CSC test server on a free
loopback port, holding keys whose certificates the school's demo root issues. Given PINs, it asks
each credential's authorisation (`credentials/authorize`) for its PIN, as a service with explicit
authorisation does, and refuses a wrong one; every authorisation asked is counted."""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from signing.x509.pki import Pki


@dataclass(frozen=True)
class Holder:
    """One key at the service: its label (the credential is `school/<label>`), the subjectAltName URI
    binding it to a staff member or the school's organisation, and the certificate's common name."""

    label: str
    uri: str
    name: str


@dataclass
class CscService:
    url: str
    authorisations: list[dict[str, Any]] = field(default_factory=list)  # each authorize request's body

    def credential(self, holder: Holder) -> str:
        return f"school/{holder.label}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def certomancer_config(pki: Pki, directory: Path, holders: list[Holder]) -> Path:
    """certomancer's description of the service's keys: each holder's key, its certificate issued by
    the demo root (the root's key and certificate as the demo PKI has them)."""
    root = pki.roots()[0]

    def attribute(oid: Any) -> str:
        return str(root.subject.get_attributes_for_oid(oid)[0].value)

    for holder in holders:
        key = ec.generate_private_key(ec.SECP256R1())
        (directory / f"{holder.label}.key.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    shutil.copy(pki.root_key_path, directory / "root.key.pem")
    # the root alone (the trust list's first certificate): certomancer takes one certificate per file
    (directory / "root.pem").write_bytes(root.public_bytes(serialization.Encoding.PEM))
    keys = "".join(f"      {h.label}: {{path: {h.label}.key.pem}}\n" for h in holders)
    entities = "".join(
        f'      {h.label}:\n        country-name: VN\n        organization-name: "remote signing"\n'
        f'        common-name: "{h.name}"\n'
        for h in holders
    )
    certs = "".join(
        f"""      {h.label}:
        subject: {h.label}
        issuer: root
        validity: {{valid-from: "2025-01-01T00:00:00+0000", valid-to: "2029-01-01T00:00:00+0000"}}
        extensions:
          - id: key_usage
            critical: true
            smart-value: {{schema: key-usage, params: [digital_signature, non_repudiation]}}
          - id: subject_alt_name
            smart-value:
              schema: general-names
              params: [{{type: uri, value: "{h.uri}"}}]
"""
        for h in holders
    )
    (directory / "certomancer.yml").write_text(
        f"""
external-url-prefix: "http://csc.hocba-test.invalid"
keysets:
  school:
    path-prefix: "{directory}"
    keys:
      root: {{path: root.key.pem}}
{keys}pki-architectures:
  school:
    keyset: school
    entities:
      root:
        country-name: VN
        organization-name: "{attribute(NameOID.ORGANIZATION_NAME)}"
        common-name: "{attribute(NameOID.COMMON_NAME)}"
{entities}    certs:
      root:
        certificate-file: "{directory / "root.pem"}"
        subject: root
        issuer: root
        validity: {{valid-from: "2020-01-01T00:00:00+0000", valid-to: "2045-01-01T00:00:00+0000"}}
{certs}""",
        encoding="utf-8",
    )
    return directory / "certomancer.yml"


@asynccontextmanager
async def csc_service(
    pki: Pki, directory: Path, holders: list[Holder], pins: Mapping[str, str] | None = None
) -> AsyncIterator[CscService]:
    """The service on loopback; with `pins` (credential → PIN) an authorisation without the right PIN
    is refused with the CSC API's error, before the test server sees it."""
    from aiohttp import web
    from certomancer import registry
    from csc_dummy.csc_dummy_server import CSCWithCertomancer, DummyServiceParams

    config = registry.CertomancerConfig.from_file(str(certomancer_config(pki, directory, holders)))
    service = CSCWithCertomancer(config, service_params=DummyServiceParams(multisign=50))
    found = CscService("")

    @web.middleware
    async def explicit_authorisation(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path.endswith("/credentials/authorize"):
            body = await request.json()
            found.authorisations.append(body)
            if pins is not None and body.get("PIN") != pins.get(body.get("credentialID", "")):
                error = {"error": "invalid_pin", "error_description": "The PIN is invalid"}
                return web.Response(status=400, text=json.dumps(error), content_type="application/json")
        return await handler(request)

    service.app.middlewares.append(explicit_authorisation)
    service.register_routes()
    runner = web.AppRunner(service.app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    found.url = f"http://127.0.0.1:{port}"
    try:
        yield found
    finally:
        await runner.cleanup()


async def certificate_at(service: CscService, holder: Holder) -> x509.Certificate:
    from signing.x509.csc import CscKey

    async with CscKey(service.url, service.credential(holder)) as remote:
        return remote.certificate
