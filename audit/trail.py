"""The access trail: one entry per request to the service, allowed or refused, appended to a
hash-chained, checkpointed log of its own (the `access` chain, same format as the events) before the
response goes out. Requests that concern no school go to the chain named `service`.

Entries are read through the `access_index` projection (who accessed which student, what a user did,
refusals) and unusual access raises alerts in the same chain (audit.rules).

A request's entry costs one round trip. The trail keeps the head of each school's chain it last
wrote, seals the entries waiting for that school after it, and sends the lock, the entries, their
access_index rows (always new: inserted, never updated) and the commit in one pipeline. Should
another writer have moved the head meanwhile (another process, or this one's alerts), the entry's seq
is taken already and the insert is refused by the chain's primary key; the entries are then
appended the ordinary way, under the lock, and the head they end at is kept (so too when the
pipeline fails for any other reason). A request waits for its entry's commit without holding
anything the event loop needs.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Index, Integer, Text, Uuid, and_, select
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.base.clock import Clock, SystemClock, format_time, parse_time
from ledger.base.logs import get_logger
from ledger.format.envelope import SERVICE_CHAIN, SYSTEM, Actor, Event, NewEvent, seal, validate_school
from ledger.log import store
from ledger.log.append import MAX_COMBINED, Ledger, SchoolSession
from ledger.log.projection import Projection, copy_payload
from ledger.log.schema import ACCESS, READ_SCHEMA, projection_table

log = get_logger(__name__)
_PERSONAL_ID = re.compile(r"^\d{12}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
ACCESS_RECORDED = "access.recorded"
ALERT_RAISED = "alert.raised"
VERIFICATION_COMPLETED = "verification.completed"

access_index = projection_table(
    "access_index",
    keys=[Column("entry", BigInteger)],
    values=[
        Column("at", DateTime(timezone=True)),
        Column("request_id", Text),
        Column("username", Text),
        Column("roles", ARRAY(Text)),
        Column("action", Text),
        Column("method", Text),
        Column("path", Text),
        Column("outcome", Text),
        Column("status", Integer),
        Column("client", Text),
        Column("students", ARRAY(Text)),
        Column("reason", Text),
    ],
)
alerts = projection_table(
    "alerts",
    keys=[Column("alert_id", Uuid)],
    values=[
        Column("rule", Text),
        Column("username", Text),
        Column("window_from", DateTime(timezone=True)),
        Column("window_to", DateTime(timezone=True)),
        Column("raised_at", DateTime(timezone=True)),
        Column("detail", JSONB),
    ],
)
verifications = projection_table(
    "verifications",
    keys=[Column("log", Text)],
    values=[
        Column("ok", Boolean),
        Column("ran_at", DateTime(timezone=True)),
        Column("events", BigInteger),
        Column("head_seq", BigInteger),
        Column("first_bad_seq", BigInteger),
        Column("findings", Integer),
    ],
)
Index("access_index_user", access_index.c.school_id, access_index.c.username, access_index.c.at)
Index("access_index_outcome", access_index.c.school_id, access_index.c.outcome, access_index.c.at)
Index("access_index_at", access_index.c.school_id, access_index.c.at)
Index("access_index_students", access_index.c.students, postgresql_using="gin")


def _clean(text: str | None) -> str | None:
    """Requests are recorded as they came, but without control characters (which the database's
    text columns refuse): a request cannot make its own record unwritable."""
    return None if text is None else _CONTROL.sub("\ufffd", text)[:2000]


@dataclass
class AccessEntry:
    """What one request did: filled in as the request goes, recorded when the response starts."""

    request_id: str
    method: str
    path: str
    client: str | None
    started: datetime
    school: str | None = None
    username: str | None = None
    roles: list[str] = field(default_factory=list)
    action: str | None = None
    resource: dict[str, Any] = field(default_factory=dict)
    students: set[str] = field(default_factory=set)
    reason: str | None = None
    denied: bool = False  # refused access answered otherwise (a page sends the visitor to sign in)

    def touch(self, students: Iterable[Any]) -> None:
        """Note the students whose data this request reads or writes (well-formed identifiers only)."""
        self.students.update(s for s in students if isinstance(s, str) and _PERSONAL_ID.match(s))

    def payload(self, status: int) -> dict[str, Any]:
        if status < 400 and not self.denied:
            outcome = "allowed"
        elif status < 400 or status in (401, 403, 429):
            outcome = "denied"
        elif status < 500:
            outcome = "refused"  # a request the service understood and declined (404, 409, 422)
        else:
            outcome = "failed"
        return {
            "request_id": self.request_id,
            "at": self.started.isoformat(),
            "username": _clean(self.username),
            "roles": sorted(self.roles),
            "action": self.action or "unknown",
            "method": _clean(self.method),
            "path": _clean(self.path),
            "resource": {_clean(k): _clean(str(v)) for k, v in sorted(self.resource.items())},
            "students": sorted(self.students),
            "outcome": outcome,
            "status": status,
            "client": _clean(self.client),
            "reason": self.reason,
        }


class AccessTrail:
    """Appends access entries; concurrent requests share transactions (group commit)."""

    def __init__(self, engine: AsyncEngine, clock: Clock | None = None, linger: float = 0.0) -> None:
        self.engine, self.clock, self.linger = engine, clock or SystemClock(), linger
        self.ledger = Ledger(engine, ACCESS_PROJECTIONS, clock=clock, chain=ACCESS, linger=linger)
        self._heads: dict[str, store.Head] = {}  # the head each school's chain had after this trail's last write
        self._waiting: dict[str, list[tuple[NewEvent, asyncio.Future[Event]]]] = {}
        self._drainers: dict[str, asyncio.Task[None]] = {}
        self._held: dict[str, AsyncConnection] = {}  # a drain's connection, kept while entries keep coming

    async def record(self, entry: AccessEntry, status: int) -> Event:
        """Append the request's entry; returns once it is committed."""
        school = entry.school or SERVICE_CHAIN
        validate_school(school, service=True)
        actor = Actor(entry.username or "anonymous", ",".join(sorted(entry.roles)) or "NONE")
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(school, []).append((NewEvent(ACCESS_RECORDED, entry.payload(status), actor), future))
        if school not in self._drainers:
            # A task of its own: a request that goes away does not cut a write short.
            self._drainers[school] = asyncio.create_task(self._drain(school))
        return await asyncio.shield(future)

    async def _drain(self, school: str) -> None:
        try:
            while waiting := self._waiting.get(school):
                if self.linger:
                    await asyncio.sleep(self.linger)
                batch = waiting[:MAX_COMBINED]
                del waiting[:MAX_COMBINED]
                await self._settle(school, batch)
        finally:
            held = self._held.pop(school, None)
            if held is not None:
                await held.close()
            del self._drainers[school]
            if not self._waiting.get(school):
                self._waiting.pop(school, None)

    async def _settle(self, school: str, batch: list[tuple[NewEvent, asyncio.Future[Event]]]) -> None:
        """Write a batch together; should that fail, each entry alone, so that one cannot sink another."""
        try:
            recorded = await self._write(school, [new for new, _ in batch])
        except Exception as exc:
            if len(batch) > 1:
                for one in batch:
                    await self._settle(school, [one])
                return
            _, future = batch[0]
            if not future.done():
                future.set_exception(exc)
        except BaseException:
            for _, future in batch:
                future.cancel()
            raise
        else:
            for (_, future), event in zip(batch, recorded, strict=True):
                if not future.done():
                    future.set_result(event)

    async def _write(self, school: str, new_events: list[NewEvent]) -> list[Event]:
        head = self._heads.pop(school, None)
        if head is not None:
            sealed = _seal_after(school, head, new_events, self.clock)
            try:
                await self._insert(school, sealed)
            except Exception as exc:
                # The head moved (another writer took these seqs), or the connection failed: the
                # ordinary way decides, under the lock. It is idempotent by event id, so entries whose
                # commit did land but was not heard of are not written twice.
                log.debug("access entries appended under the lock", school=school, reason=type(exc).__name__)
            else:
                self._heads[school] = _head_of(sealed[-1])
                return sealed
        recorded = await self.ledger.append(school, new_events)
        self._heads[school] = _head_of(recorded[-1])
        return recorded

    async def _insert(self, school: str, sealed: list[Event]) -> None:
        """The lock, the entries, their index rows and the commit, in one round trip (on the drain's
        connection, checked out once for as long as entries keep coming)."""
        conn = self._held.get(school)
        if conn is None:
            conn = self._held[school] = await self.engine.connect()
        try:
            driver: Any = (await conn.get_raw_connection()).driver_connection
            async with driver.pipeline():
                await driver.execute(*store.append_lock(school, ACCESS))
                await driver.execute(_INSERT_ENTRIES, _columns(sealed), prepare=True)
                await driver.cursor().executemany(_INSERT_INDEX, [_index_row(e) for e in sealed])
                await driver.commit()
        except BaseException:
            del self._held[school]
            await conn.close()  # rolled back and given back; the next batch takes a fresh one
            raise

    async def record_verification(self, school: str, log: str, result: dict[str, Any]) -> Event:
        """Keep a verification's outcome (the nightly job's, or an auditor's) in the school's trail."""
        payload = {
            "log": log,
            "ok": bool(result["ok"]),
            "events": int(result["events"]),
            "head_seq": int(result["head_seq"]),
            "first_bad_seq": result["first_bad_seq"],
            "findings": len(result["findings"]),
        }
        [event] = await self.ledger.append(school, [NewEvent(VERIFICATION_COMPLETED, payload, SYSTEM)])
        return event

    async def raise_alerts(self, school: str, found: Sequence[dict[str, Any]]) -> list[Event]:
        """Append the alerts not raised before (an alert's id derives from its rule, account, window)."""
        wanted = [
            NewEvent(
                ALERT_RAISED, alert, SYSTEM, event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"hocba:{school}:{alert['key']}")
            )
            for alert in found
        ]

        async def decide(session: SchoolSession) -> list[NewEvent]:
            known = await session.recorded([e.event_id for e in wanted])
            return [e for e in wanted if e.event_id not in known]

        return await self.ledger.decide(school, decide) if wanted else []


def _at(event: Event) -> datetime:
    return parse_time(event.payload["at"])


ACCESS_INDEX_FIELDS: dict[str, Any] = {
    "entry": lambda e: e.seq,
    "at": _at,
    "request_id": "request_id",
    "username": "username",
    "roles": "roles",
    "action": "action",
    "method": "method",
    "path": "path",
    "outcome": "outcome",
    "status": "status",
    "client": "client",
    "students": "students",
    "reason": "reason",
}
_INDEX_COLUMNS = ["school_id", *ACCESS_INDEX_FIELDS, "seq_from", "seq_to"]
_INSERT_INDEX = (
    f"INSERT INTO {READ_SCHEMA}.access_index ({', '.join(_INDEX_COLUMNS)}) "
    f"VALUES ({', '.join(['%s'] * len(_INDEX_COLUMNS))})"
)
_INSERT_ENTRIES = (
    f"INSERT INTO {ACCESS.events_sql} (school_id, seq, event_id, type, recorded_at, prev_hash, hash, body) "
    "SELECT * FROM unnest(%s::text[], %s::int8[], %s::uuid[], %s::text[], %s::timestamptz[], %s::bytea[], "
    "%s::bytea[], %s::bytea[])"
)


def _index_row(event: Event) -> tuple[Any, ...]:
    """The access_index row of an entry, as the projection makes it (a new key: no version before)."""
    values = [
        source(event) if callable(source) else event.payload.get(source) for source in ACCESS_INDEX_FIELDS.values()
    ]
    return (event.school, *values, event.seq, None)


def _columns(sealed: Sequence[Event]) -> list[list[Any]]:
    return [
        [e.school for e in sealed],
        [e.seq for e in sealed],
        [e.event_id for e in sealed],
        [e.type for e in sealed],
        [e.recorded_at for e in sealed],
        [e.prev_hash for e in sealed],
        [e.hash for e in sealed],
        [e.body for e in sealed],
    ]


def _seal_after(school: str, head: store.Head, new_events: Sequence[NewEvent], clock: Clock) -> list[Event]:
    """The entries in their places after `head`, at a time never before it (as SchoolSession seals)."""
    now = clock.now()
    if head.recorded_at is not None and now < head.recorded_at:
        now = head.recorded_at
    sealed, prev, stamp = [], head.hash, format_time(now)
    for offset, new in enumerate(new_events, start=1):
        event = seal(school, head.seq + offset, new, now, prev, stamp=stamp)
        sealed.append(event)
        prev = event.hash
    return sealed


def _head_of(event: Event) -> store.Head:
    return store.Head(event.seq, event.hash, event.recorded_at)


ACCESS_PROJECTION = Projection(
    "access",
    (access_index, alerts, verifications),
    {
        VERIFICATION_COMPLETED: copy_payload(
            verifications,
            {
                "log": "log",
                "ok": "ok",
                "ran_at": lambda e: e.recorded_at,
                "events": "events",
                "head_seq": "head_seq",
                "first_bad_seq": "first_bad_seq",
                "findings": "findings",
            },
        ),
        ACCESS_RECORDED: copy_payload(access_index, ACCESS_INDEX_FIELDS),
        ALERT_RAISED: copy_payload(
            alerts,
            {
                "alert_id": lambda e: e.event_id,
                "rule": "rule",
                "username": "username",
                "window_from": lambda e: parse_time(e.payload["window_from"]),
                "window_to": lambda e: parse_time(e.payload["window_to"]),
                "raised_at": lambda e: e.recorded_at,
                "detail": "detail",
            },
        ),
    },
)
ACCESS_PROJECTIONS = (ACCESS_PROJECTION,)


# --- auditors' questions -----------------------------------------------------------------------


async def query_access(
    conn: AsyncConnection,
    school: str,
    *,
    student: str | None = None,
    username: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    before_entry: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Access entries of a school, newest first: who accessed a student, what a user did, refusals.
    `before_entry` is the cursor of the previous page."""
    t = access_index
    conditions = [t.c.school_id == school, t.c.seq_to.is_(None)]
    if student is not None:
        conditions.append(t.c.students.contains([student]))
    if username is not None:
        conditions.append(t.c.username == username)
    if outcome is not None:
        conditions.append(t.c.outcome == outcome)
    if since is not None:
        conditions.append(t.c.at >= since)
    if before_entry is not None:
        conditions.append(t.c.entry < before_entry)
    query = select(t).where(and_(*conditions)).order_by(t.c.entry.desc()).limit(limit)
    return [
        {k: v for k, v in row.items() if k not in {"school_id", "seq_from", "seq_to"}}
        for row in (await conn.execute(query)).mappings()
    ]


async def query_alerts(conn: AsyncConnection, school: str, limit: int = 100) -> list[dict[str, Any]]:
    t = alerts
    query = select(t).where(t.c.school_id == school, t.c.seq_to.is_(None)).order_by(t.c.raised_at.desc()).limit(limit)
    return [
        {k: v for k, v in row.items() if k not in {"school_id", "seq_from", "seq_to"}}
        for row in (await conn.execute(query)).mappings()
    ]
