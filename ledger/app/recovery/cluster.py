"""A PostgreSQL cluster of its own, in one directory, on its own port: what a point-in-time restore
starts, and what the drills start for the primary and the replicas.

The cluster's files belong to an operating-system user that is not root (PostgreSQL refuses to run as
root): the caller's own user, or `postgres` (Debian's) when the caller is root. Every PostgreSQL or
pgBackRest program that touches the files runs as that user (`runuser`). The server's Unix socket is
in its data directory (mode 0700: only that user and root reach it), on the cluster's port; the
drills' clusters also listen on 127.0.0.1 and trust loopback connections (`tcp=True`). A restored
cluster listens on its socket only, whatever the configuration it was backed up with.

The binaries are Debian's of the wanted major version (`/usr/lib/postgresql/N/bin`), or those on PATH.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg

from ledger.base.errors import HocbaError

MAJOR = 15


class ClusterError(HocbaError, RuntimeError):
    """A cluster cannot be created, started or stopped; the message says why."""


def bindir(major: int = MAJOR) -> Path:
    """Where the PostgreSQL programs of `major` are: Debian's directory, else PATH."""
    debian = Path(f"/usr/lib/postgresql/{major}/bin")
    if (debian / "postgres").is_file():
        return debian
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    raise ClusterError(f"no PostgreSQL {major} programs: install postgresql-{major}")


def owner_for_clusters() -> str:
    """The operating-system user that owns and runs the clusters: the caller, or `postgres` for root."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise ClusterError("running as root needs the operating-system user postgres (install postgresql)") from None
    return "postgres"


def as_user(user: str, argv: Sequence[str]) -> list[str]:
    """`argv` run as `user`: unchanged when that is already the caller."""
    if pwd.getpwuid(os.geteuid()).pw_name == user:
        return list(argv)
    return ["runuser", "-u", user, "--", *argv]


def hand_over(path: Path, user: str) -> None:
    """Create `path` (a directory) for `user`: owned by them, and reachable through its parents (which
    gain the right to traverse, never to list)."""
    path.mkdir(parents=True, exist_ok=True)
    entry = pwd.getpwnam(user)
    if os.geteuid() == 0:
        os.chown(path, entry.pw_uid, entry.pw_gid)
        for parent in path.resolve().parents:
            mode = parent.stat().st_mode
            if mode & 0o001 == 0:
                parent.chmod(mode | 0o001)
    path.chmod(0o700)


def run(argv: Sequence[str], *, user: str, env: Mapping[str, str] | None = None, timeout: float = 300) -> str:
    """Run a program as `user`; its standard output, or a ClusterError with what it said."""
    try:
        done = subprocess.run(  # noqa: S603 - our own arguments, no shell
            as_user(user, argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
            cwd="/",
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ClusterError(f"{Path(argv[0]).name} did not finish within {timeout:.0f} s") from None
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise ClusterError(f"{Path(argv[0]).name} failed: {said[-1] if said else f'exit {done.returncode}'}")
    return done.stdout


@dataclass
class Cluster:
    """One PostgreSQL cluster: `data` is its data directory, `port` its TCP port on 127.0.0.1."""

    data: Path
    port: int
    user: str = field(default_factory=owner_for_clusters)
    major: int = MAJOR

    @property
    def bin(self) -> Path:
        return bindir(self.major)

    @property
    def logfile(self) -> Path:
        return self.data / "log" / "server.log"

    def url(self, database: str = "postgres", user: str = "postgres") -> str:
        """A libpq URL over the cluster's Unix socket."""
        return f"postgresql://{user}@/{database}?host={quote(str(self.data), safe='/')}&port={self.port}"

    def tcp_url(self, database: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def socket_settings(self) -> dict[str, str]:
        return {
            "port": str(self.port),
            "unix_socket_directories": f"'{self.data}'",
            "unix_socket_permissions": "0700",
        }

    def initdb(self, settings: Mapping[str, str] | None = None, *, tcp: bool = True, durable: bool = True) -> None:
        """A new cluster (UTF-8, data checksums) with `settings` in postgresql.conf; with `tcp`, it also
        listens on 127.0.0.1 and trusts loopback connections (drills only). Not `durable`: nothing is
        flushed to disk (fsync off), which a killed process does not notice but a power cut would (drills
        only, to keep them fast)."""
        hand_over(self.data, self.user)
        run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--data-checksums",
                "--auth=trust",
                *([] if durable else ["--no-sync"]),
            ],
            user=self.user,
        )
        hba = "local all all trust\nlocal replication all trust\n"
        if tcp:
            hba += "host all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n"
        self.write("pg_hba.conf", hba)
        base = {"listen_addresses": "'127.0.0.1'" if tcp else "''", **({} if durable else {"fsync": "off"})}
        self.configure({**base, **(settings or {})})

    def configure(self, settings: Mapping[str, str]) -> None:
        """Set `settings` (name → value, quoted as needed) in postgresql.auto.conf's place: a file of its
        own, included last, so that a restore's own settings stay apart."""
        base = {
            **self.socket_settings(),
            "logging_collector": "on",
            "log_directory": "'log'",
            "log_filename": "'server.log'",
        }
        conf = self.data / "postgresql.conf"
        include = "include_if_exists = 'hocba-cluster.conf'"
        text = conf.read_text()
        if include not in text:
            self.write("postgresql.conf", text + f"\n{include}\n")
        lines = [f"{name} = {value}" for name, value in {**base, **settings}.items()]
        self.write("hocba-cluster.conf", "\n".join(lines) + "\n")

    def write(self, name: str, text: str) -> None:
        """A file of the data directory, owned by the cluster's user, readable by it only."""
        path = self.data / name
        path.write_text(text)
        if os.geteuid() == 0:
            entry = pwd.getpwnam(self.user)
            os.chown(path, entry.pw_uid, entry.pw_gid)
        path.chmod(0o600)

    def start(self, overrides: Mapping[str, str] | None = None, *, timeout: float = 120) -> None:
        """Start the server (with `overrides`, which win over every configuration file) and wait until it
        takes connections (for a restore, that is once its WAL is consistent: it may still be replaying)."""
        argv = [str(self.bin / "pg_ctl"), "start", "-D", str(self.data), "-w", "-t", str(int(timeout))]
        argv += ["-l", str(self.data / "startup.log")]
        if overrides:  # pg_ctl hands -o to a shell
            argv += ["-o", " ".join(f"-c {shlex.quote(f'{name}={value}')}" for name, value in overrides.items())]
        try:
            run(argv, user=self.user, timeout=timeout + 10)
        except ClusterError as exc:
            raise ClusterError(f"the cluster in {self.data} did not start: {self.last_error() or exc}") from None

    def stop(self, mode: str = "fast") -> None:
        if self.pid() is None:
            return
        run([str(self.bin / "pg_ctl"), "stop", "-D", str(self.data), "-m", mode, "-w", "-t", "60"], user=self.user)

    def pid(self) -> int | None:
        """The postmaster's process id, when it runs."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return pid

    def kill(self) -> None:
        """The server dies at once (SIGKILL to the postmaster; its backends end when they notice)."""
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 30
            while self.pid() is not None and time.monotonic() < deadline:
                time.sleep(0.1)

    def connect(self, database: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url(database), autocommit=True, connect_timeout=5)

    def last_error(self) -> str | None:
        """The server log's last FATAL or PANIC line (what ended a failed start), without its prefix."""
        lines: list[str] = []
        for path in (self.logfile, self.data / "startup.log"):
            try:
                lines += path.read_text(errors="replace").splitlines()
            except OSError:
                continue
        for line in reversed(lines):
            for level in ("PANIC:", "FATAL:"):
                if level in line:
                    return line.split(level, 1)[1].strip()
        return None

    def log_lines(self) -> list[str]:
        try:
            return self.logfile.read_text(errors="replace").splitlines()
        except OSError:
            return []
