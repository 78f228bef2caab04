"""Backup, restore and verify of a 1,000-student school, against PostgreSQL's own dump and restore of
the same database measured in the same run.

    .venv/bin/python ops/bench_backup.py [--classes-per-grade 6] [--students-per-class 42] [--json FILE]

Uses DATABASE_URL's server (or the embedded PostgreSQL) and scratch databases it drops afterwards.
The school is the demo year (every subject, both terms, conduct, absences, comments, corrections,
summer work) at full size, without signatures. `hocba backup` = checkpoints + pg_dump + AES-256-GCM
to two destinations; its baseline is `pg_dump -Fc` alone. `hocba restore` = decrypt + pg_restore in
one transaction + full verification of every chain + consistency proofs; its baseline is
`pg_restore` alone into an empty database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger.app import migrate
from ledger.app.backup import BackupKey, LocalDirectory, create_backup, pg_tool, restore_backup, write_new_key
from ledger.app.db import APP_ROLE, create_engine, ensure_database, start_embedded
from ledger.app.demo import build_demo_school
from ledger.app.runtime import Runtime
from ledger.base.clock import SystemClock
from ledger.base.settings import load_settings
from signing.x509.pki import Pki


def timed(label: str, started: float) -> float:
    seconds = time.perf_counter() - started
    print(f"  {label:<52} {seconds:8.2f} s", flush=True)
    return seconds


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--classes-per-grade", type=int, default=6)
    parser.add_argument("--students-per-class", type=int, default=42)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    server = os.environ.get("DATABASE_URL") or start_embedded(Path.home() / ".cache" / "hocba-bench" / "pgdata")
    names = [f"hocba_bk_bench_{uuid.uuid4().hex[:6]}_{n}" for n in range(3)]
    source, target, plain_target = (ensure_database(server, name) for name in names)
    migrate.upgrade(source)
    work = Path(tempfile.mkdtemp(prefix="hocba-bench-backup-"))
    pki = Pki(work / "pki")
    pki.init_demo()
    figures: dict[str, Any] = {}
    try:
        students = 4 * args.classes_per_grade * args.students_per_class
        print(f"a school of {students} students, its whole year")
        engine = create_engine(source, APP_ROLE)
        started = time.perf_counter()
        await build_demo_school(
            engine,
            "bench-kp",
            classes_per_grade=args.classes_per_grade,
            students_per_class=args.students_per_class,
            corrections=True,
        )
        await engine.dispose()
        figures["build_s"] = timed("built through the ledger", started)
        with psycopg.connect(source) as conn:
            figures["events"] = conn.execute("SELECT count(*) FROM hocba.events").fetchone()[0]  # type: ignore[index]

        dump = work / "plain.dump"
        started = time.perf_counter()
        await asyncio.to_thread(
            subprocess.run, [pg_tool("pg_dump", source), "-Fc", "-f", str(dump), "--dbname", source], check=True
        )
        figures["pg_dump_s"] = timed("baseline: pg_dump -Fc", started)

        runtime = Runtime(replace(load_settings(), home=work), source, SystemClock())
        key_file = work / "backup.key"
        write_new_key(key_file)
        key = BackupKey.from_file(key_file)
        places = [LocalDirectory(work / "nas"), LocalDirectory(work / "usb")]
        started = time.perf_counter()
        made = await create_backup(runtime, places, key)
        figures["backup_s"] = timed("hocba backup (checkpoints, dump, encrypt, 2 places)", started)
        await runtime.close()
        figures["backup_bytes"] = (work / "nas" / made["file"]).stat().st_size

        started = time.perf_counter()
        restore_argv = [
            pg_tool("pg_restore", plain_target),
            "--single-transaction",
            "--dbname",
            plain_target,
            str(dump),
        ]
        await asyncio.to_thread(subprocess.run, restore_argv, check=True)
        figures["pg_restore_s"] = timed("baseline: pg_restore into an empty database", started)
        started = time.perf_counter()
        report = await restore_backup((work / "nas" / made["file"]).read_bytes(), key, target, pki.roots(), {})
        figures["restore_s"] = timed("hocba restore (decrypt, restore, verify every chain)", started)
        assert report["verified"]["events"]["ok"]
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    figures["backup_ratio_to_pg_dump"] = figures["pg_dump_s"] / figures["backup_s"]
    figures["restore_ratio_to_pg_restore"] = figures["pg_restore_s"] / figures["restore_s"]
    print()
    print(f"{figures['events']} events; backup file {figures['backup_bytes'] / 1e6:.1f} MB")
    print(f"backup:  pg_dump/hocba backup   = {figures['backup_ratio_to_pg_dump']:.2f}")
    print(f"restore: pg_restore/hocba restore = {figures['restore_ratio_to_pg_restore']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
