"""Time for the ledger. Every timestamp the ledger writes comes from a Clock, so tests can move
through a school year; production uses the system clock. Vietnam has kept UTC+07:00 without
daylight saving since 1975, so Asia/Ho_Chi_Minh is a fixed offset for every date the ledger holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol

VN_TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC).astimezone(VN_TZ)


class ManualClock:
    """A clock that only moves when told to (tests, simulations, the demo school year)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("ManualClock needs timezone-aware times")
        self._now = moment

    def advance(self, delta: timedelta) -> None:
        self._now = self._now + delta


def format_time(moment: datetime) -> str:
    """The ledger's one text form of a time: ISO 8601, microseconds, +07:00."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not accepted; attach a timezone")
    return moment.astimezone(VN_TZ).isoformat(timespec="microseconds")


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no UTC offset")
    return moment
