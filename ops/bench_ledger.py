"""Ledger core benchmark: append and verify throughput, as ratios to baselines measured in the same run.

    .venv/bin/python ops/bench_ledger.py [--events 1000000] [--append-events 20000] [--json FILE]

Uses DATABASE_URL's server (or the embedded PostgreSQL) and a scratch database it drops afterwards.

Append: the same rows (same school, payloads and batch sizes) go (a) through the ledger core alone
(per-school lock, canonical encoding, hash chain, no read models), (a') through the ledger with the
school's read models folded in the same transaction (each event a new version of a row of
hocba_read.assessments), and (b) as plain INSERTs into an unchained table with the same
columns and keys, its payload serialised with json.dumps and seq drawn from an identity column. All
go through the same engine and driver. Measured for one writer with batches, and for 16 concurrent
writers on one school. --skip-verify measures the appends alone.

Verify: the whole verification `hocba verify` runs over both logs (events and access trail) of one
school, --events entries each (checkpoint signatures, timestamps and their chain, each body's
canonical form, the hash chain, Merkle roots at every checkpoint, column checks): a process per log
(ledger.app.verify_pool), and again in one process (ledger.log.verify), against two baselines over exactly the bytes verify hashes,
0x00 || prev_hash || body per entry: (a) SHA-256 of each in memory, (b) streaming the same rows
from PostgreSQL and SHA-256 of each, one log after the other, read as verify reads a long log (on a
blocking connection beside the transaction's own, ledger.log.walk.stream_rows), and (b') the same
read on the transaction's asyncio connection, as every verification read before.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger.app import migrate
from ledger.app.db import APP_ROLE, AUDITOR_ROLE, create_engine, ensure_database, start_embedded
from ledger.app.runtime import checkpoint_policy_for
from ledger.app.verify_pool import verify_logs
from ledger.base.settings import Settings
from ledger.format.envelope import Actor, NewEvent
from ledger.log.append import Ledger
from ledger.log.checkpointing import make_checkpoint
from ledger.log.schema import ACCESS, EVENTS
from ledger.log.verify import verify
from ledger.log.walk import stream_rows
from ledger.school.readmodels import school_ledger
from signing.x509.pki import Pki

TEACHER = Actor("gv.nguyenthilan", "SUBJECT_TEACHER")
PLAIN_DDL = """
CREATE TABLE IF NOT EXISTS public.plain_events (
    school_id text NOT NULL, seq bigint GENERATED ALWAYS AS IDENTITY, event_id uuid NOT NULL,
    type text NOT NULL, recorded_at timestamptz NOT NULL, payload jsonb NOT NULL, actor jsonb NOT NULL,
    PRIMARY KEY (school_id, seq), UNIQUE (school_id, event_id))
"""


def payload(i: int) -> dict[str, Any]:
    """A realistic assessment-sized payload."""
    return {
        "year": "2025-2026",
        "student": f"0792010{i % 100000:05d}",
        "class": f"{6 + i % 4}A{1 + i % 5}",
        "subject": ["TOAN", "NGU_VAN", "TIENG_ANH", "KHTN"][i % 4],
        "term": 1 + i % 2,
        "kind": "regular",
        "slot": 1 + i % 4,
        "value": f"{5 + i % 5}.{i % 10}",
    }


def events(count: int, start: int = 0) -> list[NewEvent]:
    return [NewEvent("assessment.recorded", payload(start + i), TEACHER) for i in range(count)]


async def plain_insert(engine: Any, school: str, batch: list[NewEvent]) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO public.plain_events (school_id, event_id, type, recorded_at, payload, actor)"
                " VALUES (:school, :id, :type, now(), :payload, :actor)"
            ),
            [
                {
                    "school": school,
                    "id": e.event_id,
                    "type": e.type,
                    "payload": json.dumps(e.payload, ensure_ascii=False),
                    "actor": json.dumps(e.actor.to_json()),
                }
                for e in batch
            ],
        )


async def timed(label: str, work: Any) -> float:
    started = time.perf_counter()
    await work
    seconds = time.perf_counter() - started
    print(f"  {label:<46} {seconds:8.2f} s", flush=True)
    return seconds


async def bench_append(url: str, total: int, batch: int, writers: int) -> dict[str, float]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(PLAIN_DDL)
        conn.execute("GRANT SELECT, INSERT ON public.plain_events TO hocba_app")
    engine = create_engine(url, APP_ROLE, pool_size=writers + 2)
    plain = create_engine(url, APP_ROLE, pool_size=writers + 2)
    ledger = Ledger(engine, ())
    work = events(total)
    chunks = [work[i : i + batch] for i in range(0, total, batch)]
    results: dict[str, float] = {}

    print(f"append, one writer, {total} events in batches of {batch}")
    ledger_s = await timed("ledger", _sequential(lambda c: ledger.append("bench-append-1", c), chunks))
    plain_s = await timed("plain INSERT", _sequential(lambda c: plain_insert(plain, "bench-append-1", c), chunks))
    results["append_single_events_per_s"] = total / ledger_s
    results["append_single_plain_events_per_s"] = total / plain_s
    results["append_single_ratio"] = plain_s / ledger_s
    plain_single_s = plain_s

    small = max(1, batch // 10)
    work = events(total, start=total)
    chunks = [work[i : i + small] for i in range(0, total, small)]
    print(f"append, {writers} concurrent writers on one school, {total} events in batches of {small}")
    ledger_s = await timed("ledger", _concurrent(lambda c: ledger.append("bench-append-16", c), chunks, writers))
    plain_s = await timed(
        "plain INSERT", _concurrent(lambda c: plain_insert(plain, "bench-append-16", c), chunks, writers)
    )
    results["append_concurrent_events_per_s"] = total / ledger_s
    results["append_concurrent_plain_events_per_s"] = total / plain_s
    results["append_concurrent_ratio"] = plain_s / ledger_s

    # The same, but each writer with a Ledger of its own, as separate service processes would be:
    # no combining in the process, so the writers queue on the school's lock in PostgreSQL.
    ledgers = [Ledger(engine, ()) for _ in range(writers)]
    work = events(total, start=2 * total)
    chunks = [work[i : i + small] for i in range(0, total, small)]
    turn = iter(range(10**9))
    separate_s = await timed(
        "ledger, one per writer (as separate processes)",
        _concurrent(lambda c: ledgers[next(turn) % writers].append("bench-append-16p", c), chunks, writers),
    )
    results["append_concurrent_separate_events_per_s"] = total / separate_s
    results["append_concurrent_separate_ratio"] = plain_s / separate_s

    # Two service processes (`hocba serve --workers 2`), each combining the appends of its half of the
    # writers: the school's lock alternates between two transactions that each carry a batch.
    pair = [Ledger(engine, ()) for _ in range(2)]
    work = events(total, start=5 * total)
    chunks = [work[i : i + small] for i in range(0, total, small)]
    turn = iter(range(10**9))
    pair_s = await timed(
        "ledger, two (as two worker processes)",
        _concurrent(lambda c: pair[next(turn) % 2].append("bench-append-16w", c), chunks, writers),
    )
    results["append_concurrent_two_events_per_s"] = total / pair_s
    results["append_concurrent_two_ratio"] = plain_s / pair_s
    # The same two measures with the school's read models, against the same plain INSERTs.
    models = school_ledger(engine)
    work = events(total, start=3 * total)
    chunks = [work[i : i + batch] for i in range(0, total, batch)]
    print(f"append with read models, one writer, {total} events in batches of {batch}")
    models_s = await timed("ledger with read models", _sequential(lambda c: models.append("bench-models-1", c), chunks))
    results["append_models_single_events_per_s"] = total / models_s
    results["append_models_single_ratio"] = plain_single_s / models_s
    work = events(total, start=4 * total)
    chunks = [work[i : i + small] for i in range(0, total, small)]
    print(f"append with read models, {writers} concurrent writers on one school, batches of {small}")
    models_s = await timed(
        "ledger with read models", _concurrent(lambda c: models.append("bench-models-16", c), chunks, writers)
    )
    results["append_models_concurrent_events_per_s"] = total / models_s
    results["append_models_concurrent_ratio"] = plain_s / models_s
    await engine.dispose()
    await plain.dispose()
    return results


async def _sequential(call: Any, chunks: list[list[NewEvent]]) -> None:
    for chunk in chunks:
        await call(chunk)


async def _concurrent(call: Any, chunks: list[list[NewEvent]], writers: int) -> None:
    queue = list(reversed(chunks))

    async def writer() -> None:
        while queue:
            await call(queue.pop())

    await asyncio.gather(*(writer() for _ in range(writers)))


async def bench_verify(url: str, total: int, pki: Pki) -> dict[str, float]:
    """Both logs of one school, `total` entries each, verified as `hocba verify` does by default."""
    school = "bench-verify"
    engine = create_engine(url, APP_ROLE)
    auditor = create_engine(url, AUDITOR_ROLE)
    signer = pki.demo_service_key(school)
    settings = Settings(
        database_url=url,
        home=pki.directory,
        environment="development",
        log_format="console",
        school=None,
        checkpoint_interval=300,
    )
    policy = checkpoint_policy_for(settings, pki)  # each checkpoint timestamped, as the service does
    print(f"verify, {total} entries in each log (loaded in batches of 1000, a checkpoint every 100000)")
    started = time.perf_counter()
    for chain in (ACCESS, EVENTS):  # the events' checkpoints then name the access trail's
        ledger = Ledger(engine, (), chain=chain)
        for start in range(0, total, 1000):
            await ledger.append(school, events(min(1000, total - start), start))
            if (start + 1000) % 100_000 == 0:
                await make_checkpoint(engine, school, signer, chain=chain, policy=policy)
        await make_checkpoint(engine, school, signer, chain=chain, policy=policy)
    load_s = time.perf_counter() - started
    print(f"  {'loaded':<46} {load_s:8.2f} s")

    report = None

    async def run_verify() -> None:
        nonlocal report
        report = await verify_logs(url, auditor, pki.roots(), [school], chains=(EVENTS, ACCESS))

    verify_s = await timed("verify (full, both logs, a process per log)", run_verify())
    assert report is not None
    assert report.ok, report.to_json()

    async def run_verify_here() -> None:
        nonlocal report
        report = await verify(auditor, pki.roots(), [school], chains=(EVENTS, ACCESS))

    one_s = await timed("verify (full, both logs, in one process)", run_verify_here())
    assert report.ok, report.to_json()

    inputs: list[bytes] = []

    async def stream_and_hash(keep: bool, beside: int | None) -> None:
        sha = hashlib.sha256
        for chain in (EVENTS, ACCESS):
            async with auditor.connect() as conn:
                conn = await conn.execution_options(isolation_level="REPEATABLE READ")
                async with conn.begin():
                    rows_of = stream_rows(conn, school, 0, total, chain=chain, columns=False, beside_from=beside)
                    async for rows in rows_of:
                        for _seq, prev, _hash, body in rows:
                            data = b"\x00" + prev + body
                            sha(data).digest()
                            if keep:
                                inputs.append(data)

    await stream_and_hash(keep=True, beside=None)  # warm the cache and collect the bytes
    stream_s = await timed("baseline: stream rows + SHA-256 each", stream_and_hash(keep=False, beside=0))
    asyncio_s = await timed("  the same, read on the asyncio connection", stream_and_hash(keep=False, beside=None))
    started = time.perf_counter()
    sha = hashlib.sha256
    for data in inputs:
        sha(data).digest()
    raw_s = time.perf_counter() - started
    print(f"  {'baseline: SHA-256 of each, in memory':<46} {raw_s:8.2f} s")
    await engine.dispose()
    await auditor.dispose()
    return {
        "verify_entries": 2 * total,
        "verify_load_entries_per_s": 2 * total / load_s,
        "verify_entries_per_s": 2 * total / verify_s,
        "verify_ratio_to_stream_and_hash": stream_s / verify_s,
        "verify_ratio_to_stream_and_hash_asyncio": asyncio_s / verify_s,
        "verify_ratio_to_raw_sha256": raw_s / verify_s,
        "verify_one_process_ratio_to_stream_and_hash": stream_s / one_s,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="entries in each log for the verify benchmark")
    parser.add_argument("--append-events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--skip-verify", action="store_true", help="measure the appends only")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    server = os.environ.get("DATABASE_URL") or start_embedded(Path.home() / ".cache" / "hocba-bench" / "pgdata")
    name = f"hocba_bench_{uuid.uuid4().hex[:8]}"
    url = ensure_database(server, name)
    migrate.upgrade(url)
    pki = Pki(Path("/tmp") / f"{name}-pki")
    pki.init_demo()
    try:
        figures = await bench_append(url, args.append_events, args.batch, args.writers)
        if not args.skip_verify:
            figures |= await bench_verify(url, args.events, pki)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print()
    print(f"append, one writer:      ledger/plain = {figures['append_single_ratio']:.2f}   (target >= 0.7)")
    print(f"append, 16 writers:      ledger/plain = {figures['append_concurrent_ratio']:.2f}   (target >= 0.7)")
    print(f"  same, one ledger each: ledger/plain = {figures['append_concurrent_separate_ratio']:.2f}")
    print(f"  same, two ledgers (two workers): ledger/plain = {figures['append_concurrent_two_ratio']:.2f}")
    print(
        f"append with read models, one writer: ledger/plain = {figures['append_models_single_ratio']:.2f}   (target >= 0.9)"
    )
    print(
        f"append with read models, 16 writers: ledger/plain = {figures['append_models_concurrent_ratio']:.2f}   (target >= 0.9)"
    )
    if args.skip_verify:
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
        return
    print(f"verify vs stream+SHA-256:              {figures['verify_ratio_to_stream_and_hash']:.2f}   (target >= 0.7)")
    print(f"  vs the same read on the asyncio connection: {figures['verify_ratio_to_stream_and_hash_asyncio']:.2f}")
    print(f"verify vs in-memory SHA-256:           {figures['verify_ratio_to_raw_sha256']:.2f}")
    print(f"  in one process, vs stream+SHA-256:   {figures['verify_one_process_ratio_to_stream_and_hash']:.2f}")
    print(f"verify throughput: {figures['verify_entries_per_s']:,.0f} entries/s")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
