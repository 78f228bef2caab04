"""A witness running as its own process (`hocba witness serve`), with its own database and its own
HOCBA_HOME (so its own key), on loopback: what the Sở or a neighbouring school would run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from ledger.app.db import ensure_database
from tests.support.helpers import free_port, hocba


@dataclass
class WitnessProcess:
    url: str
    env: dict[str, str]
    vkey: str

    def witness(self, school: str, school_env: dict[str, str], folder: Path) -> dict[str, str]:
        """Make this witness witness both logs of `school`; the school's environment that publishes
        its checkpoints to it (a quorum of one)."""
        listed = folder / "witnesses"
        listed.write_text(f"# the Sở\n{self.vkey} {self.url}\n")
        published = {**school_env, "HOCBA_WITNESSES_FILE": str(listed), "HOCBA_WITNESS_QUORUM": "1"}
        keys = hocba("log-keys", "--school", school, env=published)
        assert keys.returncode == 0, keys.stderr
        for line in keys.stdout.splitlines():
            origin, vkey = line.split()
            added = hocba("witness", "add-log", "--origin", origin, "--vkey", vkey, env=self.env)
            assert added.returncode == 0, added.stderr
        return published


@contextmanager
def witness_process(server_url: str, home: Path) -> Iterator[WitnessProcess]:
    name = f"hocba_witness_{uuid.uuid4().hex[:8]}"
    env = {
        **{k: v for k, v in os.environ.items() if k != "SOFTHSM2_CONF"},
        "DATABASE_URL": ensure_database(server_url, name),
        "HOCBA_HOME": str(home),
        "HOCBA_WITNESS_NAME": "witness.sogddt-ninhbinh.test",
    }
    port = free_port()
    script = Path(sys.executable).with_name("hocba")
    process = subprocess.Popen(
        [str(script), "witness", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"hocba witness serve did not come up:\n{output}")
                time.sleep(0.2)
        key = hocba("witness", "key", env=env)
        assert key.returncode == 0, key.stderr
        yield WitnessProcess(url, env, key.stdout.strip())
    finally:
        process.terminate()
        process.wait(timeout=30)
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
