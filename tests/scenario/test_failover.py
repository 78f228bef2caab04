"""High availability, drilled: etcd and two PostgreSQL nodes under Patroni with synchronous replication
(tests/support/patroni.py, the recipe of ops/DEPLOYMENT.md on loopback), and `hocba serve` connecting
through a multi-host URL that asks for the node taking writes. Under a teacher's write load, first a
planned switchover (the old primary follows the new one and becomes its synchronous replica), then
the new primary's machine dies (Patroni and PostgreSQL killed at once) and Patroni promotes the
replica once the leader key expires. Meanwhile the service answers 503 with Retry-After; then it
writes to the new primary by itself. Every acknowledged write is there once, and the chain still
extends the checkpoint signed before (what a witness holds)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from ledger.app import migrate
from signing.x509.pki import Pki
from tests.scenario.test_crash import STUDENTS, Service, recorded, row_of, school_open_today, token, verifies
from tests.support.helpers import hocba
from tests.support.patroni import PRIMARY_ROLES, TTL, Etcd, Node, multi_host_url, wait_for
from tests.support.witnesses import WitnessProcess, witness_process

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


@pytest.fixture
def witness(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WitnessProcess]:
    with witness_process(server_url, tmp_path_factory.mktemp("witness-home")) as running:
        yield running


async def test_a_switchover_then_a_dead_primary_under_writes_lose_nothing_acknowledged(
    nodes: list[Node], home: Path, pki: Pki, env: dict[str, str], artifacts: Path, witness: WitnessProcess
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
    service_env = witness.witness(school, {**env, "DATABASE_URL": url}, home)  # the Sở witnesses the school
    signed = hocba("checkpoint", "--school", school, "--json", env=service_env)  # cosigned: the witness holds it
    assert signed.returncode == 0, signed.stderr
    kept = home / "before-the-crash.json"
    kept.write_text(signed.stdout)

    service = Service(url, home)
    outage: list[httpx.Response] = []
    try:
        await service.up()
        auth = await token(service.base, school)
        async with httpx.AsyncClient(base_url=service.base, timeout=30) as client:

            async def under_writes(students: list[tuple[int, str]], disrupt: Callable[[], None]) -> float:
                """Write the students' rows, two at a time, retrying a 503; once one went in, `disrupt`.
                Returns the seconds from the disruption to the first write accepted after it was over."""
                went_in, writers = asyncio.Event(), asyncio.Semaphore(2)
                disrupted: list[float] = []
                over: list[float] = []
                back: list[float] = []

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
                            if over and not back:
                                back.append(time.monotonic())
                            went_in.set()
                            return

                async def disruption() -> None:
                    await went_in.wait()
                    disrupted.append(time.monotonic())
                    await asyncio.to_thread(disrupt)
                    over.append(time.monotonic())

                await asyncio.gather(disruption(), *(write_until_accepted(n, s) for n, s in students))
                if not back:  # every row went in before the disruption was over: one more, which appends nothing
                    await write_until_accepted(*students[0])
                return back[0] - disrupted[0]

            def switchover() -> None:
                asked = httpx.post(
                    f"http://127.0.0.1:{first.rest}/switchover", json={"leader": "n1", "candidate": "n2"}, timeout=60
                )
                assert asked.status_code == 200, asked.text

            # 1. a planned switchover, n1 to n2, under writes; n1 follows n2 and becomes its synchronous replica
            rows = list(enumerate(STUDENTS))
            switched = await under_writes(rows[:8], switchover)
            assert second.role() in PRIMARY_ROLES
            await asyncio.to_thread(wait_for, "n1 in sync", lambda: second.sync_standby() == "n1", 120, [first.log])
            # 2. the new primary's machine dies under writes; Patroni promotes n1 once the leader key expires
            failed_over = await under_writes(rows[8:], second.crash)
    finally:
        service.stop()
    assert first.role() in PRIMARY_ROLES  # Patroni promoted the replica
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
    # and the witness, which refuses a smaller or forked tree, cosigns the checkpoint after the failover
    published = hocba("checkpoint", "--school", school, env=service_env)
    assert published.returncode == 0 and "cosigned by witness.sogddt-ninhbinh.test" in published.stdout, (
        published.stdout + published.stderr
    )
    assert failed_over < TTL * 4
    measured = {
        "ttl_seconds": TTL,
        "switchover_seconds_to_the_first_write_accepted": round(switched, 1),
        "failover_seconds_from_the_crash_to_the_first_write_accepted": round(failed_over, 1),
    }
    (artifacts / "failover-drill.json").write_text(json.dumps(measured))
