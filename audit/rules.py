"""Rules that flag unusual access (the regulation's Điều 20.3), run on a schedule over the access
trail. Each finding becomes an `alert.raised` entry of the school's access chain; its id is derived
from the rule, the account and the time window, so scanning the same window again raises nothing new.

- bulk reads: one account read the records of many distinct students in a short window;
- off hours: access outside school hours (Asia/Ho_Chi_Minh);
- repeated refusals: many denied requests by one account, or from one address, in a short window.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from audit.trail import AccessTrail, access_index
from ledger.base.clock import VN_TZ, format_time
from ledger.base.logs import get_logger
from ledger.format.envelope import SERVICE_CHAIN
from ledger.log import store
from ledger.log.schema import ACCESS

log = get_logger(__name__)


@dataclass(frozen=True)
class Thresholds:
    window: timedelta = timedelta(minutes=10)
    bulk_students: int = 50
    refusals: int = 5
    school_day: tuple[int, int] = (6, 22)  # access from 06:00 to 22:00 is in hours
    lookback: timedelta = timedelta(minutes=30)


def _bucket(moment: datetime, window: timedelta) -> datetime:
    seconds = int(window.total_seconds())
    stamp = int(moment.timestamp())
    return datetime.fromtimestamp(stamp - stamp % seconds, VN_TZ)


def find_unusual(rows: list[dict[str, Any]], limits: Thresholds) -> list[dict[str, Any]]:
    """The alerts that access entries call for (pure: entries in, alert payloads out)."""
    students: dict[tuple[str, datetime], set[str]] = defaultdict(set)
    refusals: dict[tuple[str, datetime], int] = defaultdict(int)
    night: dict[tuple[str, datetime], int] = defaultdict(int)
    for row in rows:
        at: datetime = row["at"].astimezone(VN_TZ)
        bucket = _bucket(at, limits.window)
        who = row["username"]
        if who and row["outcome"] == "allowed":
            students[(who, bucket)].update(row["students"] or [])
            start, end = limits.school_day
            if not start <= at.hour < end:
                night[(who, at.replace(hour=0, minute=0, second=0, microsecond=0))] += 1
        if row["outcome"] == "denied":
            refusals[(who or f"address {row['client']}", bucket)] += 1
    alerts = []
    for (who, bucket), seen in students.items():
        if len(seen) >= limits.bulk_students:
            alerts.append(alert("bulk_reads", who, bucket, bucket + limits.window, {"threshold": limits.bulk_students}))
    for (who, bucket), count in refusals.items():
        if count >= limits.refusals:
            alerts.append(
                alert("repeated_refusals", who, bucket, bucket + limits.window, {"threshold": limits.refusals})
            )
    for (who, day), _count in night.items():
        alerts.append(
            alert(
                "off_hours",
                who,
                day,
                day + timedelta(days=1),
                {"school_day": f"{limits.school_day[0]:02d}:00–{limits.school_day[1]:02d}:00"},
            )
        )
    return alerts


def alert(rule: str, who: str, start: datetime, end: datetime, detail: dict[str, Any]) -> dict[str, Any]:
    """An alert of `rule` about `who` over a window; its key (rule, who, start) makes it raised once."""
    return {
        "key": f"{rule}:{who}:{format_time(start)}",
        "rule": rule,
        "username": who,
        "window_from": format_time(start),
        "window_to": format_time(end),
        "detail": detail,
    }


async def scan(engine: AsyncEngine, trail: AccessTrail, now: datetime, limits: Thresholds = Thresholds()) -> int:
    """Scan every school's recent access entries; return the number of new alerts."""
    async with engine.connect() as conn:
        schools = [s for s in await store.school_ids(conn, ACCESS) if s != SERVICE_CHAIN]
    raised = 0
    for school in schools:
        async with engine.connect() as conn:
            rows = [
                dict(r)
                for r in (
                    await conn.execute(
                        select(access_index).where(
                            access_index.c.school_id == school,
                            access_index.c.seq_to.is_(None),
                            access_index.c.at >= now - limits.lookback,
                        )
                    )
                ).mappings()
            ]
        found = find_unusual(rows, limits)
        for event in await trail.raise_alerts(school, found):
            log.warning("unusual access", school=school, rule=event.payload["rule"], account=event.payload["username"])
            raised += 1
    return raised
