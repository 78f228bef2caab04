"""Point-in-time recovery drills with pgBackRest, against clusters of the test's own (under its own
directory, on their own ports): a primary archiving its WAL into two encrypted repositories, with a
full backup in each and an incremental one in the first; then `hocba restore --pitr`, the command an
operator runs, into fresh clusters.

The point restored to lies a second after a known commit (a drill on a real installation goes five
minutes back; the interval changes nothing in what recovery does, and keeps CI fast). The primary
runs with fsync off, which a killed process does not notice (only a power cut would), also for speed."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from ledger.app import migrate
from ledger.app.db import ensure_database
from ledger.app.recovery.cluster import Cluster
from ledger.app.recovery.pitr import Repository, Stanza, write_config
from ledger.app.runtime import Runtime
from ledger.base.clock import SystemClock
from ledger.base.settings import Settings
from ledger.school.readmodels import school_ledger
from tests.support.helpers import free_port, hocba, noted
from tests.support.witnesses import WitnessProcess, witness_process

pytestmark = pytest.mark.slow

BEFORE, AFTER = 12, 5  # events before the point restored to, and after it


@dataclass
class Archived:
    """A primary that archived its WAL, with backups, events before and after `point`."""

    base: Path
    primary: Cluster
    stanza: Stanza
    repositories: list[Repository]
    school: str
    point: datetime  # a little after the last commit of BEFORE events
    point_lsn: str
    point_segment: str  # the WAL segment being written at `point`
    kept_before: Path  # an integration client's checkpoint of the BEFORE events
    kept_after: Path  # … and of everything, taken after `point`


def keep(path: Path, checkpoint: object) -> Path:
    path.write_text(json.dumps(checkpoint.to_json()))  # type: ignore[attr-defined]
    return path


@pytest.fixture(scope="module")
async def archived(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> AsyncIterator[Archived]:
    base = tmp_path_factory.mktemp("pitr")
    primary = Cluster(base / "primary", free_port())
    primary.initdb(durable=False)
    repositories = [Repository(base / "disk", full=2), Repository(base / "second-place", full=4)]
    stanza = write_config(base / "pgbackrest.conf", "hocba", primary, repositories, work=base / "work")
    primary.configure({"wal_level": "replica", "archive_mode": "on", "archive_command": stanza.archive_command})
    primary.start()
    try:
        stanza.create()
        stanza.backup("full", repo=1)
        stanza.backup("full", repo=2)
        url = ensure_database(primary.url(), "hocba")
        migrate.upgrade(url)
        runtime = Runtime(replace(settings, database_url=url), url, SystemClock())
        school = f"t-{uuid.uuid4().hex[:12]}"
        try:
            ledger = school_ledger(runtime.engine(), clock=SystemClock())
            await ledger.append(school, noted(BEFORE))
            kept_before = keep(base / "client-before.json", await runtime.checkpoint(school))
            stanza.backup("incr", repo=1)
            await asyncio.sleep(1)
            point = datetime.now(UTC)
            with primary.connect() as conn:
                lsn, segment = conn.execute(
                    "SELECT pg_current_wal_lsn()::text, pg_walfile_name(pg_current_wal_lsn())"
                ).fetchone()  # type: ignore[misc]
            await asyncio.sleep(1)
            await ledger.append(school, noted(AFTER, start=BEFORE))
            kept_after = keep(base / "client-after.json", await runtime.checkpoint(school))
        finally:
            await runtime.close()
        stanza.check()  # the segment holding the last commits is archived in both repositories
        yield Archived(base, primary, stanza, repositories, school, point, lsn, segment, kept_before, kept_after)
    finally:
        primary.stop("immediate")


def restore(  # type: ignore[no-untyped-def]
    archived: Archived,
    env: dict[str, str],
    into: Path,
    to: str,
    *options: str,
    config: Path | None = None,
    offline: bool = True,
):
    """`hocba restore --pitr`, as an operator runs it (without asking the witnesses, unless told)."""
    return hocba(
        "restore",
        "--pitr",
        "--to",
        to,
        "--into",
        str(into),
        "--port",
        str(free_port()),
        "--pgbackrest-config",
        str(config or archived.stanza.config),
        *(["--offline"] if offline else []),
        *options,
        env=env,
        timeout=300,
    )


def seqs(cluster: Cluster, school: str) -> list[int]:
    with psycopg.connect(cluster.url("hocba")) as conn:
        rows = conn.execute("SELECT seq FROM hocba.events WHERE school_id = %s ORDER BY seq", (school,)).fetchall()
    return [seq for (seq,) in rows]


def restored_cluster(archived: Archived, into: Path, answer: str) -> Cluster:
    url = json.loads(answer)["url"]
    return Cluster(into, int(url.rsplit("port=", 1)[1]), user=archived.primary.user)


async def test_a_restore_to_a_point_verifies_and_holds_exactly_the_events_up_to_it(
    archived: Archived, env: dict[str, str]
) -> None:
    into = archived.base / "restored-at-point"
    done = restore(archived, env, into, archived.point.isoformat(), "--checkpoint", str(archived.kept_before), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["verified"]["events"] == {"ok": True, "events": BEFORE}
    cluster = restored_cluster(archived, into, done.stdout)
    try:
        assert seqs(cluster, archived.school) == list(range(1, BEFORE + 1))  # not one event after the point
        with cluster.connect() as conn:  # promoted: open for writes, on a timeline of its own
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (False,)
            assert conn.execute("SELECT pg_walfile_name(pg_current_wal_lsn())").fetchone()[0][:8] == "00000002"  # type: ignore[index]
    finally:
        cluster.stop()
    # the primary went on: the restore took a copy, and left the primary's history alone
    assert seqs(archived.primary, archived.school) == list(range(1, BEFORE + AFTER + 1))


def sample(text: str, name: str, **labels: str) -> float:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    selector = rf"\{{{re.escape(inner)}\}}" if inner else ""
    found = re.search(rf"^{name}{selector} (\S+)$", text, re.MULTILINE)
    assert found, f"{name}{{{inner}}} is missing"
    return float(found.group(1))


async def test_metrics_show_the_archiving_the_backups_of_each_repository_and_the_timeline(
    archived: Archived, settings: Settings
) -> None:
    from api.http.metrics import exposition

    url = archived.primary.url("hocba")
    watched = replace(settings, database_url=url, pgbackrest_stanza="hocba", pgbackrest_config=archived.stanza.config)
    runtime = Runtime(watched, url, SystemClock())
    try:
        text = await exposition(runtime)
    finally:
        await runtime.close()
    assert sample(text, "hocba_wal_archived_total") >= 3
    assert sample(text, "hocba_wal_archive_failures_total") == 0
    assert sample(text, "hocba_wal_last_archived_timestamp_seconds") > archived.point.timestamp()
    assert sample(text, "hocba_postgres_timeline", role="primary") == 1
    assert 0 <= sample(text, "hocba_pitr_backup_age_seconds", repo="1") < 600  # the incremental one
    assert sample(text, "hocba_pitr_backup_age_seconds", repo="2") >= sample(
        text, "hocba_pitr_backup_age_seconds", repo="1"
    )


async def test_a_point_before_a_checkpoint_held_outside_is_refused(archived: Archived, env: dict[str, str]) -> None:
    # a time before the client's checkpoint: refused before anything is restored
    into = archived.base / "refused-by-time"
    done = restore(archived, env, into, archived.point.isoformat(), "--checkpoint", str(archived.kept_after))
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert "restoring to it would roll history back; choose a later target" in line
    assert f"covers {BEFORE + AFTER} entries" in line
    assert not into.exists() or not any(into.iterdir())

    # an LSN cannot be compared with a time: the restored ledger itself lacks the client's tree
    into = archived.base / "refused-by-lsn"
    done = restore(archived, env, into, archived.point_lsn, "--checkpoint", str(archived.kept_after))
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert "restoring to this point would roll history back" in line
    assert f"holds a tree of {BEFORE + AFTER} entries; this database holds only {BEFORE}" in line
    assert Cluster(into, 0, user=archived.primary.user).pid() is None  # the refused copy is stopped


@pytest.fixture(scope="module")
def witness(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WitnessProcess]:
    with witness_process(server_url, tmp_path_factory.mktemp("witness-home")) as running:
        yield running


async def test_a_point_before_what_the_witness_cosigned_is_refused(
    archived: Archived, env: dict[str, str], witness: WitnessProcess
) -> None:
    """The Sở witnessed the school's ledger after the point: with no checkpoint file at hand, the restore
    asks the witness, finds the restored ledger smaller than what the witness cosigned, and refuses it."""
    school_env = witness.witness(archived.school, {**env, "DATABASE_URL": archived.primary.url("hocba")}, archived.base)
    published = hocba("checkpoint", "--school", archived.school, env=school_env)
    assert published.returncode == 0 and "cosigned by witness.sogddt-ninhbinh.test" in published.stdout, (
        published.stdout + published.stderr
    )
    into = archived.base / "refused-by-the-witness"
    done = restore(archived, school_env, into, archived.point.isoformat(), offline=False)
    assert done.returncode == 2, done.stdout + done.stderr
    [line] = done.stderr.strip().splitlines()  # one readable line
    assert "restoring to this point would roll history back" in line
    assert f"the witness witness.sogddt-ninhbinh.test holds a tree of {BEFORE + AFTER} entries" in line
    assert f"this database holds only {BEFORE}" in line
    assert Cluster(into, 0, user=archived.primary.user).pid() is None  # the refused copy is stopped


async def test_a_damaged_wal_segment_in_the_repositories_refuses_the_restore(
    archived: Archived, env: dict[str, str]
) -> None:
    # a copy of the repositories, so that the other drills keep theirs intact
    copies = [replace(repo, path=archived.base / f"damaged-{n}") for n, repo in enumerate(archived.repositories)]
    for repo, copy in zip(archived.repositories, copies, strict=True):
        shutil.copytree(repo.path, copy.path)
        for path in [copy.path, *copy.path.rglob("*")]:
            shutil.chown(path, archived.primary.user, archived.primary.user)
    stanza = write_config(
        archived.base / "damaged.conf", "hocba", archived.primary, copies, work=archived.base / "damaged-work"
    )

    def damage(repo: Repository) -> None:
        [segment] = repo.path.glob(f"archive/hocba/*/*/{archived.point_segment}-*")
        data = bytearray(segment.read_bytes())
        for i in range(len(data) // 3, len(data) // 3 + 64):
            data[i] ^= 0xFF
        segment.write_bytes(bytes(data))

    # damaged on the local disk only: the second place still has it, and the restore goes through
    damage(copies[0])
    into = archived.base / "restored-from-the-second-place"
    done = restore(archived, env, into, archived.point.isoformat(), "--json", config=stanza.config)
    assert done.returncode == 0, done.stderr
    cluster = restored_cluster(archived, into, done.stdout)
    try:
        assert seqs(cluster, archived.school) == list(range(1, BEFORE + 1))
    finally:
        cluster.stop()

    # damaged in both: recovery cannot reach the point, and the restore says so
    damage(copies[1])
    into = archived.base / "restored-from-damaged"
    done = restore(archived, env, into, archived.point.isoformat(), config=stanza.config)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert f"the archived WAL does not reach the target {archived.point.isoformat()}" in line
    assert f"unable to get {archived.point_segment} (repo1: [FormatError]" in line
    assert "nothing was verified" in line
    assert Cluster(into, 0, user=archived.primary.user).pid() is None
