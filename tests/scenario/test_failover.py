"""High availability, drilled: etcd and two PostgreSQL nodes under Patroni with synchronous replication
(tests/support/patroni.py, the recipe of ops/DEPLOYMENT.md on loopback), and `hocba serve` connecting
through a multi-host URL that asks for the node taking writes. Under a teacher's write load the
primary's machine dies (Patroni and PostgreSQL killed at once); Patroni promotes the replica once the
leader key expires. Meanwhile the service answers 503 with Retry-After; then it writes to the new
primary by itself. Every acknowledged write is there once, and the chain still extends the checkpoint
signed before the crash (what a witness holds)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from ledger.app import migrate
from signing.x509.pki import Pki
from tests.scenario.test_crash import STUDENTS, Service, recorded, row_of, school_open_today, token, verifies
from tests.support.helpers import hocba
from tests.support.patroni import PRIMARY_ROLES, TTL, Etcd, Node, multi_host_url, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Node]]:
    base = tmp_path_factory.mktemp("ha")
    etcd = Etcd(base)
    etcd.start()
    first, second = Node("n1", base, etcd), Node("n2", base, etcd)
    try:
        first.start()
        wait_for("n1 leading", lambda: first.role() in PRIMARY_ROLES, 120, [first.log])
        second.start()
        wait_for("n2 in sync", lambda: first.sync_standby() == "n2", 120, [first.log, second.log])
        yield [first, second]
    finally:
        for node in (first, second):
            node.stop()
        etcd.stop()


async def test_the_primary_dies_under_writes_patroni_promotes_the_replica_and_nothing_acknowledged_is_lost(
    nodes: list[Node], home: Path, pki: Pki, env: dict[str, str], artifacts: Path
) -> None:
    first, second = nodes
    with psycopg.connect(multi_host_url(nodes, "postgres"), autocommit=True) as conn:
        conn.execute("CREATE DATABASE hocba")
    url = multi_host_url(nodes, "hocba")
    migrate.upgrade(url)
    school = "t-failover"
    year, slots = await school_open_today(url, school)
    sheet = f"/api/v1/schools/{school}/classes/6A1/sheets/TOAN/1?year={year}"
    whole = slots + 2
    service_env = {**env, "DATABASE_URL": url}
    signed = hocba("checkpoint", "--school", school, "--json", env=service_env)  # what a witness would hold
    assert signed.returncode == 0, signed.stderr
    kept = home / "before-the-crash.json"
    kept.write_text(signed.stdout)

    service = Service(url, home)
    crashed_at: list[float] = []
    back_at: list[float] = []
    outage: list[httpx.Response] = []
    try:
        await service.up()
        auth = await token(service.base, school)
        async with httpx.AsyncClient(base_url=service.base, timeout=30) as client:
            went_in = asyncio.Event()
            writers = asyncio.Semaphore(2)

            async def write_until_accepted(n: int, student: str) -> None:
                async with writers:
                    while True:
                        try:
                            answer = await client.post(sheet, json=row_of(student, n, slots), headers=auth)
                        except httpx.TransportError:
                            await asyncio.sleep(0.2)
                            continue
                        if answer.status_code == 503:
                            outage.append(answer)
                            await asyncio.sleep(0.5)
                            continue
                        assert answer.status_code == 200, answer.text
                        if crashed_at and not back_at:
                            back_at.append(time.monotonic())
                        went_in.set()
                        return

            async def crash_the_primary() -> None:
                await went_in.wait()
                crashed_at.append(time.monotonic())
                await asyncio.to_thread(first.crash)

            await asyncio.gather(crash_the_primary(), *(write_until_accepted(n, s) for n, s in enumerate(STUDENTS)))
    finally:
        service.stop()
    assert second.role() in PRIMARY_ROLES  # Patroni promoted the replica
    assert outage, "the service answered while no node took writes"
    assert {a.status_code for a in outage} == {503}
    assert all(int(a.headers["Retry-After"]) > 0 for a in outage)
    assert all(a.headers["content-type"].startswith("application/problem+json") for a in outage)
    # every acknowledged write is there, once
    assert recorded(url, school, year) == dict.fromkeys(STUDENTS, whole)
    with psycopg.connect(url) as conn:
        events = conn.execute(
            "SELECT count(*) FROM hocba.events WHERE school_id = %s AND type = 'assessment.recorded'", (school,)
        ).fetchone()
    assert events == (len(STUDENTS) * whole,)
    assert await verifies(url, pki, school)
    # the new primary's ledger still holds the tree signed before the crash: no fork for a witness
    after = hocba("verify", "--school", school, "--checkpoint", str(kept), env=service_env)
    assert after.returncode == 0, after.stdout + after.stderr
    unavailable = back_at[0] - crashed_at[0]
    assert unavailable < TTL * 4
    (artifacts / "failover-drill.json").write_text(
        json.dumps({"ttl_seconds": TTL, "seconds_from_crash_to_the_first_write_accepted": round(unavailable, 1)})
    )
