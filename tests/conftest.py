"""Shared fixtures. The tests mirror the tree (tests/unit, log, school, api, pages, interop, scenario),
and each carries its folder's marker. Every test that touches a database talks to a real PostgreSQL:
the server named by DATABASE_URL (CI: 127.0.0.1:5432, trust auth), or else an embedded one started for
the session.
Each test session works in a database of its own, created and migrated here and dropped at the end;
each test writes to schools of its own."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.app import migrate
from ledger.app.db import APP_ROLE, AUDITOR_ROLE, create_engine, ensure_database, start_embedded, stop_embedded
from ledger.app.demo import DemoSchool, build_demo_school
from ledger.app.runtime import Runtime, checkpoint_policy_for
from ledger.base.clock import VN_TZ, ManualClock
from ledger.base.settings import Settings
from ledger.log.append import Ledger
from ledger.log.checkpointing import checkpoint_logs
from ledger.school.readmodels import school_ledger
from signing.x509.pki import Pki
from tests.support.helpers import PASSWORD, SETUP, database_url_of

pytest_plugins = ["tests.support.signers", "tests.support.mail"]  # the signing fixture school, a mail server


LAYERS = ("unit", "log", "school", "api", "pages", "interop", "scenario")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test carries the marker of its folder, so that one layer runs alone: `-m unit`, `-m log`…

    The files of slow tests are put first, the scenario drills before them (in their order, each file
    whole): the workers, which take a file at a time in this order, start with the longest and end
    on short files together, instead of one worker finishing a drill of minutes while the other
    waits."""
    for item in items:
        layer = item.path.parent.name
        if layer in LAYERS:
            item.add_marker(getattr(pytest.mark, layer))
    items.sort(key=lambda item: (not item.get_closest_marker("slow"), item.path.parent.name != "scenario"))


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A libpq URL of a PostgreSQL server on which the tests may create databases."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        yield configured
        return
    yield start_embedded(tmp_path_factory.mktemp("pg") / "pgdata")
    stop_embedded()


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    name = f"hocba_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = ensure_database(server_url, name)
    migrate.upgrade(url)
    yield url
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """HOCBA_HOME of the test session (its PKI lives in home/pki)."""
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="session")
def pki(home: Path) -> Pki:
    pki = Pki(home / "pki")
    pki.init_demo()
    return pki


@pytest.fixture(scope="session")
def settings(database_url: str, home: Path, pki: Pki) -> Settings:
    return Settings(
        database_url=database_url,
        home=home,
        environment="development",
        log_format="console",
        school=None,
        checkpoint_interval=300,
    )


@pytest.fixture(scope="session")
async def runtime(settings: Settings, pki: Pki) -> AsyncIterator[Runtime]:
    # The service's clock stands after the fixture year's summer results (10 August), between the close
    # (31 May) and the final date (30 August): only students with summer work can still change.
    runtime = Runtime(settings, database_url_of(settings), ManualClock(datetime(2026, 8, 20, 10, tzinfo=VN_TZ)))
    yield runtime
    await runtime.close()


@pytest.fixture(scope="session")
def env(settings: Settings, pki: Pki) -> dict[str, str]:
    """Environment for running the `hocba` command against the test database and PKI, signed in as no
    one (tokens `hocba login` keeps go to the session's own config directory)."""
    base = {k: v for k, v in os.environ.items() if k != "HOCBA_TOKEN"}
    config = settings.home / "config"
    return {
        **base,
        "DATABASE_URL": database_url_of(settings),
        "HOCBA_HOME": str(settings.home),
        "XDG_CONFIG_HOME": str(config),
    }


@pytest.fixture(scope="session")
async def app_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, APP_ROLE, pool_size=40, max_overflow=10)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def auditor_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, AUDITOR_ROLE)
    yield engine
    await engine.dispose()


@pytest.fixture
def superuser(database_url: str) -> Iterator[psycopg.Connection]:
    """A direct connection as the login role of the URL (a superuser on CI and when embedded)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def ledger(app_engine: AsyncEngine) -> Ledger:
    return school_ledger(app_engine)


@pytest.fixture
def school() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def database_name(url: str) -> str:
    return str(make_url(url).database)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    path = Path(__file__).resolve().parent.parent / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
async def demo(app_engine: AsyncEngine, runtime: Runtime, settings: Settings, pki: Pki) -> DemoSchool:
    """The realistic fixture school: THCS Khánh Phú, one class per grade 6–9, ten students each, all
    subjects, a full 2025-2026 year with its summer (ledger.demo), signed by checkpoints as the
    service would have signed it by then. Built once per test session."""
    demo = await build_demo_school(app_engine, f"kp-{uuid.uuid4().hex[:8]}")
    policy = checkpoint_policy_for(settings, pki, demo.clock)
    await checkpoint_logs(app_engine, runtime.signer, demo.clock, policy, [demo.school])
    return demo


@pytest.fixture(scope="session")
def app(runtime: Runtime) -> Any:
    from api.app import create_app

    return create_app(runtime, scheduler=False)


@pytest.fixture(scope="session")
async def api(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("10.0.0.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hocba.test") as client:
        yield client


# One account per role on the fixture school; the role a staff account holds comes from its
# assignments (ledger.demo), the others from the account's kind.
ROLE_ACCOUNTS = {
    "PRINCIPAL": ("ht.doanthuy", "STAFF", {}),
    "LEADERSHIP": ("pht.nguyenvanhung", "STAFF", {}),
    "CLERK": ("vt.nguyenthilan", "STAFF", {}),
    "ADMIN": ("qt.tranvanminh", "STAFF", {}),
    "IT_REVIEWER": ("gv.phamducanh", "STAFF", {}),
    "SUBJECT_TEACHER": ("gv.toan02", "STAFF", {}),  # teaches TOAN in every class, homeroom of 7A1
    "HOMEROOM_TEACHER": ("gv.nguvan01", "STAFF", {}),  # homeroom of 6A1, teaches NGU_VAN
    "AUDITOR": ("thanhtra.so", "AUDITOR", {}),
    "INTEGRATION": ("so-gddt-ninhbinh", "INTEGRATION", {}),
    "GUARDIAN": ("phuhuynh.6a1", "GUARDIAN", {"student": ("6A1", 0)}),
    "STUDENT": ("hocsinh.6a1", "STUDENT", {"student": ("6A1", 0)}),
}


@pytest.fixture(scope="session")
async def credentials(demo: DemoSchool, runtime: Runtime) -> dict[str, dict[str, str]]:
    """Authorization headers per role on the fixture school."""
    from ledger.school.accounts.commands import create_account
    from ledger.school.accounts.queries import account_row
    from ledger.school.rules.policy import AccountKind

    headers: dict[str, dict[str, str]] = {}
    for role, (username, kind, extra) in ROLE_ACCOUNTS.items():
        async with runtime.engine().connect() as conn:
            if kind != "INTEGRATION" and await account_row(conn, demo.school, username):
                continue  # made already for the command line (tests.support.helpers.signed_in)
        student = None
        if "student" in extra:
            class_id, index = extra["student"]
            student = demo.rosters[class_id][index]
        made = await create_account(
            school_ledger(runtime.engine(), clock=runtime.clock),
            demo.school,
            username,
            AccountKind(kind),
            student_id=student,
            password=None if kind == "INTEGRATION" else PASSWORD,
            actor=SETUP,
        )
        if made.api_key:
            headers[role] = {"Authorization": f"ApiKey {made.api_key}"}
    return headers


@pytest.fixture(scope="session")
async def tokens(
    api: httpx.AsyncClient, demo: DemoSchool, credentials: dict[str, dict[str, str]]
) -> dict[str, dict[str, str]]:
    headers = dict(credentials)
    for role, (username, kind, _) in ROLE_ACCOUNTS.items():
        if kind == "INTEGRATION":
            continue
        answer = await api.post(
            "/api/v1/auth/token", json={"school": demo.school, "username": username, "password": PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        headers[role] = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    return headers
