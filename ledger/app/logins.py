"""The limit on refused sign-ins, counted from the access trail: per username, and per client address.
One limit for every door: the API, the sign-in page and `hocba login` on the server."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from audit.trail import access_index

LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_ATTEMPTS = 5
ADDRESS_ATTEMPTS = 20
# Every way to try a password counts towards the same limit: the API's password and certificate logins,
# the sign-in page, the current password asked by a password change, and `hocba login`.
LOGIN_ACTIONS = ("auth_token", "auth_certificate", "page_login_submit", "me_password", "cli.login")


async def login_blocked(conn: AsyncConnection, school: str, username: str, client: str | None, since: datetime) -> int:
    """How many refused logins since `since` block this one: for this username, LOGIN_ATTEMPTS of
    them; from this address (a whole school may share one), ADDRESS_ATTEMPTS. 0 when not blocked."""
    t = access_index

    def count(who: Any) -> Any:
        return select(func.count()).where(
            t.c.school_id == school, t.c.action.in_(LOGIN_ACTIONS), t.c.outcome == "denied", t.c.at >= since, who
        )

    by_user = int(await conn.scalar(count(t.c.username == username)) or 0)
    if by_user >= LOGIN_ATTEMPTS:
        return by_user
    by_address = int(await conn.scalar(count(t.c.client == client)) or 0) if client else 0
    return by_address if by_address >= ADDRESS_ATTEMPTS else 0
