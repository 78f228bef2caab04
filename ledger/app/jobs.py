"""Scheduled jobs. APScheduler runs inside every service process; a PostgreSQL advisory lock makes
sure that, with several processes, each run of a job happens in one of them only."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from audit import rules
from audit.trail import ACCESS_PROJECTIONS, AccessTrail
from ledger.app.backup import configured_destinations, configured_key, create_backup
from ledger.app.db import AUDITOR_ROLE
from ledger.app.notices import send_family_notices
from ledger.app.notify import Notifier, notifier_for
from ledger.app.runtime import Runtime, time_stamper_for
from ledger.app.verification import verify_installation
from ledger.app.witnessing import Outcome, Publisher, configured_witnesses
from ledger.base.clock import VN_TZ, format_time
from ledger.base.logs import get_logger
from ledger.format.envelope import SYSTEM, Event, NewEvent
from ledger.log import store
from ledger.log.append import SchoolSession
from ledger.log.checkpointing import checkpoint_logs
from ledger.log.projection import read
from ledger.log.replay import replay
from ledger.log.schema import ACCESS
from ledger.school.calendar.model import Calendar
from ledger.school.calendar.tables import DEADLINE_REACHED, calendars
from ledger.school.corrections.commands import expire_pending
from ledger.school.issuance.archives import renew_archives
from ledger.school.issuance.renewal import renew_archive_timestamps
from ledger.school.readmodels import PROJECTIONS, school_ledger

log = get_logger(__name__)


async def run_exclusive(engine: AsyncEngine, name: str, job: Callable[[], Awaitable[object]]) -> bool:
    """Run `job` unless another process holds the job's lock; True when it ran here."""
    key = {"key": f"job:{name}"}
    async with engine.connect() as conn:
        if not await conn.scalar(text("SELECT pg_try_advisory_lock(hashtextextended(:key, 0))"), key):
            return False
        try:
            await job()
        except Exception:
            log.exception("scheduled job failed", job=name)
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(hashtextextended(:key, 0))"), key)
    return True


async def _schools(engine: AsyncEngine, named: Sequence[str] | None) -> Sequence[str]:
    """The schools a job runs for: those named, or every school with a ledger."""
    if named is not None:
        return named
    async with engine.connect() as conn:
        return await store.school_ids(conn)


async def deadline_transitions(runtime: Runtime, schools: Sequence[str] | None = None) -> list[Event]:
    """Mark each year's close and final date in the ledger once they pass, and expire the correction
    requests still pending at their deadline (Điều 25). Every school, or the ones named."""

    engine = runtime.engine()
    ledger = school_ledger(engine, clock=runtime.clock)
    appended: list[Event] = []
    schools = await _schools(engine, schools)
    for school in schools:
        async with engine.connect() as conn:
            years = [Calendar.from_payload(row["calendar"]) for row in await read(conn, calendars, school)]
        now = runtime.clock.now()
        reached = [
            NewEvent(
                DEADLINE_REACHED,
                {"year": c.year, "deadline": name, "at": format_time(moment)},
                SYSTEM,
                event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"hocba:{school}:{c.year}:{name}"),
            )
            for c in years
            for name, moment in (("close", c.close), ("final", c.final))
            if now > moment
        ]

        async def new_only(session: SchoolSession, wanted: list[NewEvent] = reached) -> list[NewEvent]:
            known = await session.recorded([e.event_id for e in wanted])
            return [e for e in wanted if e.event_id not in known]

        if reached:
            appended += await ledger.decide(school, new_only)
        if years:
            appended += await expire_pending(ledger, school)
    return appended


async def renew_pdf_archives(runtime: Runtime, schools: Sequence[str] | None = None) -> list[Event]:
    """Renew the document timestamp of every issued PDF học bạ whose newest one's authority
    certificate expires within HOCBA_ARCHIVE_RENEWAL_DAYS (ledger.school.issuance.archives), with the
    school's time-stamping authority; every school, or the ones named. Each renewal is a
    `hocba.pdf_archive_renewed` event."""
    engine = runtime.engine()
    ledger = school_ledger(engine, clock=runtime.clock)
    schools = await _schools(engine, schools)
    stamper = time_stamper_for(runtime.settings, runtime.pki, runtime.clock)
    roots, crls = runtime.trusted_roots(), runtime.crls()
    margin = timedelta(days=runtime.settings.archive_renewal_days)
    appended: list[Event] = []
    for school in schools:
        appended += await renew_archives(ledger, school, roots, crls, stamper, before=margin)
    return appended


async def nightly_verification(runtime: Runtime, schools: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Verify the ledger and the access trail of every school (or the ones named); keep each result,
    and raise an alert, logged and stored, when one fails."""

    trail = AccessTrail(runtime.engine(), clock=runtime.clock)
    results = []
    report, notes = await verify_installation(runtime, schools)
    for note in notes:
        log.warning("verification could not consult a witness", note=note)
    for school in report.schools:
        result = school.to_json()
        results.append(result)
        await trail.record_verification(school.school, school.log, result)
        if not school.ok:
            log.error("verification failed", school=school.school, log=school.log, first_bad_seq=school.first_bad_seq)
            moment = format_time(runtime.clock.now())
            await trail.raise_alerts(
                school.school,
                [
                    {
                        "key": f"verification_failed:{school.log}:{moment}",
                        "rule": "verification_failed",
                        "username": None,
                        "window_from": moment,
                        "window_to": moment,
                        "detail": {
                            "log": school.log,
                            "first_bad_seq": school.first_bad_seq,
                            "first_bad_checkpoint": school.first_bad_checkpoint,
                            "findings": len(school.findings),
                        },
                    }
                ],
            )
    for name in sorted({s.school for s in report.schools}):
        await _compare_read_models(runtime, trail, name)
    return results


async def _compare_read_models(runtime: Runtime, trail: AccessTrail, school: str) -> None:
    """Rebuild the school's read models, and what auditors read of its access trail, from their
    hash-chained logs; a table that differs from its live version was changed behind the ledger,
    and raises an alert."""
    engine = runtime.engine(AUDITOR_ROLE)
    report = await replay(engine, PROJECTIONS, school)
    report += await replay(engine, ACCESS_PROJECTIONS, school, chain=ACCESS)
    if report.ok:
        return
    log.error("read models differ from their replay", school=school, tables=report.different)
    moment = format_time(runtime.clock.now())
    found = {
        "key": f"replay_differs:{moment}",
        "rule": "replay_differs",
        "username": None,
        "window_from": moment,
        "window_to": moment,
        "detail": {"tables": report.different},
    }
    await trail.raise_alerts(school, [found])


async def publish_checkpoints(runtime: Runtime, trail: Any, school: str | None = None) -> Outcome:
    """Send the latest checkpoints (of every school, or of `school`) to the witnesses; raise the
    problems as alerts in the school's trail."""
    publisher = Publisher(runtime.engine(), configured_witnesses(runtime.settings), runtime.clock.now())
    outcome = await publisher.publish_all(school)
    by_school: dict[str, list[dict[str, Any]]] = {}
    for problem in outcome.problems:
        by_school.setdefault(problem["school"], []).append({k: v for k, v in problem.items() if k != "school"})
    for school, problems in by_school.items():
        await trail.raise_alerts(school, problems)
    return outcome


async def archive_renewals(runtime: Runtime, schools: Sequence[str] | None = None) -> list[Event]:
    """Renew the archive timestamps of the issued XML học bạ whose last one's authority certificate
    expires within HOCBA_ARCHIVE_RENEWAL_DAYS (ledger.school.issuance.renewal), every school or the
    ones named; each renewal is a `hocba.xml_archive_renewed` event."""
    engine = runtime.engine()
    ledger = school_ledger(engine, clock=runtime.clock)
    schools = await _schools(engine, schools)
    stamp, roots = runtime.stamp(), runtime.trusted_roots()
    margin = timedelta(days=runtime.settings.archive_renewal_days)
    appended: list[Event] = []
    for school in schools:
        appended += await renew_archive_timestamps(ledger, school, stamp, roots, margin=margin)
    return appended


def build_scheduler(runtime: Runtime, notifier: Notifier | None = None) -> AsyncIOScheduler:

    scheduler = AsyncIOScheduler(timezone=VN_TZ)
    engine = runtime.engine()
    trail = AccessTrail(engine, clock=runtime.clock)

    async def checkpoints() -> None:
        async def both() -> None:
            await checkpoint_logs(engine, runtime.signer, runtime.clock, runtime.checkpoint_policy())
            await publish_checkpoints(runtime, trail)

        await run_exclusive(engine, "checkpoint", both)

    async def unusual_access() -> None:
        await run_exclusive(engine, "unusual-access", lambda: rules.scan(engine, trail, runtime.clock.now()))

    async def deadlines() -> None:
        await run_exclusive(engine, "deadlines", lambda: deadline_transitions(runtime))

    async def verification() -> None:
        await run_exclusive(engine, "verification", lambda: nightly_verification(runtime))

    async def notices() -> None:
        sender = notifier or notifier_for(runtime.settings.smtp)
        await run_exclusive(engine, "family-notices", lambda: send_family_notices(runtime, sender))

    async def xml_archives() -> None:
        await run_exclusive(engine, "archive-renewal", lambda: archive_renewals(runtime))

    async def pdf_archives() -> None:
        await run_exclusive(engine, "pdf-archives", lambda: renew_pdf_archives(runtime))

    async def backup() -> None:

        key, destinations = configured_key(runtime.settings), configured_destinations(runtime.settings)
        if key is not None and destinations:
            keep = runtime.settings.backup_keep
            await run_exclusive(engine, "backup", lambda: create_backup(runtime, destinations, key, keep=keep))

    every = {"max_instances": 1, "coalesce": True}
    scheduler.add_job(checkpoints, "interval", seconds=runtime.settings.checkpoint_interval, id="checkpoint", **every)
    scheduler.add_job(unusual_access, "interval", seconds=60, id="unusual-access", **every)
    scheduler.add_job(deadlines, "interval", seconds=300, id="deadlines", **every)
    scheduler.add_job(notices, "interval", seconds=60, id="family-notices", **every)
    scheduler.add_job(verification, "cron", hour=2, minute=15, id="verification", **every)
    scheduler.add_job(pdf_archives, "cron", hour=3, minute=30, id="pdf-archives", **every)
    scheduler.add_job(xml_archives, "cron", hour=3, minute=45, id="archive-renewal", **every)
    if runtime.settings.backup_dirs:  # daily, with retention (Điều 20.4)
        scheduler.add_job(backup, "cron", hour=1, minute=30, id="backup", **every)
    return scheduler
