"""Scheduled jobs: checkpoints, deadline transitions and the nightly verification, each run in one
process only."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime

import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from audit.trail import alerts, verifications
from ledger.app.demo import build_demo_school
from ledger.app.jobs import build_scheduler, deadline_transitions, nightly_verification, run_exclusive
from ledger.app.runtime import Runtime
from ledger.base.clock import VN_TZ
from ledger.log import store
from ledger.log.append import Ledger
from ledger.log.projection import read
from ledger.school.assessments.tables import assessments
from ledger.school.calendar.tables import deadlines
from ledger.school.corrections.commands import file_request
from ledger.school.corrections.model import assessment_target
from ledger.school.corrections.tables import corrections
from tests.support.helpers import noted


async def test_a_job_held_elsewhere_does_not_run_here(app_engine: AsyncEngine) -> None:
    runs: list[int] = []

    async def job() -> None:
        runs.append(1)

    async with app_engine.connect() as other_process:
        await other_process.execute(text("SELECT pg_advisory_lock(hashtextextended('job:demo', 0))"))
        assert await run_exclusive(app_engine, "demo", job) is False
        await other_process.execute(text("SELECT pg_advisory_unlock(hashtextextended('job:demo', 0))"))
    assert await run_exclusive(app_engine, "demo", job) is True
    assert runs == [1]


async def test_scheduler_signs_checkpoints_for_schools_with_new_events(
    ledger: Ledger, runtime: Runtime, school: str
) -> None:
    await ledger.append(school, noted(3))
    fast = Runtime(replace(runtime.settings, checkpoint_interval=1), runtime.url, runtime.clock)
    scheduler = build_scheduler(fast)
    scheduler.start()
    try:
        for _ in range(50):
            await asyncio.sleep(0.2)
            async with ledger.engine.connect() as conn:
                latest = await store.latest_checkpoint(conn, school)
            if latest is not None:
                break
    finally:
        scheduler.shutdown(wait=False)
        await fast.close()
    assert latest is not None
    assert latest.checkpoint.tree_size == 3


async def test_deadline_transitions_are_recorded_once_and_expire_pending_requests_dieu_25(
    app_engine: AsyncEngine, runtime: Runtime, school: str
) -> None:
    """The service's clock stands on 20 August: the close has passed, the final date has not."""
    demo = await build_demo_school(app_engine, school, students_per_class=1, terms=(1,), summer=False)
    demo.clock.set(datetime(2026, 1, 10, 9, tzinfo=VN_TZ))
    student = demo.rosters["8A1"][0]
    target = assessment_target(demo.year, 1, "8A1", "TOAN", student, "midterm", None)
    async with app_engine.connect() as conn:
        [row] = await read(conn, assessments, school, student_id=student, subject="TOAN", kind="midterm")
    request = await file_request(
        demo.ledger, school, demo.teacher("TOAN"), target, old_value=row["value"], new_value="10", reason="Nhầm"
    )
    appended = await deadline_transitions(runtime, [school])
    assert [(e.type, e.actor.user) for e in appended] == [
        ("deadline.reached", "system"),
        ("correction.expired", "system"),
    ]
    assert appended[0].payload == {"year": demo.year, "deadline": "close", "at": "2026-05-31T23:59:59.999999+07:00"}
    assert appended[1].payload["request"] == request.payload["request"]
    assert await deadline_transitions(runtime, [school]) == []
    async with app_engine.connect() as conn:
        [reached] = await read(conn, deadlines, school, year=demo.year)
        [expired] = await read(conn, corrections, school)
    assert reached["deadline"] == "close" and expired["status"] == "expired"


async def test_nightly_verification_keeps_its_result_and_raises_a_stored_alert_on_failure(
    ledger: Ledger, runtime: Runtime, school: str, superuser: psycopg.Connection, auditor_engine: AsyncEngine
) -> None:
    await ledger.append(school, noted(4))
    await runtime.checkpoint(school, clock=ledger.clock)
    [events, access] = await nightly_verification(runtime, [school])
    assert (events["log"], events["ok"], access["log"]) == ("events", True, "access")
    with superuser.transaction():
        superuser.execute("SET LOCAL session_replication_role = replica")
        superuser.execute(
            "UPDATE hocba.events SET body = body || '\\x20'::bytea WHERE school_id = %s AND seq = 3", (school,)
        )
    [events, _] = await nightly_verification(runtime, [school])
    assert (events["ok"], events["first_bad_seq"]) == (False, 3)
    async with auditor_engine.connect() as conn:
        [alert] = await read(conn, alerts, school)
        kept = {row["log"]: row for row in await read(conn, verifications, school)}
    assert alert["rule"] == "verification_failed" and alert["detail"]["first_bad_seq"] == 3
    assert kept["events"]["ok"] is False and kept["events"]["first_bad_seq"] == 3
