"""The high-availability recipe of ops/DEPLOYMENT.md on loopback: one etcd member, and PostgreSQL 15
nodes under Patroni with synchronous replication, each with its own directory and ports. Patroni and
PostgreSQL run as the clusters' operating-system user (`postgres` when the tests run as root).

The drills' settings differ from production in speed only: a leader key lives 20 s (Patroni's least),
Patroni looks every 2 s, and the nodes do not flush to disk (fsync off: a killed process loses
nothing the kernel holds)."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from ledger.app.recovery.cluster import bindir, hand_over, owner_for_clusters
from tests.support.helpers import free_port

TTL = 20
PRIMARY_ROLES = ("master", "primary")  # Patroni 3.0 says master


def _popen(argv: list[str], user: str, log: Path) -> subprocess.Popen[bytes]:
    entry = pwd.getpwnam(user)
    env = {**os.environ, "HOME": entry.pw_dir, "USER": user, "LOGNAME": user}
    handle = open(log, "ab")  # noqa: SIM115 - the child keeps it
    as_other = os.geteuid() != entry.pw_uid
    return subprocess.Popen(
        argv,
        stdout=handle,
        stderr=subprocess.STDOUT,
        env=env,
        cwd="/",
        user=entry.pw_uid if as_other else None,
        group=entry.pw_gid if as_other else None,
        extra_groups=[] if as_other else None,
        start_new_session=True,
    )


@dataclass
class Etcd:
    base: Path
    user: str = field(default_factory=owner_for_clusters)
    client: int = field(default_factory=free_port)
    peer: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        hand_over(self.base / "etcd", self.user)
        url, peer = f"http://127.0.0.1:{self.client}", f"http://127.0.0.1:{self.peer}"
        argv = ["etcd", "--name", "e1", "--data-dir", str(self.base / "etcd"), "--listen-client-urls", url]
        argv += ["--advertise-client-urls", url, "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer]
        argv += ["--initial-cluster", f"e1={peer}", "--log-level", "warn"]
        self.process = _popen(argv, self.user, self.base / "etcd.log")
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"etcd did not start:\n{(self.base / 'etcd.log').read_text()[-2000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)


@dataclass
class Node:
    """One PostgreSQL under Patroni."""

    name: str
    base: Path
    etcd: Etcd
    user: str = field(default_factory=owner_for_clusters)
    port: int = field(default_factory=free_port)
    rest: int = field(default_factory=free_port)
    durable: bool = False  # fsync on (benchmarks), off (drills)
    process: subprocess.Popen[bytes] | None = None

    @property
    def data(self) -> Path:
        return self.base / self.name / "data"

    @property
    def log(self) -> Path:
        return self.base / f"{self.name}.log"

    def config(self) -> dict[str, Any]:
        trust = ["local all all trust", "host all all 127.0.0.1/32 trust", "host replication all 127.0.0.1/32 trust"]
        return {
            "scope": "hocba",
            "namespace": f"/drill-{self.etcd.client}/",
            "name": self.name,
            "restapi": {"listen": f"127.0.0.1:{self.rest}", "connect_address": f"127.0.0.1:{self.rest}"},
            "etcd3": {"hosts": [f"127.0.0.1:{self.etcd.client}"]},
            "bootstrap": {
                "dcs": {
                    "ttl": TTL,
                    "loop_wait": 2,
                    "retry_timeout": 5,
                    "maximum_lag_on_failover": 0,
                    "synchronous_mode": True,
                    "synchronous_mode_strict": False,
                    "postgresql": {
                        "use_pg_rewind": False,
                        "parameters": {
                            "wal_level": "replica",
                            "hot_standby": "on",
                            "synchronous_commit": "on",
                            "max_wal_senders": 5,
                            "max_replication_slots": 5,
                            "wal_keep_size": "256MB",
                            "fsync": "on" if self.durable else "off",
                        },
                    },
                },
                "initdb": [{"encoding": "UTF8"}, {"locale": "C.UTF-8"}, "data-checksums", "no-sync"],
            },
            "postgresql": {
                "listen": f"127.0.0.1:{self.port}",
                "connect_address": f"127.0.0.1:{self.port}",
                "data_dir": str(self.data),
                "bin_dir": str(bindir()),
                "pgpass": str(self.base / self.name / "pgpass"),
                "pg_hba": trust,
                "authentication": {
                    "superuser": {"username": "postgres", "password": "drill"},
                    "replication": {"username": "replicator", "password": "drill"},
                },
                "parameters": {"unix_socket_directories": str(self.base / self.name)},
                "basebackup": [{"checkpoint": "fast"}],
            },
        }

    def start(self) -> None:
        hand_over(self.base / self.name, self.user)
        path = self.base / self.name / "patroni.yml"
        path.write_text(json.dumps(self.config(), indent=1))  # YAML reads JSON
        os.chown(path, pwd.getpwnam(self.user).pw_uid, -1) if os.geteuid() == 0 else None
        self.process = _popen(["patroni", str(path)], self.user, self.log)

    def state(self) -> dict[str, Any]:
        try:
            answer = httpx.get(f"http://127.0.0.1:{self.rest}/patroni", timeout=2)
            return dict(answer.json())
        except (httpx.HTTPError, ValueError):
            return {}

    def role(self) -> str | None:
        state = self.state()
        return str(state["role"]) if state.get("state") == "running" else None

    def sync_standby(self) -> str | None:
        """The member the cluster's primary waits for, as this node's REST API sees the cluster."""
        try:
            members = httpx.get(f"http://127.0.0.1:{self.rest}/cluster", timeout=2).json()["members"]
        except (httpx.HTTPError, ValueError, KeyError):
            return None
        return next((str(m["name"]) for m in members if m.get("role") == "sync_standby"), None)

    def crash(self) -> None:
        """The node's machine dies: Patroni and every PostgreSQL process are killed at once."""
        victims = []
        if self.process is not None:
            victims.append(psutil.Process(self.process.pid))
        try:
            postmaster = psutil.Process(int((self.data / "postmaster.pid").read_text().split()[0]))
            victims += [postmaster, *postmaster.children(recursive=True)]
        except (OSError, ValueError, psutil.Error):
            pass
        for victim in victims:
            with contextlib.suppress(psutil.Error):
                victim.send_signal(signal.SIGKILL)
        psutil.wait_procs(victims, timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.crash()


def wait_for(what: str, check: Any, timeout: float, logs: list[Path]) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {log}\n{log.read_text(errors='replace')[-1500:]}" for log in logs if log.exists())
            raise RuntimeError(f"{what} did not happen within {timeout:.0f} s\n{tails}")
        time.sleep(0.3)


def multi_host_url(nodes: list[Node], database: str) -> str:
    hosts = ",".join(f"127.0.0.1:{node.port}" for node in nodes)
    return f"postgresql://postgres@{hosts}/{database}?target_session_attrs=read-write"
