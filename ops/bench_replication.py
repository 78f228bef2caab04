"""Write throughput with synchronous replication under Patroni, as a ratio to a single PostgreSQL,
measured in the same run on the same machine.

    .venv/bin/python ops/bench_replication.py [--writers 8] [--seconds 20] [--json FILE]

Starts, under a scratch directory, one PostgreSQL 15 alone and the recipe of ops/DEPLOYMENT.md on
loopback (one etcd member, two Patroni nodes, `synchronous_mode: true`, the service's URL naming both
with `target_session_attrs=read-write`); all of them flush to disk (fsync on). On each, the service's
schema, then `--writers` concurrent writers each append one event per transaction (the ledger's own
append path: the school's lock, the hash chain, the read models) to a school of its own, for
`--seconds`. Prints commits per second on each and the ratio. Needs Debian's postgresql-15, patroni and
etcd-server (`python3 ops/dev.py test` installs the last two); run as root, the servers run as
`postgres`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger.app import migrate
from ledger.app.db import APP_ROLE, create_engine
from ledger.app.recovery.cluster import Cluster, hand_over, owner_for_clusters
from ledger.format.envelope import Actor, NewEvent
from ledger.school.readmodels import school_ledger
from tests.support.helpers import free_port
from tests.support.patroni import PRIMARY_ROLES, Etcd, Node, multi_host_url, wait_for

ADMIN = Actor("qt.bench", "ADMIN")


async def throughput(url: str, writers: int, seconds: float) -> dict[str, Any]:
    engine = create_engine(url, APP_ROLE, pool_size=writers, max_overflow=0)
    ledger = school_ledger(engine)
    schools = [f"bench-{uuid.uuid4().hex[:8]}" for _ in range(writers)]
    counts = [0] * writers
    try:
        for school in schools:  # each school's first event outside the timing
            await ledger.append(school, [NewEvent("test.noted", {"n": 0}, ADMIN)])
        stop = time.perf_counter() + seconds

        async def write(index: int) -> None:
            while time.perf_counter() < stop:
                await ledger.append(schools[index], [NewEvent("test.noted", {"n": counts[index] + 1}, ADMIN)])
                counts[index] += 1

        started = time.perf_counter()
        await asyncio.gather(*(write(i) for i in range(writers)))
        elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    return {"commits": sum(counts), "seconds": round(elapsed, 2), "per_second": round(sum(counts) / elapsed, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="hocba-bench-ha-"))
    hand_over(base, owner_for_clusters())
    single = Cluster(base / "single", free_port())
    etcd = Etcd(base)
    nodes = [Node("n1", base, etcd, durable=True), Node("n2", base, etcd, durable=True)]
    results: dict[str, Any] = {"writers": args.writers}
    try:
        single.initdb({"synchronous_commit": "on"})
        single.start()
        etcd.start()
        nodes[0].start()
        wait_for("n1 leading", lambda: nodes[0].role() in PRIMARY_ROLES, 120, [nodes[0].log])
        nodes[1].start()
        wait_for("n2 in sync", lambda: nodes[0].sync_standby() == "n2", 120, [nodes[1].log])
        targets = {
            "single": (single.tcp_url("postgres"), single.tcp_url("hocba")),
            "synchronous": (multi_host_url(nodes, "postgres"), multi_host_url(nodes, "hocba")),
        }
        for name, (server, url) in targets.items():
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute("CREATE DATABASE hocba")
            migrate.upgrade(url)
            with psycopg.connect(server) as conn:  # the replica acknowledges every commit, or this is no measure
                states = [row[0] for row in conn.execute("SELECT sync_state FROM pg_stat_replication")]
                commit = conn.execute("SHOW synchronous_commit").fetchone()
            if name == "synchronous" and states != ["sync"]:
                raise SystemExit(f"the replica is not synchronous: {states}")
            print(f"  {name}: replicas {states or 'none'}, synchronous_commit {commit[0] if commit else '?'}")
            results[name] = asyncio.run(throughput(url, args.writers, args.seconds))
            print(
                f"  {name:<12} {results[name]['per_second']:8.1f} commits/s ({results[name]['commits']} in "
                f"{results[name]['seconds']} s)",
                flush=True,
            )
        results["ratio"] = round(results["synchronous"]["per_second"] / results["single"]["per_second"], 2)
        print(f"  synchronous replication / single node: {results['ratio']}")
    finally:
        for node in reversed(nodes):
            node.stop()
        etcd.stop()
        single.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
