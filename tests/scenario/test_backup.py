"""Backups kept in two places, encrypted, and the restore drill (the regulation's Điều 20.4, 28.1;
Điều 5.3a): a backup restores into an empty database and verifies; a restore proves it extends the
checkpoints held outside it, and refuses to roll history back; a changed file or a wrong key is
refused; the newest backups are kept."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ledger.app import migrate
from ledger.app.db import APP_ROLE, create_engine, ensure_database
from ledger.app.demo import ADMIN, build_demo_school
from ledger.school.readmodels import school_ledger
from ledger.school.years.commands import open_classes
from tests.support import helpers


@pytest.fixture
def databases(server_url: str) -> Iterator[list[str]]:
    """Four databases of their own: the service's (migrated) and three empty restore targets."""
    names = [f"hocba_bk_{os.getpid()}_{uuid.uuid4().hex[:6]}_{n}" for n in range(4)]
    urls = [ensure_database(server_url, name) for name in names]
    migrate.upgrade(urls[0])
    yield urls
    with psycopg.connect(server_url, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def heads(url: str) -> list[tuple[str, int, bytes]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT school_id, max(seq) FROM hocba.events GROUP BY school_id ORDER BY 1").fetchall()
        return [
            (
                school,
                seq,
                conn.execute(
                    "SELECT hash FROM hocba.events WHERE school_id = %s AND seq = %s", (school, seq)
                ).fetchone()[0],
            )
            for school, seq in rows
        ]


@pytest.mark.slow
async def test_restore_drill_two_destinations_no_rollback_dieu_20_4(
    databases: list[str], env: dict[str, str], tmp_path: Path
) -> None:
    service, target, older_target, spare = databases
    school = f"t-{uuid.uuid4().hex[:12]}"
    engine = create_engine(service, APP_ROLE)
    try:
        demo = await build_demo_school(engine, school, students_per_class=2, terms=(1,), summer=False)
    finally:
        await engine.dispose()
    key = tmp_path / "backup.key"
    assert helpers.hocba("backup-key", "-o", str(key), env=env).returncode == 0
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    first_place, second_place = tmp_path / "nas", tmp_path / "usb"
    on = {**env, "DATABASE_URL": service}
    backup = ["backup", "--to", str(first_place), "--to", str(second_place), "--key-file", str(key), "--json"]

    made = helpers.hocba(*backup, env=on)
    assert made.returncode == 0, made.stderr
    first = json.loads(made.stdout)
    for place in (first_place, second_place):
        assert sorted(p.name for p in place.iterdir()) == sorted([first["file"], first["file"][:-4] + ".json"])
        sealed = (place / first["file"]).read_bytes()
        assert demo.names[demo.rosters["6A1"][0]].encode() not in sealed  # encrypted at rest
    assert {c["school"] for c in first["checkpoints"]} >= {school}

    # history goes on, then a second backup
    engine = create_engine(service, APP_ROLE)
    try:
        await open_classes(school_ledger(engine, clock=demo.clock), school, ADMIN, "2025-2026", [("6A2", 6)])
    finally:
        await engine.dispose()
    second = json.loads(helpers.hocba(*backup, env=on).stdout)

    # the newer backup restores, verifies, and extends the older backup's checkpoints
    restore = ["restore", "--key-file", str(key), "--from", str(first_place), "--from", str(second_place), "--json"]
    done = helpers.hocba(*restore, str(second_place / second["file"]), "--into", target, env=on)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["verified"]["events"]["ok"] and report["verified"]["access"]["ok"]
    assert {(p["school"], p["log"]) for p in report["consistency"]} >= {(school, "events")}
    assert heads(target) == heads(service)

    # the older backup would roll history back: refused, and the target stays empty
    older = helpers.hocba(*restore, str(first_place / first["file"]), "--into", older_target, env=on)
    assert older.returncode != 0 and "roll history back" in older.stderr
    with psycopg.connect(older_target) as conn:
        assert conn.execute("SELECT to_regclass('hocba.events')").fetchone() == (None,)

    # a changed byte, a wrong key, a database that is not empty
    changed = tmp_path / "changed.hbk"
    data = bytearray((first_place / second["file"]).read_bytes())
    data[len(data) // 2] ^= 1
    changed.write_bytes(bytes(data))
    broken = helpers.hocba(*restore, str(changed), "--into", spare, env=on)
    assert broken.returncode != 0 and "does not decrypt" in broken.stderr
    other_key = tmp_path / "other.key"
    helpers.hocba("backup-key", "-o", str(other_key), env=env)
    wrong = helpers.hocba(
        "restore", "--key-file", str(other_key), str(first_place / second["file"]), "--into", spare, env=on
    )
    assert wrong.returncode != 0 and "does not decrypt" in wrong.stderr
    again = helpers.hocba(*restore, str(second_place / second["file"]), "--into", target, env=on)
    assert again.returncode != 0 and "not empty" in again.stderr

    # retention: the newest backup only
    kept = helpers.hocba("backup", "--to", str(first_place), "--key-file", str(key), "--keep", "1", env=on)
    assert kept.returncode == 0, kept.stderr
    assert len([p for p in first_place.iterdir() if p.suffix == ".hbk"]) == 1
