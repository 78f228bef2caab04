"""Limits that hold under concurrency: an attempt is counted in the database before it is let through.

Each limited thing (an account's sign-ins, an address's sign-ins, an address's portal requests) has a
key, counted in fixed windows. `reserve` raises the key's count for the current window with one atomic
`INSERT … ON CONFLICT DO UPDATE … RETURNING count`, committed at once, so simultaneous attempts each
see their own place in the count; `give_back` lowers it again for an attempt that should not count
(a sign-in that succeeded). Counting from the access trail instead lets every simultaneous attempt
pass: the trail is written after the response.

So that attempts on both sides of a window's end do not escape the limit, the previous window's count
weighs in by the share of it still within the last `window` (a sliding window, estimated): attempts
made just before the end still count in full just after it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, DateTime, Integer, Table, Text, text
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.log.schema import LEDGER_SCHEMA, metadata

attempt_counters = Table(
    "attempt_counters",
    metadata,
    Column("school_id", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("window_start", DateTime(timezone=True), primary_key=True),
    Column("count", Integer, nullable=False),
    schema=LEDGER_SCHEMA,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_RESERVE = text(
    "INSERT INTO hocba.attempt_counters AS c (school_id, key, window_start, count) "
    "VALUES (:school, :key, :window_start, 1) "
    "ON CONFLICT (school_id, key, window_start) DO UPDATE SET count = c.count + 1 "
    "RETURNING c.count"
)
_GIVE_BACK = text(
    "UPDATE hocba.attempt_counters SET count = count - 1 "
    "WHERE school_id = :school AND key = :key AND window_start = :window_start AND count > 0"
)
_PREVIOUS = text(
    "SELECT count FROM hocba.attempt_counters WHERE school_id = :school AND key = :key AND window_start = :previous"
)
_FORGET = text(
    "DELETE FROM hocba.attempt_counters WHERE school_id = :school AND key = :key AND window_start < :previous"
)


@dataclass(frozen=True)
class Limit:
    """At most `attempts` per `window` for one key."""

    key: str
    attempts: int


@dataclass(frozen=True)
class Reservation:
    """The attempts reserved for one request: `over` names the first limit exceeded (None: let through)
    and its count; `retry_after` is the seconds until the window ends."""

    school: str
    keys: tuple[str, ...]
    window_start: datetime
    over: Limit | None
    count: int
    retry_after: int


def window_of(now: datetime, window: timedelta) -> datetime:
    """The start of the fixed window `now` falls in (windows are counted from the Unix epoch)."""
    return _EPOCH + ((now - _EPOCH) // window) * window


async def reserve(
    engine: AsyncEngine, school: str, limits: Sequence[Limit], window: timedelta, now: datetime
) -> Reservation:
    """Count this attempt against every limit, atomically; the first one it exceeds refuses it."""
    start = window_of(now, window)
    still = 1 - (now - start) / window  # the share of the previous window within the last `window`
    over: Limit | None = None
    worst = 0
    async with engine.begin() as conn:
        for limit in limits:
            values = {"school": school, "key": limit.key, "window_start": start, "previous": start - window}
            count = int((await conn.execute(_RESERVE, values)).scalar_one())
            if count == 1:  # the first attempt of a window: the key's older windows are done with
                await conn.execute(_FORGET, values)
            before = math.ceil(int(await conn.scalar(_PREVIOUS, values) or 0) * still)
            if over is None and count + before > limit.attempts:
                over, worst = limit, count + before
    retry_after = max(1, int((start + window - now).total_seconds()))
    return Reservation(school, tuple(limit.key for limit in limits), start, over, worst, retry_after)


async def give_back(engine: AsyncEngine, reservation: Reservation) -> None:
    """Lower the counts an attempt raised: it does not count towards the limits after all."""
    async with engine.begin() as conn:
        for key in reservation.keys:
            await conn.execute(
                _GIVE_BACK, {"school": reservation.school, "key": key, "window_start": reservation.window_start}
            )
