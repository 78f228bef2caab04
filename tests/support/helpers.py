"""Small builders shared by tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from lxml import etree

from ledger.base.errors import DomainError
from ledger.base.settings import Settings
from ledger.format.envelope import Actor, NewEvent
from ledger.log import store
from ledger.log.append import Ledger
from signing.x509.pki import Pki
from signing.xml import document as hocba_xml

ADMIN = Actor("admin.test", "ADMIN")
PASSWORD = "mat-khau-thu-nghiem"  # every account of the fixture school
# Who opens the fixture schools' accounts: their principal, who may open every kind (the admin may
# not open a leader's, an auditor's or an integration client's, Điều 5.3c).
SETUP = SETUP_PRINCIPAL = Actor("ht.doanthuy", "PRINCIPAL")


def database_url_of(settings: Settings) -> str:
    assert settings.database_url is not None
    return settings.database_url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def poppler_major() -> int:
    out = subprocess.run([tool("pdfsig"), "-v"], capture_output=True, text=True, timeout=60)
    return int((out.stdout + out.stderr).split("version", 1)[1].split(".")[0])


def noted(count: int, start: int = 0) -> list[NewEvent]:
    return [NewEvent("test.noted", {"n": start + i}, ADMIN) for i in range(count)]


def hocba(
    *args: str, env: dict[str, str], timeout: float = 120, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed `hocba` console script."""
    script = Path(sys.executable).with_name("hocba")
    return subprocess.run([str(script), *args], env=env, capture_output=True, text=True, timeout=timeout, input=stdin)


async def signed_in(
    engine: Any, env: dict[str, str], school: str, username: str, kind: str = "STAFF", staff_id: str | None = None
) -> dict[str, str]:
    """`env` for running `hocba` as the account `username` of `school` (a staff account of the staff
    member of that id unless `kind` says otherwise; made with PASSWORD when it does not exist yet): a
    fresh access token in HOCBA_TOKEN, signed on the host's clock as the command line reads it."""
    from ledger.app.tokens import Tokens, token_secret
    from ledger.base.clock import SystemClock
    from ledger.school.accounts.commands import create_account
    from ledger.school.accounts.queries import account_row
    from ledger.school.readmodels import school_ledger
    from ledger.school.rules.policy import AccountKind

    async with engine.connect() as conn:
        known = await account_row(conn, school, username)
    if known is None:
        await create_account(  # on the host's clock, as the command line appends
            school_ledger(engine),
            school,
            username,
            AccountKind(kind),
            actor=SETUP,
            staff_id=staff_id,
            password=PASSWORD,
        )
    home = Path(env["HOCBA_HOME"])
    settings = Settings(None, home, "development", None, None, 300, token_secret=env.get("HOCBA_TOKEN_SECRET"))
    token, _ = Tokens(token_secret(settings), SystemClock()).issue(username, school, AccountKind(kind))
    return {**env, "HOCBA_TOKEN": token}


async def head(ledger: Ledger, school: str) -> int:
    async with ledger.engine.connect() as conn:
        return (await store.read_head(conn, school)).seq


async def refused(ledger: Ledger, school: str, code: str, attempt: Callable[[], Awaitable[Any]]) -> DomainError:
    """The attempt is refused with `code`, in both languages, and appends nothing."""
    before = await head(ledger, school)
    with pytest.raises(DomainError) as caught:
        await attempt()
    assert caught.value.code == code, caught.value.en
    assert caught.value.vi and caught.value.en
    assert await head(ledger, school) == before
    return caught.value


# --- the independent verifiers ---------------------------------------------------------------


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: install poppler-utils and libnss3-tools")
    return path


def run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=60).stdout


def nss_database(directory: Path, pki: Pki) -> str:
    """An NSS database trusting the PKI's root, with the current CRL of the CA issuing staff certificates."""
    directory.mkdir(parents=True, exist_ok=True)
    db = f"sql:{directory}"
    run(tool("certutil"), "-N", "-d", db, "--empty-password")
    run(tool("certutil"), "-A", "-d", db, "-n", "root", "-t", "C,C,C", "-i", str(pki.root_path))
    if pki.ca_path.exists():  # the licensed CA under the root, which issues the staff certificates
        run(tool("certutil"), "-A", "-d", db, "-n", "ca", "-t", ",,", "-i", str(pki.ca_path))
    crl = directory / "crl.der"
    crl.write_bytes(pki.crl().public_bytes(serialization.Encoding.DER))
    run(tool("crlutil"), "-I", "-d", db, "-i", str(crl))
    return db


def pdfsig(path: Path, db: str) -> list[dict[str, str]]:
    """pdfsig's verdict per signature: {"signature": ..., "certificate": ...} (it always exits 0)."""
    out = subprocess.run(
        [tool("pdfsig"), "-nssdir", db, "-no-ocsp", str(path)], capture_output=True, text=True, timeout=60
    ).stdout
    results: list[dict[str, str]] = []
    for line in out.splitlines():
        if line.startswith("Signature #"):
            results.append({})
        elif "Signature Validation:" in line:
            results[-1]["signature"] = line.split(":", 1)[1].strip()
        elif "Certificate Validation:" in line:
            results[-1]["certificate"] = line.split(":", 1)[1].strip()
    return results


def xmlsec1_verifies(path: Path, root_pem: Path) -> list[bool]:
    """Every signature of the file, checked by xmlsec1 against the trusted root, with the licensed
    CA beside it (ca.pem) as the intermediate the signer's certificate is issued by."""
    ns, ds = hocba_xml.NS, hocba_xml.DS
    ids = [
        f"{ns}:{name}" for name in ("HoSo", "MonHoc", "ChuNhiem", "QuyetDinh", "BanHanh", "ChuyenDi", "Lop", "ChuKy")
    ]
    ids += [f"{hocba_xml.XADES}:SignedProperties", f"{ds}:KeyInfo", f"{ds}:Signature"]
    root = etree.parse(str(path)).getroot()
    results = []
    for signature in root.iter(f"{{{ds}}}Signature"):
        command = ["xmlsec1", "--verify", "--trusted-pem", str(root_pem)]
        if root_pem.with_name("ca.pem").exists():
            command += ["--untrusted-pem", str(root_pem.with_name("ca.pem"))]
        for ident in ids:
            command += ["--id-attr:Id", ident]
        command += ["--node-id", signature.get("Id", ""), str(path)]
        results.append(subprocess.run(command, capture_output=True, text=True, timeout=60).returncode == 0)
    return results
