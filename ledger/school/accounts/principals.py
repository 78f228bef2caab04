"""Who is signed in, kept per process and checked against the database on every request.

Finding a request's principal takes the account, its ledger record and its grants (load_principal).
A process keeps the principals it has found, each with the stamp of what it was found from: the row
versions (PostgreSQL's xmin) of the account, of its record and of every grant row in force for its
staff id. Every request reads the stamp again, in one statement, together with whether its token was
signed out or issued before the account's password last changed (`sessions_from`); the kept
principal is used only when the stamp is the same, and is found afresh otherwise.

Any change to those rows makes a new row version with a transaction id never used before, by
whichever door it came: an account disabled or its password changed, a grant made, ended, approved
or refused, a row edited by hand in the database. So a change committed by any process is seen by the
next request of every process; nothing is kept across a change, and a token signed out is refused
from the next request on. A principal is kept for one day of the clock (grants run by date) and at
most MAX_AGE, and only a principal found valid is kept: a refusal is never remembered.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.base.errors import AuthenticationFailed
from ledger.school.accounts.queries import load_principal
from ledger.school.rules.policy import AccountKind, Principal

MAX_AGE = 300.0  # seconds a kept principal lives even while its stamp holds
MAX_KEPT = 10_000

# One statement, one round trip: what a kept principal depends on, and whether the token was signed out.
_STAMP = """
SELECT
    EXISTS (SELECT 1 FROM hocba.revoked_tokens t WHERE t.school_id = %(school)s AND t.jti = %(jti)s),
    COALESCE(to_timestamp(%(issued)s::float8) < a.sessions_from, false),
    a.xmin::text,
    (SELECT r.xmin::text FROM hocba_read.account_records r
      WHERE r.school_id = %(school)s AND r.username = %(username)s AND r.seq_to IS NULL),
    ARRAY(SELECT g.xmin::text FROM hocba_read.assignments g
           WHERE g.school_id = %(school)s AND g.staff_id = a.staff_id AND g.seq_to IS NULL ORDER BY 1)
FROM (SELECT 1) AS one
LEFT JOIN hocba.accounts a ON a.school_id = %(school)s AND a.username = %(username)s
"""

Stamp = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class _Kept:
    stamp: Stamp
    day: date
    since: float
    principal: Principal


class Principals:
    """The principals this process has found, by school, username and kind of account."""

    def __init__(self, max_age: float = MAX_AGE, max_kept: int = MAX_KEPT) -> None:
        self.max_age, self.max_kept = max_age, max_kept
        self._kept: OrderedDict[tuple[str, str, AccountKind], _Kept] = OrderedDict()
        self.hits = self.misses = 0

    async def principal(
        self,
        engine: AsyncEngine,
        school: str,
        username: str,
        kind: AccountKind,
        today: date,
        *,
        token: str | None,
        issued: float | None = None,
    ) -> Principal:
        """The principal of `username` today, as load_principal finds it; AuthenticationFailed when
        the token was signed out, was issued (`issued`, its `iat`) before the account's password
        last changed, or the account cannot sign in."""
        async with engine.connect() as conn:
            # Each statement is its own transaction: one round trip, none to begin or end one.
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            revoked, superseded, *stamp = await _stamp(conn, school, username, token or "", issued)
            if revoked:
                raise AuthenticationFailed("token.revoked")
            if superseded:
                raise AuthenticationFailed("token.password_changed")
            key = (school, username, kind)
            kept = self._kept.get(key)
            fresh = kept is not None and time.monotonic() - kept.since < self.max_age
            if kept is not None and fresh and kept.stamp == tuple(stamp) and kept.day == today:
                self.hits += 1
                return kept.principal
            self.misses += 1
            self._kept.pop(key, None)
            # Read after the stamp: a change in between gives a later stamp than the one kept, which
            # the next request does not match, so the principal found here is never kept past it.
            found = await load_principal(conn, school, username, kind, today, token=token)
        self._kept[key] = _Kept(tuple(stamp), today, time.monotonic(), found)
        while len(self._kept) > self.max_kept:
            self._kept.popitem(last=False)
        return found

    def forget(self, school: str | None = None) -> None:
        """Drop the principals kept (of one school, or all)."""
        for key in [k for k in self._kept if school is None or k[0] == school]:
            del self._kept[key]


async def _stamp(conn: AsyncConnection, school: str, username: str, jti: str, issued: float | None) -> tuple[Any, ...]:
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    params = {"school": school, "username": username, "jti": jti, "issued": issued}
    cursor = await driver.execute(_STAMP, params, prepare=True)
    row = await cursor.fetchone()
    assert row is not None
    return (row[0], row[1], row[2], row[3], tuple(row[4]))
