"""Unusual access (Điều 20.3): bulk reads, access outside school hours, repeated refusals. Each
finding is a stored alert that auditors list; scanning again raises nothing twice."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from audit.rules import Thresholds, find_unusual, scan
from audit.trail import AccessTrail
from ledger.app.demo import DemoSchool
from ledger.app.runtime import Runtime
from ledger.base.clock import VN_TZ

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=VN_TZ)


def entry(
    minute: int, user: str | None = "gv.x", outcome: str = "allowed", students: list[str] | None = None, hour: int = 12
) -> dict[str, Any]:
    at = NOON.replace(hour=hour) + timedelta(minutes=minute)
    return {"at": at, "username": user, "outcome": outcome, "students": students or [], "client": "10.0.0.9"}


def rules(rows: list[dict[str, Any]], **limits: Any) -> list[tuple[str, str]]:
    return sorted((a["rule"], a["username"]) for a in find_unusual(rows, Thresholds(**limits)))


def test_bulk_reads_of_many_students_in_one_window() -> None:
    many = [entry(i % 9, students=[f"0373120{i:05d}"]) for i in range(10)]
    assert rules(many, bulk_students=10) == [("bulk_reads", "gv.x")]
    assert rules(many[:9], bulk_students=10) == []
    same_student = [entry(i % 9, students=["037312000001"]) for i in range(30)]
    assert rules(same_student, bulk_students=10) == []


def test_repeated_refusals_by_account_or_address() -> None:
    assert rules([entry(i, outcome="denied") for i in range(5)]) == [("repeated_refusals", "gv.x")]
    assert rules([entry(i, outcome="denied") for i in range(4)]) == []
    assert rules([entry(i, user=None, outcome="denied") for i in range(5)]) == [
        ("repeated_refusals", "address 10.0.0.9")
    ]


def test_access_outside_school_hours() -> None:
    assert rules([entry(0, hour=23), entry(5, hour=23)]) == [("off_hours", "gv.x")]  # one alert a night
    assert rules([entry(0, hour=6), entry(0, hour=21)]) == []


async def test_scan_stores_alerts_that_auditors_list_once(
    api: httpx.AsyncClient, demo: DemoSchool, tokens: Any, runtime: Runtime
) -> None:
    for student in demo.rosters["6A1"][:3]:
        await api.get(
            f"/api/v1/schools/{demo.school}/students/{student}/transcript?year={demo.year}", headers=tokens["PRINCIPAL"]
        )
    trail = AccessTrail(runtime.engine())
    limits = Thresholds(bulk_students=3, school_day=(0, 24))
    raised = await scan(runtime.engine(), trail, runtime.clock.now(), limits)
    assert raised >= 1
    assert await scan(runtime.engine(), trail, runtime.clock.now(), limits) == 0  # nothing twice
    listed = (await api.get(f"/api/v1/schools/{demo.school}/audit/alerts", headers=tokens["AUDITOR"])).json()["items"]
    assert any(a["rule"] == "bulk_reads" and a["username"] == "ht.doanthuy" for a in listed)
