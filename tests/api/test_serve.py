"""`hocba serve` migrates an empty database at start, then answers health and readiness."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from ledger.app.db import ensure_database
from ledger.app.migrate import current_revision, head_revision
from tests.support.helpers import free_port


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_serve_migrates_an_empty_database_and_answers(server_url: str, home: Path, workers: int) -> None:
    name = f"hocba_serve_{uuid.uuid4().hex[:8]}"
    url = ensure_database(server_url, name)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "HOCBA_HOME": str(home)}
    script = Path(sys.executable).with_name("hocba")
    process = subprocess.Popen(
        [str(script), "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"hocba serve did not come up:\n{output}")
                time.sleep(0.2)
        assert health.json() == {"status": "ok"}
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/ready", timeout=5).json() == {"status": "ready"}
        assert current_revision(url) == head_revision()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert process.returncode == 0
