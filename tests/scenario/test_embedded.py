"""The zero-setup default: without DATABASE_URL, an embedded PostgreSQL from PyPI is started on
demand in a per-user data directory (even as root), migrated, used, and stopped cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.app.migrate import head_revision
from tests.support.helpers import hocba


@pytest.mark.slow
def test_hocba_runs_on_the_embedded_postgresql_without_database_url(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["HOCBA_HOME"] = str(tmp_path / "home")
    upgraded = hocba("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip() == f"database is at revision {head_revision()}"
    assert (tmp_path / "home" / "pgdata" / "PG_VERSION").exists()

    script = (
        "import asyncio\n"
        "from ledger.base.settings import load_settings\n"
        "from ledger.app.runtime import open_runtime\n"
        "from ledger.school.readmodels import school_ledger\n"
        "from tests.support.helpers import noted\n"
        "async def main():\n"
        "    runtime = open_runtime(load_settings(), upgrade=True)\n"
        "    ledger = school_ledger(runtime.engine())\n"
        "    await ledger.append('khanh-phu', noted(5))\n"
        "    await runtime.checkpoint('khanh-phu')\n"
        "    await runtime.close()\n"
        "asyncio.run(main())\n"
    )
    appended = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert appended.returncode == 0, appended.stderr
    verified = hocba("verify", env=env)
    assert verified.returncode == 0, verified.stderr
    assert "khanh-phu (events): intact — 5 entries, head 5, 1 checkpoint verified" in verified.stdout

    # Every process that used the server has exited: the server is stopped, its pid file gone.
    assert not (tmp_path / "home" / "pgdata" / "postmaster.pid").exists()
