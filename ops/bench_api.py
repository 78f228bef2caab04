"""API benchmark: the access trail's cost on reads, and a mixed load of 50 concurrent clients.

    .venv/bin/python ops/bench_api.py [--reads 600] [--concurrency 8] [--mixed-seconds 30]

Uses DATABASE_URL's server (or the embedded PostgreSQL) and a scratch database it drops afterwards.
Requests go to the application in-process (ASGI), so the figures are the service's own cost, without a
network or a load generator competing for the machine's two cores.

1. Reads (transcripts of random students) with the access trail on, against the same reads with the
   trail's write replaced by a no-op, in the same run; the trail written synchronously (each request's
   entry in the first transaction that can take it, group commit) and in short batches (5 ms linger).
2. A cheap authenticated GET (`/api/v1/me`: the token checked, the account and its grants loaded, the
   policy asked, the access entry written) against a bare Litestar handler in the same venv, and the
   same GET with the trail's write replaced by a no-op; both driven by a minimal ASGI caller, one
   process, in the same run.
3. A mixed load: 50 clients for a fixed time: 30 teachers entering grades, 15 leaders reading class
   summaries and transcripts, 5 integration clients reading the signed checkpoint. Throughput and
   p50/p99 latency per kind; then every accepted write is looked up in the ledger and the event and
   access chains are verified.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.app import create_app
from audit.trail import AccessTrail
from ledger.app import migrate
from ledger.app.db import AUDITOR_ROLE, ensure_database, start_embedded
from ledger.app.demo import PRINCIPAL, DemoSchool, build_demo_school
from ledger.app.demo import PRINCIPAL as SETUP
from ledger.app.demo import PRINCIPAL as SETUP_PRINCIPAL
from ledger.app.runtime import Runtime
from ledger.base.clock import VN_TZ, ManualClock
from ledger.base.settings import Settings
from ledger.log.checkpointing import make_checkpoint
from ledger.log.schema import ACCESS, EVENTS
from ledger.log.verify import verify
from ledger.school.accounts.commands import create_account
from ledger.school.readmodels import school_ledger
from ledger.school.rules.policy import AccountKind
from ledger.school.rules.tt22 import required_regular
from ledger.school.years.model import default_catalogue
from signing.x509.pki import Pki

PASSWORD = "mat-khau-do-tai"


async def login(client: httpx.AsyncClient, school: str, username: str) -> dict[str, str]:
    answer = await client.post(
        "/api/v1/auth/token", json={"school": school, "username": username, "password": PASSWORD}
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def timed_reads(
    client: httpx.AsyncClient, demo: DemoSchool, headers: dict[str, str], count: int, concurrency: int
) -> float:
    students = [s for roster in demo.rosters.values() for s in roster]
    rng = random.Random(7)
    paths = [
        f"/api/v1/schools/{demo.school}/students/{rng.choice(students)}/transcript?year={demo.year}"
        for _ in range(count)
    ]

    async def worker(share: list[str]) -> None:
        for path in share:
            answer = await client.get(path, headers=headers)
            assert answer.status_code == 200, answer.text

    started = time.perf_counter()
    await asyncio.gather(*(worker(paths[i::concurrency]) for i in range(concurrency)))
    return count / (time.perf_counter() - started)


async def bench_reads(app: Any, demo: DemoSchool, runtime: Runtime, count: int, concurrency: int) -> dict[str, float]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        headers = await login(client, demo.school, PRINCIPAL.user)
        await timed_reads(client, demo, headers, 50, concurrency)  # warm up
        trail = app.state.trail
        real_record = trail.record

        async def off(*_: Any, **__: Any) -> None:
            return None

        figures: dict[str, float] = {}
        for round_ in range(2):  # interleave to share the machine's drift fairly
            trail.record = off
            figures[f"off_{round_}"] = await timed_reads(client, demo, headers, count, concurrency)
            trail.record = real_record
            app.state.trail = AccessTrail(runtime.engine(), runtime.clock)
            figures[f"sync_{round_}"] = await timed_reads(client, demo, headers, count, concurrency)
            app.state.trail = AccessTrail(runtime.engine(), runtime.clock, linger=0.005)
            figures[f"batched_{round_}"] = await timed_reads(client, demo, headers, count, concurrency)
            trail = app.state.trail = AccessTrail(runtime.engine(), runtime.clock)
            real_record = trail.record
    off_rate = statistics.mean([figures["off_0"], figures["off_1"]])
    sync_rate = statistics.mean([figures["sync_0"], figures["sync_1"]])
    batched_rate = statistics.mean([figures["batched_0"], figures["batched_1"]])
    return {
        "reads_off_per_s": off_rate,
        "reads_sync_per_s": sync_rate,
        "reads_batched_per_s": batched_rate,
        "reads_sync_ratio": sync_rate / off_rate,
        "reads_batched_ratio": batched_rate / off_rate,
    }


def bare_app() -> Any:
    """The floor: a Litestar application with one handler and nothing else."""
    from litestar import Litestar, get

    @get("/")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    return Litestar(route_handlers=[hello], openapi_config=None)


async def asgi_get(app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> int:
    """One GET through `app`, in process, with the least possible around it; the status."""
    raw_path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"bench"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("bench", 80),
        "state": {},
    }
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def timed_gets(app: Any, path: str, headers: list[tuple[bytes, bytes]], count: int, concurrency: int) -> float:
    async def worker(share: int) -> None:
        for _ in range(share):
            status = await asgi_get(app, path, headers)
            assert status == 200, status

    started = time.perf_counter()
    await asyncio.gather(*(worker(count // concurrency) for _ in range(concurrency)))
    return (count // concurrency * concurrency) / (time.perf_counter() - started)


async def bench_cheap(app: Any, demo: DemoSchool, count: int, concurrency: int) -> dict[str, float]:
    """`/api/v1/me` as the principal (audited, and with the trail's write a no-op) against a bare
    handler, interleaved in rounds."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        token = (await login(client, demo.school, PRINCIPAL.user))["Authorization"]
    headers = [(b"authorization", token.encode())]
    bare = bare_app()
    trail = app.state.trail
    real_record = trail.record

    async def off(*_: Any, **__: Any) -> None:
        return None

    await timed_gets(bare, "/", [], 200, concurrency)  # warm up
    await timed_gets(app, "/api/v1/me", headers, 200, concurrency)
    rates: dict[str, list[float]] = defaultdict(list)
    for _ in range(3):
        rates["bare"].append(await timed_gets(bare, "/", [], count * 5, concurrency))
        rates["audited"].append(await timed_gets(app, "/api/v1/me", headers, count, concurrency))
        trail.record = off
        try:
            rates["unaudited"].append(await timed_gets(app, "/api/v1/me", headers, count, concurrency))
        finally:
            trail.record = real_record
    bare_rate, audited, unaudited = (statistics.median(rates[k]) for k in ("bare", "audited", "unaudited"))
    return {
        "cheap_bare_per_s": bare_rate,
        "cheap_audited_per_s": audited,
        "cheap_unaudited_per_s": unaudited,
        "cheap_vs_bare_ratio": audited / bare_rate,
        "cheap_audited_ratio": audited / unaudited,
    }


async def bench_mixed(app: Any, demo: DemoSchool, runtime: Runtime, seconds: float) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=app)
    latencies: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    accepted: list[str] = []
    catalogue = {s.code: s for s in default_catalogue()}
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=60) as client:
        leader = await login(client, demo.school, PRINCIPAL.user)
        integration = {"Authorization": f"ApiKey {app.state.bench_api_key}"}
        teachers = {code: await login(client, demo.school, staff) for code, staff in demo.subject_teachers.items()}

        async def teacher(index: int) -> None:
            rng = random.Random(index)
            code = sorted(teachers)[index % len(teachers)]
            cells = [
                (class_id, student, term, kind, slot)
                for class_id, grade in sorted(demo.classes.items())
                for student in demo.rosters[class_id]
                for term in (1, 2)
                for kind, slot in [
                    ("regular", k)
                    for k in range(1, required_regular(catalogue[code].kind, catalogue[code].periods[grade]) + 1)
                ]
                + [("midterm", None), ("final", None)]
            ]
            rng.shuffle(cells)
            for class_id, student, term, kind, slot in cells:
                if time.perf_counter() > deadline:
                    return
                value = f"{rng.randint(4, 10)}" if catalogue[code].kind.value == "score" else "Đ"
                body = {"entries": [{"student": student, "kind": kind, "slot": slot, "value": value}]}
                path = f"/api/v1/schools/{demo.school}/classes/{class_id}/sheets/{code}/{term}?year={demo.year}"
                started = time.perf_counter()
                answer = await client.post(path, json=body, headers=teachers[code])
                latencies["teacher write"].append(time.perf_counter() - started)
                statuses["teacher write"][answer.status_code] += 1
                if answer.status_code == 200:
                    accepted.extend(answer.json()["event_ids"])

        async def reader(index: int) -> None:
            rng = random.Random(100 + index)
            students = [s for roster in demo.rosters.values() for s in roster]
            while time.perf_counter() < deadline:
                if rng.random() < 0.3:
                    path = f"/api/v1/schools/{demo.school}/classes/{rng.choice(sorted(demo.classes))}/summary?year={demo.year}"
                    kind = "leader class summary"
                else:
                    path = f"/api/v1/schools/{demo.school}/students/{rng.choice(students)}/transcript?year={demo.year}"
                    kind = "leader transcript"
                started = time.perf_counter()
                answer = await client.get(path, headers=leader)
                latencies[kind].append(time.perf_counter() - started)
                statuses[kind][answer.status_code] += 1

        async def integrator(index: int) -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                answer = await client.get(f"/api/v1/schools/{demo.school}/ledger/checkpoint", headers=integration)
                latencies["integration checkpoint"].append(time.perf_counter() - started)
                statuses["integration checkpoint"][answer.status_code] += 1
                await asyncio.sleep(0.05)

        started = time.perf_counter()
        await asyncio.gather(
            *(teacher(i) for i in range(30)), *(reader(i) for i in range(15)), *(integrator(i) for i in range(5))
        )
        elapsed = time.perf_counter() - started

    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        found = await conn.exec_driver_sql(
            "SELECT count(*) FROM hocba.events WHERE school_id = %(s)s AND event_id = ANY(%(ids)s::uuid[])",
            {"s": demo.school, "ids": accepted},
        )
        stored = int(found.scalar_one())
    await make_checkpoint(
        runtime.engine(), demo.school, runtime.signer(demo.school), runtime.clock, policy=runtime.checkpoint_policy()
    )
    await make_checkpoint(
        runtime.engine(),
        demo.school,
        runtime.signer(demo.school),
        runtime.clock,
        chain=ACCESS,
        policy=runtime.checkpoint_policy(),
    )
    events_ok = (
        await verify(runtime.engine(AUDITOR_ROLE), runtime.trusted_roots(), [demo.school], chains=(EVENTS,))
    ).ok
    access_ok = (
        await verify(runtime.engine(AUDITOR_ROLE), runtime.trusted_roots(), [demo.school], chains=(ACCESS,))
    ).ok
    kinds = {}
    for kind, values in sorted(latencies.items()):
        ordered = sorted(values)
        kinds[kind] = {
            "requests": len(values),
            "per_s": len(values) / elapsed,
            "p50_ms": 1000 * ordered[len(ordered) // 2],
            "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
            "statuses": dict(statuses[kind]),
        }
    return {
        "seconds": elapsed,
        "kinds": kinds,
        "accepted_writes": len(accepted),
        "accepted_writes_found_in_ledger": stored,
        "events_chain_verifies": events_ok,
        "access_chain_verifies": access_ok,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reads", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--mixed-seconds", type=float, default=30)
    parser.add_argument("--cheap", type=int, default=1000, help="cheap GETs per round (0: skip)")
    parser.add_argument("--only", choices=["reads", "cheap", "mixed"], help="run one part alone")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    server = os.environ.get("DATABASE_URL") or start_embedded(Path.home() / ".cache" / "hocba-bench" / "pgdata")
    name = f"hocba_bench_{uuid.uuid4().hex[:8]}"
    url = ensure_database(server, name)
    migrate.upgrade(url)
    home = Path("/tmp") / name
    Pki(home / "pki").init_demo()
    settings = Settings(url, home, "development", "json", None, 300)
    # Mid-January: inside both terms' entry windows of the demo calendar, so every write may land.
    runtime = Runtime(settings, url, ManualClock(datetime(2026, 1, 20, 10, tzinfo=VN_TZ)))
    try:
        reads_school = await build_demo_school(
            runtime.engine(), "bench-reads", classes_per_grade=1, students_per_class=20
        )
        write_school = await build_demo_school(
            runtime.engine(), "bench-mixed", classes_per_grade=1, students_per_class=20, terms=()
        )
        app = create_app(runtime, scheduler=False)
        for school in (reads_school.school, write_school.school):
            for staff in [PRINCIPAL.user, *write_school.subject_teachers.values()]:
                await create_account(
                    school_ledger(runtime.engine(), clock=runtime.clock),
                    school,
                    staff,
                    AccountKind.STAFF,
                    password=PASSWORD,
                    actor=SETUP,
                )
        made = await create_account(
            school_ledger(runtime.engine(), clock=runtime.clock),
            write_school.school,
            "so-gddt",
            AccountKind.INTEGRATION,
            actor=SETUP_PRINCIPAL,
        )
        app.state.bench_api_key = made.api_key
        await make_checkpoint(
            runtime.engine(),
            write_school.school,
            runtime.signer(write_school.school),
            runtime.clock,
            policy=runtime.checkpoint_policy(),
        )

        figures: dict[str, Any] = {}
        if args.only in (None, "reads"):
            print(
                f"reads: {args.reads} transcripts, {args.concurrency} at a time, trail off / synchronous / 5 ms batches"
            )
            figures.update(await bench_reads(app, reads_school, runtime, args.reads, args.concurrency))
            print(
                f"  off {figures['reads_off_per_s']:.0f}/s, synchronous {figures['reads_sync_per_s']:.0f}/s "
                f"(ratio {figures['reads_sync_ratio']:.2f}), batched {figures['reads_batched_per_s']:.0f}/s "
                f"(ratio {figures['reads_batched_ratio']:.2f}); target >= 0.8"
            )
        if args.cheap and args.only in (None, "cheap"):
            print(f"cheap GET /api/v1/me: {args.cheap} per round, {args.concurrency} at a time, one process, 3 rounds")
            figures.update(await bench_cheap(app, reads_school, args.cheap, args.concurrency))
            print(
                f"  bare Litestar {figures['cheap_bare_per_s']:.0f}/s, audited {figures['cheap_audited_per_s']:.0f}/s "
                f"(ratio to bare {figures['cheap_vs_bare_ratio']:.3f}; target >= 0.1), unaudited "
                f"{figures['cheap_unaudited_per_s']:.0f}/s (audited/unaudited {figures['cheap_audited_ratio']:.2f}; "
                "target >= 0.9)"
            )
        if args.only in (None, "mixed"):
            print(f"mixed load: 50 clients for {args.mixed_seconds:.0f} s")
            figures["mixed"] = await bench_mixed(app, write_school, runtime, args.mixed_seconds)
            for kind, row in figures["mixed"]["kinds"].items():
                print(
                    f"  {kind:<24} {row['requests']:6d} requests {row['per_s']:7.1f}/s  p50 {row['p50_ms']:6.1f} ms  "
                    f"p99 {row['p99_ms']:7.1f} ms  {row['statuses']}"
                )
            mixed = figures["mixed"]
            print(
                f"  accepted writes {mixed['accepted_writes']}, found in the ledger {mixed['accepted_writes_found_in_ledger']}; "
                f"event chain verifies: {mixed['events_chain_verifies']}, access chain: {mixed['access_chain_verifies']}"
            )
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    finally:
        await runtime.close()
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
