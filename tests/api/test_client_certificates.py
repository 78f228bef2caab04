"""Integration clients (the Sở's repository, other schools) authenticate with a TLS client certificate
the principal registered in the school's ledger (Điều 5.3c, 9.4): `hocba serve` terminating TLS
itself, and behind a TLS-terminating proxy that passes the certificate in X-SSL-Client-Cert."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from ipaddress import ip_network
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy.ext.asyncio import AsyncEngine

from api.http.client_certs import ClientCertificates
from audit.trail import query_access
from ledger.app.demo import ADMIN, PRINCIPAL, DemoSchool, build_demo_school
from ledger.app.runtime import Runtime
from ledger.base.clock import ManualClock
from ledger.base.errors import AuthenticationFailed
from ledger.base.settings import SettingsError, load_settings
from ledger.format.envelope import SERVICE_CHAIN
from ledger.log.projection import read
from ledger.school.accounts.commands import create_account, disable_account
from ledger.school.readmodels import school_ledger
from ledger.school.rules.policy import AccountKind
from ledger.school.signatures.certificates import fingerprint, register_client_certificate, revoke_certificate
from ledger.school.signatures.tables import certificates
from signing.x509.pki import Pki
from tests.support import helpers
from tests.support.helpers import SETUP
from tests.support.tls import plain_service, server_certificate, tls_service, write_pair

V1 = "/api/v1"


async def refusal_in_trail(engine: AsyncEngine, school: str, answer: httpx.Response) -> dict[str, Any]:
    """The access entry of a refused request, from the school's trail."""
    assert answer.status_code == 401, answer.text
    async with engine.connect() as conn:
        rows = await query_access(conn, school, outcome="denied", limit=200)
    (entry,) = [r for r in rows if r["request_id"] == answer.headers["x-request-id"]]
    return entry


async def test_a_registered_client_certificate_reads_the_feed_over_tls_and_revoked_or_unknown_ones_do_not(
    app_engine: AsyncEngine, school: str, env: dict[str, str], pki: Pki, tmp_path: Path
) -> None:
    """`hocba pki issue-demo-client` → `hocba account certificate` (the principal) → `hocba serve --tls-cert
    … --client-ca …` → the feed over mutual TLS; then a certificate revoked in the ledger (`hocba pki
    revoke`), one revoked by its CA (its CRL), and one the CA issued but no one registered are refused,
    each with its reason in the school's access trail."""
    await build_demo_school(app_engine, school, students_per_class=1, terms=())
    ledger = school_ledger(app_engine)
    account = "so-gddt-tls"
    made = await create_account(ledger, school, account, AccountKind.INTEGRATION, actor=SETUP)
    principal = await helpers.signed_in(app_engine, env, school, PRINCIPAL.user)
    where = ("--school", school)
    issued = helpers.hocba("pki", "issue-demo-client", *where, "--account", account, "-o", str(tmp_path), env=env)
    assert issued.returncode == 0, issued.stderr
    client = (tmp_path / f"{account}.pem", tmp_path / f"{account}.key.pem")
    # the admin manages ordinary accounts, but a certificate of an account that reads every record is
    # the principal's to approve (Điều 5.3c, 9.4)
    admin = await helpers.signed_in(app_engine, env, school, ADMIN.user)
    by_admin = helpers.hocba(
        "account", "certificate", *where, "--username", account, "--cert", str(client[0]), env=admin
    )
    assert by_admin.returncode != 0 and "does not hold PRINCIPAL" in by_admin.stderr, by_admin.stderr
    registered = helpers.hocba(
        "account", "certificate", *where, "--username", account, "--cert", str(client[0]), env=principal
    )
    assert (registered.returncode, registered.stdout.strip()) == (0, "appended=1"), registered.stderr
    async with app_engine.connect() as conn:
        (row,) = await read(conn, certificates, school)
    assert (row["holder"], row["approved_by"], row["revoked_at"]) == (f"account:{account}", PRINCIPAL.user, None)
    # a certificate that names the account but was refused registration by the CLI: one of a staff member
    staff_cert = pki.issue_demo_personal(school, "gv-x", "Nguyễn Văn X").certificate
    (tmp_path / "staff.pem").write_bytes(staff_cert.public_bytes(Encoding.PEM))
    wrong = helpers.hocba(
        "account", "certificate", *where, "--username", account, "--cert", str(tmp_path / "staff.pem"), env=principal
    )
    assert wrong.returncode != 0 and "clientAuth" in wrong.stderr + wrong.stdout

    revoked_here = pki.issue_demo_client(school, account)
    revoked_by_ca = pki.issue_demo_client(school, account)
    unknown = pki.issue_demo_client(school, account)
    for holder in (revoked_here, revoked_by_ca):
        await register_client_certificate(ledger, school, SETUP, account, holder.certificate, pki.roots())
    pki.revoke(revoked_by_ca.certificate)
    gone = fingerprint(revoked_here.certificate)
    revoke = helpers.hocba("pki", "revoke", *where, "--fingerprint", gone, "--reason", "lộ khóa", env=principal)
    assert revoke.returncode == 0, revoke.stderr

    server = server_certificate(tmp_path / "server")
    with tls_service(env, server, pki.root_path) as base:
        feed = f"{V1}/schools/{school}/feed"
        with server.client(base, client) as mtls:
            answer = mtls.get(feed, params={"after": 0})
        assert answer.status_code == 200, answer.text
        assert set(answer.json()) >= {"events", "next"}  # the feed page (events up to the last checkpoint)
        with server.client(base) as plain:
            assert plain.get(feed, headers={"Authorization": f"ApiKey {made.api_key}"}).status_code == 200
            anonymous = plain.get(feed)
        assert (await refusal_in_trail(app_engine, SERVICE_CHAIN, anonymous))["reason"] == "credential.missing"
        expected = {
            "client_cert.revoked": write_pair(tmp_path / "c", "here", revoked_here),
            "client_cert.revoked_by_ca": write_pair(tmp_path / "c", "ca", revoked_by_ca),
            "client_cert.unknown": write_pair(tmp_path / "c", "unknown", unknown),
        }
        for reason, pair in expected.items():
            with server.client(base, pair) as refused_client:
                answer = refused_client.get(feed)
            problem = answer.json()
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert (problem["status"], problem["code"]) == (401, reason), problem
            assert problem["detail"] and "chứng thư số" in problem["detail_vi"].lower()
            # a certificate no account registered is the service's refusal, like an unknown API key; the
            # others are refusals of the school's account, which its auditors see
            chain = SERVICE_CHAIN if reason == "client_cert.unknown" else school
            entry = await refusal_in_trail(app_engine, chain, answer)
            assert (entry["reason"], entry["client"]) == (reason, "127.0.0.1")


async def test_the_proxy_header_is_believed_only_from_a_trusted_proxy(
    api: httpx.AsyncClient,
    demo: DemoSchool,
    runtime: Runtime,
    pki: Pki,
    app_engine: AsyncEngine,
) -> None:
    """A forged X-SSL-Client-Cert from an address that is no trusted proxy is ignored (401, recorded as
    such); the same header from a proxy in HOCBA_TRUSTED_PROXIES authenticates the account."""
    ledger = school_ledger(runtime.engine(), clock=runtime.clock)
    account = "truong-ben-canh"
    await create_account(ledger, demo.school, account, AccountKind.INTEGRATION, actor=SETUP)
    holder = pki.issue_demo_client(demo.school, account, valid_from=datetime(2026, 1, 1, tzinfo=UTC))
    await register_client_certificate(ledger, demo.school, SETUP, account, holder.certificate, pki.roots())
    header = {"X-SSL-Client-Cert": quote(holder.certificate.public_bytes(Encoding.PEM).decode())}
    feed = f"{V1}/schools/{demo.school}/feed"

    forged = await api.get(feed, headers=header)  # the test client's address, 10.0.0.7, is no proxy
    assert forged.json()["code"] == "client_cert.untrusted_proxy"
    assert (await refusal_in_trail(app_engine, SERVICE_CHAIN, forged))["reason"] == "client_cert.untrusted_proxy"

    from api.app import create_app

    proxies = (ip_network("10.0.0.0/29"),)
    behind = Runtime(dataclasses.replace(runtime.settings, trusted_proxies=proxies), runtime.url, runtime.clock)
    try:
        transport = httpx.ASGITransport(app=create_app(behind, scheduler=False), client=("10.0.0.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://hocba.test") as proxied:
            assert (await proxied.get(feed, headers=header)).status_code == 200
            malformed = await proxied.get(feed, headers={"X-SSL-Client-Cert": "not%20a%20certificate"})
            assert malformed.json()["code"] == "client_cert.malformed"
            await disable_account(ledger, demo.school, account, SETUP, "thôi kết nối")
            disabled = await proxied.get(feed, headers=header)  # a disabled account's certificate opens nothing
            assert disabled.status_code == 401
            assert (await refusal_in_trail(app_engine, demo.school, disabled))["reason"] == "account.unavailable"
            await revoke_certificate(ledger, demo.school, SETUP, fingerprint(holder.certificate), "đổi máy chủ")
            revoked = await proxied.get(feed, headers=header)
            assert revoked.json()["code"] == "client_cert.revoked"  # the ledger is read at every request
    finally:
        await behind.close()


async def test_the_cas_verdict_is_kept_briefly_and_never_past_the_crls_next_update(runtime: Runtime, pki: Pki) -> None:
    """A verdict is kept per fingerprint (each request does not re-validate the chain), but not past
    the next update of the CRLs it was made with: an acceptance or a refusal made five seconds before the
    next update is made anew once it passes."""
    due = min(c.next_update_utc for c in pki.crls() if c.next_update_utc is not None)
    near = Runtime(runtime.settings, runtime.url, ManualClock(due - timedelta(seconds=5)))
    clients = ClientCertificates(seconds=3600)  # longer than any CRL here: the CRL bounds it
    accepted, refused = pki.issue_demo_client("kp", "so-a"), pki.issue_demo_client("kp", "so-b")
    pki.revoke(refused.certificate)
    await clients.check(near, accepted.certificate, revoked=False)
    with pytest.raises(AuthenticationFailed) as caught:
        await clients.check(near, refused.certificate, revoked=False)
    assert caught.value.reason == "client_cert.revoked_by_ca"
    # the CA revokes the first and lifts its hold on the second (a CRL issued with the entries swapped)
    entries = [
        (r.serial_number, r.revocation_date_utc)
        for r in pki.crl()
        if r.serial_number != refused.certificate.serial_number
    ]
    pki._write_crl([*entries, (accepted.certificate.serial_number, datetime.now(UTC) - timedelta(minutes=1))])
    await clients.check(near, accepted.certificate, revoked=False)  # the kept verdict, within its five seconds
    await asyncio.sleep(5.2)
    await clients.check(near, refused.certificate, revoked=False)
    with pytest.raises(AuthenticationFailed) as caught:
        await clients.check(near, accepted.certificate, revoked=False)
    assert caught.value.reason == "client_cert.revoked_by_ca"


def test_serve_refuses_tls_options_that_do_not_go_together(env: dict[str, str], tmp_path: Path) -> None:
    """Client certificates come with TLS; a certificate comes with its key; each says so in one line
    before anything starts."""
    for args, said in (
        (("--client-ca", str(tmp_path / "ca.pem")), "--client-ca needs --tls-cert"),
        (("--tls-cert", str(tmp_path / "server.pem")), "--tls-cert and --tls-key go together"),
        (("--tls-cert", str(tmp_path / "no.pem"), "--tls-key", str(tmp_path / "no.key")), "no such file"),
    ):
        refused = helpers.hocba("serve", "--port", "1", *args, env=env, timeout=60)
        assert refused.returncode != 0 and said in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr


def test_trusted_proxies_are_addresses_or_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOCBA_TRUSTED_PROXIES", raising=False)
    assert load_settings().trusted_proxies == ()  # none by default: the header is never believed
    monkeypatch.setenv("HOCBA_TRUSTED_PROXIES", "127.0.0.1, 10.1.2.0/24,::1")
    assert load_settings().trusted_proxies == tuple(ip_network(n) for n in ("127.0.0.1", "10.1.2.0/24", "::1"))
    monkeypatch.setenv("HOCBA_TRUSTED_PROXIES", "nginx.local")
    with pytest.raises(SettingsError, match="HOCBA_TRUSTED_PROXIES"):
        load_settings()


async def test_behind_a_proxy_on_loopback_the_header_is_believed_only_from_a_trusted_proxy(
    env: dict[str, str], demo: DemoSchool, runtime: Runtime, pki: Pki, app_engine: AsyncEngine
) -> None:
    """`hocba serve` behind a TLS-terminating proxy on the same machine (this test plays the proxy:
    it opens the connection from 127.0.0.1 and sends what nginx sends). uvicorn records the client
    X-Forwarded-For names; the header is believed because the connection's peer is a trusted proxy,
    not because of the address X-Forwarded-For claims."""
    ledger = school_ledger(runtime.engine(), clock=runtime.clock)
    account = "so-qua-proxy"
    await create_account(ledger, demo.school, account, AccountKind.INTEGRATION, actor=SETUP)
    holder = pki.issue_demo_client(demo.school, account, valid_from=datetime(2026, 1, 1, tzinfo=UTC))
    await register_client_certificate(ledger, demo.school, SETUP, account, holder.certificate, pki.roots())
    pem = quote(holder.certificate.public_bytes(Encoding.PEM).decode())
    feed = f"{V1}/schools/{demo.school}/feed"
    with plain_service({**env, "HOCBA_TRUSTED_PROXIES": "127.0.0.1"}) as base:
        async with httpx.AsyncClient(base_url=base) as proxy:
            answer = await proxy.get(feed, headers={"X-SSL-Client-Cert": pem, "X-Forwarded-For": "203.0.113.9"})
    assert answer.status_code == 200, answer.text
    async with app_engine.connect() as conn:
        rows = await query_access(conn, demo.school, username=account, limit=20)
    (entry,) = [r for r in rows if r["request_id"] == answer.headers["x-request-id"]]
    assert (entry["outcome"], entry["client"]) == ("allowed", "203.0.113.9")
    # the trusted proxy is another machine: a connection from here that names it in X-Forwarded-For
    # (which uvicorn believes from loopback) is still no connection from it
    with plain_service({**env, "HOCBA_TRUSTED_PROXIES": "10.9.9.9"}) as base:
        async with httpx.AsyncClient(base_url=base) as forger:
            forged = await forger.get(feed, headers={"X-SSL-Client-Cert": pem, "X-Forwarded-For": "10.9.9.9"})
    assert forged.json()["code"] == "client_cert.untrusted_proxy"
    assert (await refusal_in_trail(app_engine, SERVICE_CHAIN, forged))["reason"] == "client_cert.untrusted_proxy"
