"""Point-in-time recovery with pgBackRest: continuous WAL archiving and physical backups (full and
incremental), encrypted, kept in two repositories with their own retention; and a restore to a
moment or an LSN into a new cluster, which the service then verifies in full.

pgBackRest does the physical work (its configuration names the stanza, the cluster and the
repositories). `Stanza` runs its commands as the cluster's operating-system user; `write_config`
writes a configuration for a cluster and its repositories (what the drills use, and the shape of a
production one: ops/OPERATIONS.md).

`restore_to_point` is the restore (`hocba restore --pitr`). A restore must never roll history back
past what is known outside the database: it refuses a target time before any checkpoint held
outside (the other backups' manifests, checkpoint files an integration client kept) before anything
is restored; once the new cluster is up, the service's full verification (`verify_installation`:
every chain, checkpoint, signature and timestamp, and every tree held outside, the witnesses' included)
must find it intact, and a restored ledger that lacks a tree held outside is refused as a rollback.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.app.recovery.cluster import Cluster, ClusterError, hand_over, owner_for_clusters, run
from ledger.app.runtime import Runtime
from ledger.base.clock import ManualClock
from ledger.base.errors import HocbaError
from ledger.base.settings import Settings
from ledger.format.checkpoint import Checkpoint

LSN = re.compile(r"^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$")


class RestoreRefused(HocbaError, RuntimeError):
    """A point-in-time restore that cannot be made or must not be trusted; the message says why."""


# --- pgBackRest -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Repository:
    """One pgBackRest repository: a directory (a local disk, a mounted second place), encrypted with
    AES-256-CBC under its own passphrase, keeping `full` full backups (and what depends on them)."""

    path: Path
    full: int = 2
    passphrase: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)


def write_config(
    path: Path, stanza: str, cluster: Cluster, repositories: Sequence[Repository], *, work: Path
) -> Stanza:
    """A pgBackRest configuration for `cluster` and its repositories (its logs and locks under `work`),
    readable by the cluster's user only; returns the stanza, not yet created."""
    if not repositories:
        raise RestoreRefused("name at least one repository (two, in separate places)")
    lines = ["[global]"]
    for number, repo in enumerate(repositories, start=1):
        hand_over(repo.path, cluster.user)
        lines += [
            f"repo{number}-path={repo.path}",
            f"repo{number}-cipher-type=aes-256-cbc",
            f"repo{number}-cipher-pass={repo.passphrase}",
            f"repo{number}-retention-full={repo.full}",
            f"repo{number}-bundle=y",  # small files travel together: a ledger has thousands of partitions
        ]
    for name in ("log", "lock"):
        hand_over(work / name, cluster.user)
    lines += [
        f"log-path={work / 'log'}",
        f"lock-path={work / 'lock'}",
        "log-level-console=warn",
        "log-level-file=info",
        "start-fast=y",
        "process-max=2",
        "archive-timeout=60",
        "compress-type=gz",
        "compress-level=1",
        "",
        f"[{stanza}]",
        f"pg1-path={cluster.data}",
        f"pg1-port={cluster.port}",
        f"pg1-socket-path={cluster.data}",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    cluster_owner(path, cluster.user)
    return Stanza(path, stanza, cluster.user)


def cluster_owner(path: Path, user: str) -> None:
    import pwd

    if os.geteuid() == 0:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)
    path.chmod(0o600)


@dataclass(frozen=True)
class Stanza:
    """A pgBackRest stanza: its configuration file and name, run as the cluster's user."""

    config: Path
    name: str = "hocba"
    user: str = field(default_factory=owner_for_clusters)

    def run(self, command: str, *options: str, timeout: float = 600) -> str:
        argv = ["pgbackrest", f"--config={self.config}", f"--stanza={self.name}", *options, command]
        return run(argv, user=self.user, timeout=timeout)

    @property
    def archive_command(self) -> str:
        """The cluster's archive_command: every finished WAL segment goes to every repository."""
        return f"'pgbackrest --config={self.config} --stanza={self.name} archive-push %p'"

    def create(self) -> None:
        self.run("stanza-create")

    def check(self) -> None:
        """The archive works: a WAL switch reaches every repository (what `pgbackrest check` proves)."""
        self.run("check")

    def backup(self, kind: str = "incr", repo: int = 1) -> None:
        """A full, differential or incremental backup into repository `repo` (pgBackRest expires what
        the repository's retention no longer keeps)."""
        if kind not in {"full", "diff", "incr"}:
            raise ValueError(kind)
        self.run("backup", f"--type={kind}", f"--repo={repo}")

    def info(self) -> list[dict[str, Any]]:
        """`pgbackrest info` as JSON: the stanza's backups and WAL range in each repository."""
        return list(json.loads(self.run("info", "--output=json", timeout=60)))


def last_backup(info: Sequence[Mapping[str, Any]]) -> dict[int, datetime]:
    """When the newest backup of each repository finished (its key: the repository's number)."""
    newest: dict[int, datetime] = {}
    for stanza in info:
        for backup in stanza.get("backup", []):
            repo = int(backup.get("database", {}).get("repo-key", 1))
            stop = datetime.fromtimestamp(int(backup["timestamp"]["stop"]), UTC)
            if repo not in newest or stop > newest[repo]:
                newest[repo] = stop
    return newest


async def archiving(conn: AsyncConnection) -> dict[str, float | None]:
    """The database's side of point-in-time recovery and failover, for /metrics: WAL segments archived
    and failed (pg_stat_archiver), when each last happened, and the timeline (a promotion, Patroni's
    failover or switchover, starts a new one)."""
    row = (
        await conn.execute(
            text(
                "SELECT archived_count, failed_count, EXTRACT(EPOCH FROM last_archived_time), "
                "EXTRACT(EPOCH FROM last_failed_time), pg_is_in_recovery(), "
                "CASE WHEN pg_is_in_recovery() THEN (SELECT timeline_id FROM pg_control_checkpoint()) "
                "ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END "
                "FROM pg_stat_archiver"
            )
        )
    ).one()
    names = ("archived", "failed", "last_archived", "last_failed", "in_recovery", "timeline")
    return {name: None if value is None else float(value) for name, value in zip(names, row, strict=True)}


def backup_ages(settings: Settings, now: datetime) -> dict[int, float] | None:
    """Seconds since the newest pgBackRest backup of each repository (HOCBA_PGBACKREST_STANZA); None when
    point-in-time recovery is not configured here, {} when pgBackRest answers nothing."""
    if not settings.pgbackrest_stanza:
        return None
    config = settings.pgbackrest_config or Path("/etc/pgbackrest/pgbackrest.conf")
    import pwd

    stanza = Stanza(config, settings.pgbackrest_stanza, pwd.getpwuid(os.geteuid()).pw_name)
    try:
        newest = last_backup(stanza.info())
    except (ClusterError, ValueError):
        return {}
    return {repo: max(0.0, (now - stop).total_seconds()) for repo, stop in newest.items()}


# --- the target -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where recovery stops: after the last commit at or before `time`, or at the LSN."""

    text: str
    time: datetime | None = None

    @property
    def kind(self) -> str:
        return "time" if self.time is not None else "lsn"

    @property
    def value(self) -> str:
        return self.time.isoformat(sep=" ") if self.time is not None else self.text


def parse_target(text: str) -> Target:
    """A moment with its offset (ISO 8601: `2026-11-28T01:00:00+07:00`) or an LSN (`0/3000060`)."""
    text = text.strip()
    if LSN.match(text):
        return Target(text.upper())
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise RestoreRefused(f"{text!r} is neither a time (2026-11-28T01:00:00+07:00) nor an LSN (0/3000060)") from None
    if moment.tzinfo is None:
        raise RestoreRefused(f"give the time with its offset ({text}+07:00): a restore never guesses the zone")
    return Target(text, moment)


# --- the restore ------------------------------------------------------------------------------------


def refuse_before_outside(target: Target, outside: Mapping[tuple[str, str], Checkpoint]) -> None:
    """Refuse a target time before a checkpoint held outside: its tree was committed before it was
    signed, so the restored ledger could not hold it."""
    if target.time is None:
        return  # an LSN is checked against the restored ledger itself
    for (school, log), checkpoint in sorted(outside.items()):
        if checkpoint.time > target.time:
            raise RestoreRefused(
                f"the target {target.text} is before the checkpoint of {school} ({log}) signed "
                f"{checkpoint.signed_at} outside the database, which covers {checkpoint.tree_size} entries: "
                "restoring to it would roll history back; choose a later target"
            )


def _empty_directory(path: Path) -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise RestoreRefused(f"{path} is not an empty directory; restore into a new one")


RESTORE_SETTINGS = {
    "listen_addresses": "",
    "archive_mode": "off",  # a restored copy never pushes its WAL into the repositories
    "logging_collector": "on",
    "log_directory": "log",
    "log_filename": "server.log",
    "hot_standby": "on",
    "recovery_init_sync_method": "syncfs",  # one sync of the file system, not one per restored file
}


def archive_errors(lines: Sequence[str]) -> list[str]:
    """What pgBackRest's archive-get said in the server's log while the cluster recovered, one line per
    error: `unable to get 000000010000000000000003 (repo1: [FormatError] unexpected eof …; repo2: …)`."""
    said: list[str] = []
    block: list[str] = []
    for line in [*lines, ""]:
        if block and line.startswith((" ", "\t")):
            repo, _, rest = line.strip().partition(": ")
            block.append(f"{repo}: {rest.split(' ', 1)[1] if ' [' in rest else rest}")
            continue
        if block:
            head, repos = block[0], block[1:]
            said.append(f"{head} ({'; '.join(repos)})" if repos else head)
            block = []
        if line.startswith("ERROR: ["):
            block = [line.split("]: ", 1)[-1].rstrip(":").strip()]
    return said


def _recovery_failed(cluster: Cluster, target: Target, error: str) -> RestoreRefused:
    found = archive_errors(cluster.log_lines())
    if "before configured recovery target" in error or found:
        why = f"pgBackRest: {found[-1]}" if found else "a segment is missing from the repositories"
        return RestoreRefused(
            f"the archived WAL does not reach the target {target.text}: {why}; recovery stopped before the "
            f"target and nothing was verified (the cluster in {cluster.data} is stopped; 'pgbackrest verify' "
            "lists damaged files)"
        )
    return RestoreRefused(f"the restored cluster in {cluster.data} did not start: {error}")


def _wait_promoted(cluster: Cluster, target: Target, timeout: float) -> None:
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            with cluster.connect() as conn:
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
            if row is not None and not row[0]:
                return
        except Exception as exc:  # the server may end recovery with a FATAL and stop
            if cluster.pid() is None:
                raise _recovery_failed(cluster, target, cluster.last_error() or str(exc)) from None
        if time.monotonic() > deadline:
            raise RestoreRefused(f"the restored cluster in {cluster.data} was still recovering after {timeout:.0f} s")
        time.sleep(0.2)


@dataclass
class PointRestore:
    """What a point-in-time restore asked for and where it put the result."""

    stanza: Stanza
    target: Target
    into: Path
    port: int
    database: str = "hocba"
    repo: int | None = None  # None: pgBackRest tries every repository in order


def physical_restore(request: PointRestore) -> Cluster:
    """pgBackRest restores the newest backup before the target into `into`, and PostgreSQL replays the
    archived WAL up to the target, then opens (a new timeline). The new cluster listens on its socket
    in `into`, on `port`, and archives nothing."""
    _empty_directory(request.into)
    cluster = Cluster(request.into, request.port, user=request.stanza.user)
    hand_over(request.into, cluster.user)
    options = [
        f"--pg1-path={request.into}",
        f"--type={request.target.kind}",
        f"--target={request.target.value}",
        "--target-action=promote",
        "--archive-mode=off",
    ]
    if request.repo is not None:
        options.append(f"--repo={request.repo}")
    try:
        request.stanza.run("restore", *options)
    except ClusterError as exc:
        raise RestoreRefused(f"pgBackRest could not restore: {str(exc).removeprefix('pgbackrest failed: ')}") from None
    if not (request.into / "postgresql.conf").exists():  # Debian keeps it in /etc/postgresql
        cluster.write("postgresql.conf", "# written by hocba restore --pitr\n")
    cluster.write("hocba-restore-hba.conf", "local all all trust\n")  # the socket is the owner's only
    overrides = {
        **RESTORE_SETTINGS,
        **{k: v.strip("'") for k, v in cluster.socket_settings().items()},
        "hba_file": str(request.into / "hocba-restore-hba.conf"),
        "data_directory": str(request.into),
        "external_pid_file": "",
    }
    try:
        cluster.start(overrides, timeout=600)
    except ClusterError:
        raise _recovery_failed(cluster, request.target, cluster.last_error() or "it stopped") from None
    try:
        _wait_promoted(cluster, request.target, 600)
    except RestoreRefused:
        cluster.stop("immediate")
        raise
    return cluster


async def verify_restored(
    settings: Settings,
    cluster: Cluster,
    database: str,
    files: Sequence[Path],
    roots: Sequence[Any],
    *,
    ask_witnesses: bool = True,
) -> dict[str, Any]:
    """The service's full verification of the restored database, against the trees held outside
    (`files`: checkpoints, backup manifests; the witnesses). A tree held outside that the restored ledger
    lacks refuses the restore as a rollback; any other finding as a ledger that does not verify."""
    from dataclasses import replace

    import psycopg

    from ledger.app.verification import verify_installation

    url = cluster.url(database)
    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            row = conn.execute(
                "SELECT greatest((SELECT max(recorded_at) FROM hocba.events), "
                "(SELECT max(recorded_at) FROM hocba.access_log))"
            ).fetchone()
    except psycopg.Error as exc:
        raise RestoreRefused(f"the restored cluster has no hocba database {database!r}: {exc}") from None
    # The restored ledger is judged as of its last write: entries not yet checkpointed then are not late now.
    moment = row[0] if row and row[0] is not None else datetime.now(UTC)
    runtime = Runtime(replace(settings, database_url=url), url, ManualClock(moment))
    try:
        report, notes = await verify_installation(runtime, files=files, ask_witnesses=ask_witnesses, roots=roots)
    finally:
        await runtime.close()
    for result in report.schools:
        for finding in sorted(result.findings, key=lambda f: f.seq):
            if finding.problem == "rolled-back":
                raise RestoreRefused(
                    f"restoring to this point would roll history back: school {result.school} ({result.log}): "
                    f"{finding.message}; choose a later target"
                )
    bad = [r for r in report.schools if not r.ok]
    if bad:
        first = min(bad[0].findings, key=lambda f: f.seq)
        raise RestoreRefused(
            f"the restored ledger does not verify: school {bad[0].school} ({bad[0].log}): {first.message}"
        )
    return {
        "as_of": moment.isoformat(),
        "notes": notes,
        "verified": {
            log: {"ok": all(r.ok for r in report.of(log)), "events": sum(r.events for r in report.of(log))}
            for log in ("events", "access")
        },
    }


async def restore_to_point(
    settings: Settings,
    request: PointRestore,
    outside: Mapping[tuple[str, str], Checkpoint],
    files: Sequence[Path],
    roots: Sequence[Any],
    *,
    ask_witnesses: bool = True,
) -> dict[str, Any]:
    """Refuse a target before a checkpoint held outside; restore into a new cluster; verify it in full.
    On a refusal after the restore, the new cluster is stopped (its directory is left for inspection)."""
    refuse_before_outside(request.target, outside)
    cluster = physical_restore(request)
    try:
        verified = await verify_restored(settings, cluster, request.database, files, roots, ask_witnesses=ask_witnesses)
    except BaseException:
        cluster.stop("fast")
        raise
    return {
        "target": request.target.text,
        "into": str(request.into),
        "url": cluster.url(request.database),
        **verified,
    }
