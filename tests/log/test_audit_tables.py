"""What auditors read of the access trail (the access index, the alerts, the verification results)
is a read model of the hash-chained trail: the application's database role can edit it, but
`hocba replay` and the nightly verification rebuild it from the chain and notice (the regulation's
Điều 20.3: every access recorded; an insider must not erase a trace unnoticed)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from audit.trail import AccessEntry, AccessTrail, query_alerts
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
