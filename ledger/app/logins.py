"""The limit on refused sign-ins: per username, and per client address, within LOGIN_WINDOW (counted
in windows of that length, the previous one weighing in: ledger.app.limits). One limit for every
door: the API, the sign-in page and `hocba login` on the server.

An attempt is reserved in the database (ledger.app.limits) before the password is checked, so that
simultaneous guesses cannot all pass; a sign-in that succeeds gives its attempt back, so only refused
attempts count. An attempt past the limit is refused without checking the password."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.app.limits import Limit, Reservation, give_back, reserve

LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_ATTEMPTS = 5
ADDRESS_ATTEMPTS = 20
# Every way to try a password counts towards the same limit: the API's password and certificate logins,
# the sign-in page, the current password asked by a password change, and `hocba login`.
LOGIN_ACTIONS = ("auth_token", "auth_certificate", "page_login_submit", "me_password", "cli.login")


def login_limits(username: str, client: str | None) -> list[Limit]:
    """LOGIN_ATTEMPTS refused sign-ins per username; ADDRESS_ATTEMPTS per address (a whole school may
    share one)."""
    limits = [Limit(f"login:account:{username}", LOGIN_ATTEMPTS)]
    if client:
        limits.append(Limit(f"login:address:{client}", ADDRESS_ATTEMPTS))
    return limits


async def reserve_login(
    engine: AsyncEngine, school: str, username: str, client: str | None, now: datetime
) -> Reservation:
    """Reserve this sign-in attempt; `.over` is set when it is past a limit and must be refused."""
    return await reserve(engine, school, login_limits(username, client), LOGIN_WINDOW, now)


async def login_succeeded(engine: AsyncEngine, reservation: Reservation) -> None:
    """A sign-in that succeeded does not count towards the limit: its attempt is given back."""
    await give_back(engine, reservation)


def refused_before(reservation: Reservation) -> int:
    """How many attempts came before this refused one in its window (for the message)."""
    return max(reservation.count - 1, 0)
