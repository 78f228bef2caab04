"""Province scale: many schools in one repository. Ingest and full-verification throughput, how they
grow with the number of events and of schools, and what 500 schools × 1,000 students × one year
(about 75M events) would take, extrapolated from what this machine measures.

    .venv/bin/python ops/bench_province.py [--total 200000] [--schools 10,100,400] [--writers 8] [--json FILE]

Uses DATABASE_URL's server (or the embedded PostgreSQL) and a scratch database it drops afterwards.
For each number of schools, the same --total assessment-sized events are spread evenly over them and
appended by --writers concurrent writers, each owning a disjoint set of schools (as the service's
processes would serve different schools), in batches of 500 per school; the baseline is plain
INSERTs of the same rows with the same writers into an unchained table. Then every school is
verified (signatures, chain, Merkle roots, columns), and the events table's size per event is read.
A second series doubles the total at a fixed number of schools, to see the cost grow with events.
Finally the plans of one school's hot queries are shown to read one partition.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ledger import PLAIN_DDL, events, plain_insert

from ledger.app import migrate
from ledger.app.db import APP_ROLE, AUDITOR_ROLE, create_engine, ensure_database, start_embedded
from ledger.app.runtime import checkpoint_policy_for
from ledger.base.settings import Settings
from ledger.log.checkpointing import CheckpointPolicy, make_checkpoint
from ledger.log.verify import verify
from ledger.school.readmodels import school_ledger
from signing.x509.pki import Pki

BATCH = 500
PROVINCE_EVENTS = 500 * 1000 * 150  # 500 schools × 1,000 students × ~150 events a student a year


async def _writers(schools: list[str], per_school: int, writers: int, append: Any) -> float:
    """Append `per_school` events to every school, `writers` at a time, each with its own schools."""
    groups = [schools[i::writers] for i in range(writers)]

    async def writer(mine: list[str], offset: int) -> None:
        for start in range(0, per_school, BATCH):
            for school in mine:
                await append(school, events(min(BATCH, per_school - start), offset + start))

    started = time.perf_counter()
    await asyncio.gather(*(writer(group, n * 10**7) for n, group in enumerate(groups) if group))
    return time.perf_counter() - started


def timestamped(url: str, pki: Pki) -> CheckpointPolicy:
    """Checkpoints timestamped by the school's authority, as the service signs them (verify requires it)."""
    settings = Settings(
        database_url=url,
        home=pki.directory,
        environment="development",
        log_format="console",
        school=None,
        checkpoint_interval=300,
    )
    return checkpoint_policy_for(settings, pki)


async def run(url: str, pki: Pki, tag: str, schools: int, total: int, writers: int) -> dict[str, Any]:
    names = [f"{tag}-{n:04d}" for n in range(schools)]
    per_school = total // schools
    engine = create_engine(url, APP_ROLE, pool_size=writers + 2)
    auditor = create_engine(url, AUDITOR_ROLE)
    ledgers = [school_ledger(engine) for _ in range(writers)]
    by_school = {school: ledgers[n % writers] for n, school in enumerate(names)}
    try:
        ledger_s = await _writers(names, per_school, writers, lambda s, batch: by_school[s].append(s, batch))
        plain_s = await _writers(names, per_school, writers, lambda s, batch: plain_insert(engine, f"plain-{s}", batch))
        policy = timestamped(url, pki)
        started = time.perf_counter()
        for school in names:
            await make_checkpoint(engine, school, pki.demo_service_key(school), policy=policy)
        checkpoint_s = time.perf_counter() - started
        started = time.perf_counter()
        report = await verify(auditor, pki.roots(), names)
        verify_s = time.perf_counter() - started
        assert report.ok, "the province does not verify"
    finally:
        await engine.dispose()
        await auditor.dispose()
    appended = per_school * schools
    figures = {
        "schools": schools,
        "events": appended,
        "ingest_events_per_s": appended / ledger_s,
        "plain_events_per_s": appended / plain_s,
        "ingest_ratio_to_plain": plain_s / ledger_s,
        "checkpoint_s": checkpoint_s,
        "verify_events_per_s": appended / verify_s,
        "verify_s": verify_s,
    }
    print(
        f"  {schools:>4} schools × {per_school:>7} events: ingest {figures['ingest_events_per_s']:>9,.0f} ev/s "
        f"(plain {figures['plain_events_per_s']:>9,.0f}, ratio {figures['ingest_ratio_to_plain']:.2f}); "
        f"checkpoints {checkpoint_s:5.1f} s; verify {figures['verify_events_per_s']:>9,.0f} ev/s",
        flush=True,
    )
    return figures


def plans(url: str) -> dict[str, list[str]]:
    """The partitions each hot query of one school reads."""
    import re

    queries = {
        "head": "SELECT seq, hash FROM hocba.events WHERE school_id = 'p1-0001' ORDER BY seq DESC LIMIT 1",
        "events after a seq": "SELECT * FROM hocba.events WHERE school_id = 'p1-0001' AND seq > 100 LIMIT 500",
        "a read model": "SELECT * FROM hocba_read.assessments WHERE school_id = 'p1-0001' AND seq_to IS NULL",
        "latest checkpoint": "SELECT * FROM hocba.checkpoints WHERE school_id = 'p1-0001' ORDER BY tree_size DESC LIMIT 1",
    }
    found = {}
    with psycopg.connect(url) as conn:
        for label, query in queries.items():
            plan = "\n".join(row[0] for row in conn.execute(f"EXPLAIN {query}"))
            found[label] = sorted(set(re.findall(r" on (\w+_p\d\d)\b", plan)))
    return found


def bytes_per_event(url: str) -> float:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits "
            "WHERE inhparent = 'hocba.events'::regclass), (SELECT count(*) FROM hocba.events)"
        ).fetchone()
    assert row is not None
    size, count = row
    return float(size) / max(1, int(count))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--total", type=int, default=200_000, help="events per run")
    parser.add_argument("--schools", default="10,100,400", help="numbers of schools to compare")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    counts = [int(n) for n in args.schools.split(",")]

    server = os.environ.get("DATABASE_URL") or start_embedded(Path.home() / ".cache" / "hocba-bench" / "pgdata")
    name = f"hocba_province_{uuid.uuid4().hex[:8]}"
    url = ensure_database(server, name)
    migrate.upgrade(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(PLAIN_DDL)
        conn.execute("GRANT SELECT, INSERT ON public.plain_events TO hocba_app")
    pki = Pki(Path("/tmp") / f"{name}-pki")
    pki.init_demo()
    figures: dict[str, Any] = {"by_schools": [], "by_events": []}
    try:
        print(f"the same {args.total} events over more and more schools ({args.writers} writers)")
        for n, schools in enumerate(counts):
            figures["by_schools"].append(await run(url, pki, f"p{n}", schools, args.total, args.writers))
        middle = counts[len(counts) // 2]
        print(f"more and more events over {middle} schools")
        for n, factor in enumerate((1, 2)):
            figures["by_events"].append(await run(url, pki, f"q{n}", middle, args.total * factor, args.writers))
        figures["bytes_per_event"] = bytes_per_event(url)
        figures["partitions_read"] = plans(url)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    ingest = min(f["ingest_events_per_s"] for f in figures["by_schools"] + figures["by_events"])
    check = min(f["verify_events_per_s"] for f in figures["by_schools"] + figures["by_events"])
    figures["province_events"] = PROVINCE_EVENTS
    figures["province_ingest_hours"] = PROVINCE_EVENTS / ingest / 3600
    figures["province_verify_hours"] = PROVINCE_EVENTS / check / 3600
    figures["province_events_gb"] = PROVINCE_EVENTS * figures["bytes_per_event"] / 1e9
    print()
    print(f"partitions read by one school's hot queries: {figures['partitions_read']}")
    print(f"events table: {figures['bytes_per_event']:.0f} bytes per event, with indexes")
    print(
        f"500 schools × 1,000 students × one year ≈ {PROVINCE_EVENTS / 1e6:.0f}M events, at the slowest rates measured:"
    )
    print(
        f"  ingest {figures['province_ingest_hours']:.1f} h, full verification {figures['province_verify_hours']:.1f} h, "
        f"{figures['province_events_gb']:.0f} GB of events"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
