"""What auditors read of the access trail (the access index, the alerts, the verification results)
is a read model of the hash-chained trail: the application's database role can edit it, but
`hocba replay` and the nightly verification rebuild it from the chain and notice (the regulation's
Điều 20.3: every access recorded; an insider must not erase a trace unnoticed)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from audit.trail import ACCESS_PROJECTIONS, AccessEntry, AccessTrail, query_alerts
from ledger.app.demo import build_demo_school
from ledger.app.jobs import nightly_verification
from ledger.app.runtime import Runtime
from tests.support.helpers import hocba


async def test_an_access_entry_erased_from_the_index_is_found_by_replay_and_the_nightly_job(
    app_engine: AsyncEngine, runtime: Runtime, env: dict[str, str]
) -> None:
    school = f"audit-{uuid.uuid4().hex[:8]}"
    await build_demo_school(app_engine, school, students_per_class=1, terms=())
    trail = AccessTrail(app_engine, clock=runtime.clock)
    for who in ("gv.toan02", "ht.doanthuy"):
        entry = AccessEntry(str(uuid.uuid4()), "GET", "/api/v1/x", "10.1.1.1", runtime.clock.now(), school)
        entry.username, entry.action = who, "student_transcript"
        await trail.record(entry, 200)

    clean = hocba("replay", "--school", school, "--json", env=env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert {t["table"] for t in json.loads(clean.stdout)["tables"]} >= {"access_index", "alerts", "verifications"}

    async with app_engine.begin() as conn:  # the insider, as the service's own database role
        erased = await conn.execute(
            text("DELETE FROM hocba_read.access_index WHERE school_id = :s AND username = 'gv.toan02'"), {"s": school}
        )
    assert erased.rowcount == 1
    found = hocba("replay", "--school", school, "--json", env=env)
    assert found.returncode == 1
    report: dict[str, Any] = json.loads(found.stdout)
    assert [t["table"] for t in report["tables"] if not t["equal"]] == ["access_index"]

    await nightly_verification(runtime, [school])
    async with app_engine.connect() as conn:
        alerts = await query_alerts(conn, school)
    [differs] = [a for a in alerts if a["rule"] == "replay_differs"]
    assert differs["detail"] == {"tables": ["access_index"]}


async def test_entries_of_two_processes_and_alerts_between_them_make_one_chain_and_the_index_replays(
    app_engine: AsyncEngine, auditor_engine: AsyncEngine, runtime: Runtime
) -> None:
    """Each process's trail writes after the head it last wrote; when another process (or an alert)
    moved the head, its insert is refused and it appends under the lock instead. Interleaved and
    concurrent, the entries make one gapless chain, and the index rows inserted directly are exactly
    what a replay of the chain makes."""
    from audit.rules import alert
    from ledger.log.replay import replay
    from ledger.log.schema import ACCESS
    from ledger.log.verify import verify_school

    school = f"audit-{uuid.uuid4().hex[:8]}"
    one, other = AccessTrail(app_engine, clock=runtime.clock), AccessTrail(app_engine, clock=runtime.clock)

    def entry(who: str, student: str | None = None) -> AccessEntry:
        made = AccessEntry(str(uuid.uuid4()), "GET", "/api/v1/x", "10.1.1.1", runtime.clock.now(), school)
        made.username, made.roles, made.action = who, ["SUBJECT_TEACHER"], "student_transcript"
        made.touch([student] if student else [])
        return made

    recorded = [await one.record(entry("gv.a", "012345678901"), 200) for _ in range(3)]
    recorded.append(await other.record(entry("gv.b"), 403))
    recorded.append(await one.record(entry("gv.a"), 200))  # its head moved: appended under the lock
    now = runtime.clock.now()
    await other.raise_alerts(school, [alert("after_hours", "gv.b", now, now, {"n": 1})])
    recorded += await asyncio.gather(*(t.record(entry(f"gv.{i}"), 200) for i in range(6) for t in (one, other)))
    recorded.append(await one.record(entry("gv.a"), 500))
    seqs = sorted(e.seq for e in recorded)
    assert len(set(seqs)) == len(seqs) == 18 and seqs[-1] == 19  # 18 entries and one alert, no gap

    result = await verify_school(auditor_engine, school, runtime.trusted_roots(), chain=ACCESS)
    assert result.ok, result
    async with app_engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT entry, outcome, students, seq_from, seq_to FROM hocba_read.access_index WHERE school_id = :s"
                ),
                {"s": school},
            )
        ).all()
    assert sorted(r.entry for r in rows) == seqs and all(r.seq_from == r.entry and r.seq_to is None for r in rows)
    assert [r.outcome for r in rows].count("denied") == 1 and [r.outcome for r in rows].count("failed") == 1
    assert [r.students for r in rows].count(["012345678901"]) == 3
    report = await replay(auditor_engine, ACCESS_PROJECTIONS, school, chain=ACCESS)
    assert report.ok, report.different
