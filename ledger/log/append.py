"""Appending to a school's chain.

    ledger = Ledger(engine, projections)                          # the read models it keeps
    await ledger.append("khanh-phu", [NewEvent(...), ...])        # one or many events, atomically

    async def command(s: SchoolSession) -> Result:                # read state, decide, append,
        state = await read(s.conn, some_table, s.school)          # all under the school's lock
        return await s.append([...])
    result = await ledger.execute("khanh-phu", command)

Every command runs in a transaction that holds the school's append lock (ledger.log.store.lock_school)
from before it reads the head until commit, so the state a command reads is still the state when
its events land, and commit order is seq order.

A command that reads much can decide ahead instead (`Ledger.decide_ahead`): it reads and decides on a
snapshot without the lock, and under the lock only its guard is checked: the clock is not before the
moment it decided at and still before the first moment at which a rule it applied would answer
otherwise (`SchoolSession.changes_at`), and
no event appended since the head it read is one its decision depends on. If the guard holds, its
events are sealed and written with the other appends of the transaction (one COPY); if not, it
decides again under the lock, as any command does.

Commands for one school that arrive while a transaction is running are combined into the next
transaction (group commit): one lock acquisition and one WAL flush for all of them. Each runs under
its own savepoint, so a refused command rolls back alone and the others still commit; no command's
caller hears of success before the commit that made it durable. Appends are idempotent by event id:
a retried request with the same ids returns the events already recorded and appends nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.base.clock import Clock, ManualClock, SystemClock, format_time
from ledger.base.errors import HocbaError
from ledger.format.envelope import Event, NewEvent, seal, validate_school
from ledger.log import store
from ledger.log.projection import Projection, apply
from ledger.log.schema import ACCESS, EVENTS, Chain

T = TypeVar("T")
Command = Callable[["SchoolSession"], Awaitable[T]]
MAX_COMBINED = 64


class IdempotencyConflict(HocbaError, ValueError):
    """An event id was reused for different content, or a retried batch only partly matches."""


@dataclass
class SchoolSession:
    """One command's view of one school's chain, inside a transaction holding its append lock."""

    conn: AsyncConnection
    school: str
    head: store.Head
    clock: Clock
    projections: Sequence[Projection]
    chain: Chain = EVENTS
    # The first moment at which a time rule applied by this session would answer otherwise (None:
    # no such moment); see changes_at.
    horizon: datetime | None = None
    # Events after `_known_from` up to the head, as far as this transaction has read or sealed them.
    _known: list[Event] = field(default_factory=list, init=False, repr=False)
    _known_from: int = field(default=-1, init=False, repr=False)

    def __post_init__(self) -> None:
        self._known_from = self.head.seq

    def changes_at(self, moment: datetime) -> None:
        """Say that a rule applied now answers otherwise once the clock reaches `moment` (a deadline,
        a window's opening, the next day for a date). A decision taken ahead of the lock holds only
        while the clock is before the earliest such moment. Every rule that compares the time on a
        command that decides ahead must say so."""
        # A moment that is now counts too: a rule comparing `now > moment` answers otherwise at the
        # next instant.
        if moment >= self.now() and (self.horizon is None or moment < self.horizon):
            self.horizon = moment

    async def since(self, seq: int) -> list[Event]:
        """The events after `seq` up to the head, this transaction's own included."""
        if seq < self._known_from:
            older = await store.select_events(
                self.conn, self.school, after=seq, upto=self._known_from, chain=self.chain
            )
            self._known[:0] = older
            self._known_from = seq
        return [e for e in self._known if e.seq > seq]

    def rewind(self, head: store.Head) -> None:
        """Forget what was sealed after `head` (its savepoint was rolled back)."""
        self.head = head
        self._known = [e for e in self._known if e.seq <= head.seq]

    async def recorded(self, event_ids: Sequence[UUID]) -> dict[UUID, Event]:
        """Events of this school already recorded under these ids."""
        return await store.find_events(self.conn, self.school, event_ids, self.chain) if event_ids else {}

    async def append(self, new_events: Sequence[NewEvent]) -> list[Event]:
        """Append `new_events` after the head, or return them if this exact batch is already recorded."""
        _distinct_ids(new_events)
        existing = await self.recorded([e.event_id for e in new_events])
        if existing:
            return _replayed(new_events, existing)
        sealed = self.seal(new_events)
        await self.write(sealed)
        return sealed

    def now(self) -> datetime:
        """The moment events appended now will carry: the clock, but never before the head, so that
        recorded_at is non-decreasing along the chain. Rules that depend on time decide on it."""
        now = self.clock.now()
        if self.head.recorded_at is not None and now < self.head.recorded_at:
            # In the clock's zone, as read from the database it is in the server's: the date of a
            # moment (the day an assignment holds on) is the date in Việt Nam.
            return self.head.recorded_at.astimezone(now.tzinfo)
        return now

    def seal(self, new_events: Sequence[NewEvent], at: datetime | None = None) -> list[Event]:
        """Give events their places after the head (nothing is written yet), recorded now or `at`
        (a moment of self.now() taken since the last seal)."""
        now = at or self.now()
        sealed: list[Event] = []
        prev, seq, stamp = self.head.hash, self.head.seq, format_time(now)
        for new in new_events:
            seq += 1
            event = seal(self.school, seq, new, now, prev, stamp=stamp)
            sealed.append(event)
            prev = event.hash
        if sealed:
            self._known += sealed
            self.head = store.Head(seq, prev, now)
        return sealed

    async def write(self, sealed: Sequence[Event]) -> None:
        """Insert sealed events and fold them into the projections."""
        if sealed:
            await store.insert_events(self.conn, sealed, self.chain)
            await apply(self.conn, self.projections, sealed)


def _distinct_ids(new_events: Sequence[NewEvent]) -> None:
    if len({e.event_id for e in new_events}) != len(new_events):
        raise IdempotencyConflict("the batch uses the same event id twice")


def _replayed(new_events: Sequence[NewEvent], existing: Mapping[UUID, Event]) -> list[Event]:
    """The recorded events of a retried batch, which must match it exactly."""
    found = [existing[e.event_id] for e in new_events if e.event_id in existing]
    if len(found) != len(new_events):
        raise IdempotencyConflict(
            f"{len(found)} of {len(new_events)} event ids are already recorded; "
            "a retry must resend the whole batch unchanged"
        )
    for new, old in zip(new_events, found, strict=True):
        if not new.same_content(old):
            raise IdempotencyConflict(f"event id {new.event_id} is already recorded with other content")
    return sorted(found, key=lambda e: e.seq)


@dataclass(frozen=True)
class Decision:
    """What a command decided ahead of the lock: the events to append, and which later events would
    change that (`depends_on`, asked of every event appended after the head the decision read; by
    default every event does)."""

    events: Sequence[NewEvent]
    depends_on: Callable[[Event], bool] = lambda event: True


Decide = Callable[[SchoolSession], Awaitable[Decision]]


@dataclass(frozen=True)
class _Guard:
    """The conditions under which a decision taken ahead still holds at the append."""

    seq: int  # the head the decision read
    decided_at: datetime  # the moment the decision applied its rules at; the clock must not be before it
    horizon: datetime | None  # the clock must still be before this
    depends_on: Callable[[Event], bool]
    decide: Decide  # to decide again, under the lock

    async def moment(self, session: SchoolSession) -> datetime | None:
        """The moment to seal the decided events at, if the decision still holds then; else None.
        The caller seals at once (no await in between), so the time checked is the time recorded."""
        if session.head.seq != self.seq and any(self.depends_on(e) for e in await session.since(self.seq)):
            return None
        now = session.now()
        if now < self.decided_at or (self.horizon is not None and now >= self.horizon):
            return None
        return now


class _Append:
    """The command behind Ledger.append and Ledger.decide_ahead; the runner writes many of these with
    one COPY. One with a guard that no longer holds decides again under the lock."""

    def __init__(self, new_events: Sequence[NewEvent], guard: _Guard | None = None) -> None:
        self.new_events = list(new_events)
        self.guard = guard

    async def __call__(self, session: SchoolSession) -> list[Event]:
        if self.guard is None:
            return await session.append(self.new_events)
        at = await self.guard.moment(session)
        if at is None:
            return await self.redecide(session)
        # Decided ahead with fresh event ids: nothing to look up (the unique index still refuses a
        # reused one).
        _distinct_ids(self.new_events)
        sealed = session.seal(self.new_events, at)
        await session.write(sealed)
        return sealed

    async def redecide(self, session: SchoolSession) -> list[Event]:
        """Decide again under the lock, and append what that decides."""
        if self.guard is None:
            raise TypeError("only a decision taken ahead is decided again")
        return await session.append((await self.guard.decide(session)).events)


@dataclass
class _Pending:
    command: Command[Any]
    future: asyncio.Future[Any]

    def settle(self, result: Any = None, error: BaseException | None = None) -> None:
        if self.future.done():
            return
        if error is not None:
            self.future.set_exception(error)
        else:
            self.future.set_result(result)


@dataclass
class _Queue:
    waiting: list[_Pending] = field(default_factory=list)
    drainer: asyncio.Task[None] | None = None


class Ledger:
    def __init__(
        self,
        engine: AsyncEngine,
        projections: Sequence[Projection],
        *,
        clock: Clock | None = None,
        chain: Chain = EVENTS,
        linger: float = 0.0,
    ) -> None:
        """`projections`: the read models folded in the same transaction as every append (the log
        knows none of its own; the school's are `ledger.school.readmodels.PROJECTIONS`)."""
        self.engine = engine
        self.clock = clock or SystemClock()
        self.projections = projections
        self.chain = chain
        self.linger = linger  # seconds to wait for more commands before a transaction (short batches)
        self._queues: dict[str, _Queue] = {}

    async def execute(self, school: str, command: Command[T]) -> T:
        """Run `command` under the school's lock and return its result once it is committed."""
        validate_school(school, service=self.chain is ACCESS)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        queue = self._queues.setdefault(school, _Queue())
        queue.waiting.append(_Pending(command, future))
        if queue.drainer is None:
            # A task of its own: a caller that gives up (client disconnect) does not cut a running
            # transaction short, and the outcome is still decided by commit alone.
            queue.drainer = asyncio.create_task(self._drain(school, queue))
        return await asyncio.shield(future)

    async def append(self, school: str, new_events: Sequence[NewEvent]) -> list[Event]:
        """Append events atomically; idempotent by event id."""
        return await self.execute(school, _Append(new_events))

    async def decide(
        self, school: str, decision: Callable[[SchoolSession], Awaitable[Sequence[NewEvent]]]
    ) -> list[Event]:
        """Run `decision` under the school's lock (it reads state and returns the events to
        append, or raises DomainError to refuse) and append what it returns."""

        async def command(session: SchoolSession) -> list[Event]:
            return await session.append(await decision(session))

        return await self.execute(school, command)

    async def decide_ahead(self, school: str, decide: Decide) -> list[Event]:
        """Run `decide` on a snapshot without the school's lock (it reads state and returns the events
        to append with what they depend on, or raises DomainError to refuse), then append under the
        lock if its guard still holds, or decide again under the lock if not.

        A refusal, or a decision that changes nothing, is answered from the snapshot: it is the
        answer the state of that moment gave, and it appends nothing."""
        validate_school(school, service=self.chain is ACCESS)
        try:
            session, decision = await self._decide_on_snapshot(school, decide)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            # A connection that died in the pool (the pool has now dropped it and the older ones):
            # the decision only read, so it is simply taken again.
            session, decision = await self._decide_on_snapshot(school, decide)
        if not decision.events:
            return []
        guard = _Guard(session.head.seq, session.now(), session.horizon, decision.depends_on, decide)
        return await self.execute(school, _Append(decision.events, guard))

    async def _decide_on_snapshot(self, school: str, decide: Decide) -> tuple[SchoolSession, Decision]:
        async with self.engine.connect() as conn:
            snapshot = await conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            async with snapshot.begin():
                head = await store.read_head(snapshot, school, self.chain)
                session = SchoolSession(snapshot, school, head, self.clock, self.projections, self.chain)
                # One decision, one moment: every rule it applies compares the same time, the one the
                # guard then holds the append to (not before it, and before the horizon).
                session.clock = ManualClock(session.now())
                return session, await decide(session)

    async def _drain(self, school: str, queue: _Queue) -> None:
        try:
            while queue.waiting:
                if self.linger:
                    await asyncio.sleep(self.linger)
                batch = queue.waiting[:MAX_COMBINED]
                del queue.waiting[:MAX_COMBINED]
                if all(isinstance(p.command, _Append) for p in batch):
                    # Appends whose guard no longer held decide again, first in the next transaction.
                    queue.waiting[:0] = await self._run_appends(school, batch)
                else:
                    await self._run_commands(school, batch)
        finally:
            queue.drainer = None
            if not queue.waiting:
                self._queues.pop(school, None)

    async def _transaction(
        self, school: str, work: Callable[[SchoolSession], Awaitable[list[_Outcome]]]
    ) -> list[_Outcome]:
        for attempt in (1, 2):
            locked = False
            try:
                async with self.engine.begin() as conn:
                    head = await store.lock_school(conn, school, self.chain)
                    locked = True
                    return await work(SchoolSession(conn, school, head, self.clock, self.projections, self.chain))
            except DBAPIError as exc:
                # The first statement found the connection dead: it died in the pool (a restarted
                # server), and SQLAlchemy has now dropped it and the pool's older ones. Nothing of
                # the transaction ran, so it runs once more, on a fresh connection.
                if locked or attempt == 2 or not exc.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    async def _run_appends(self, school: str, batch: list[_Pending], *, lookup: bool = False) -> list[_Pending]:
        """Many appends in one transaction and one COPY; returns those whose guard no longer held,
        to be run again as commands that decide under the lock.

        Optimistic first: event ids are not looked up, and the unique index refuses a reused one.
        Then the whole batch is run again with a lookup, which sorts retries from conflicts. If the
        transaction fails for any other reason, each append is run alone so one cannot sink another.
        """
        try:
            outcomes = await self._transaction(school, lambda session: _appends(session, batch, lookup))
        except store.DuplicateEventId:
            if lookup:
                self._fail(batch, IdempotencyConflict("an event id is already recorded"))
                return []
            return await self._run_appends(school, batch, lookup=True)
        except Exception as exc:
            if len(batch) == 1:
                self._fail(batch, exc)
                return []
            stale: list[_Pending] = []
            for pending in batch:
                stale += await self._run_appends(school, [pending], lookup=lookup)
            return stale
        except BaseException as exc:
            self._fail(batch, exc)
            raise
        _settle([outcome for outcome in outcomes if outcome[1] is not _STALE])
        return [
            _Pending(_redecide(pending.command), pending.future) for pending, result, _ in outcomes if result is _STALE
        ]

    async def _run_commands(self, school: str, batch: list[_Pending]) -> None:
        """General commands in one transaction, each under its own savepoint."""
        try:
            outcomes = await self._transaction(school, lambda session: _commands(session, batch))
        except BaseException as exc:
            self._fail(batch, exc)
            if not isinstance(exc, Exception):
                raise
            return
        _settle(outcomes)

    @staticmethod
    def _fail(batch: list[_Pending], error: BaseException) -> None:
        for pending in batch:
            if isinstance(error, asyncio.CancelledError):
                pending.future.cancel()
            else:
                pending.settle(error=error)


_Outcome = tuple[_Pending, Any, BaseException | None]
_STALE = object()  # the outcome of an append whose guard no longer held


def _redecide(command: Command[Any]) -> Command[list[Event]]:
    if not isinstance(command, _Append):
        raise TypeError("only a decision taken ahead is decided again")
    return command.redecide


def _settle(outcomes: list[_Outcome]) -> None:
    for pending, result, error in outcomes:
        pending.settle(result, error)


async def _appends(session: SchoolSession, batch: list[_Pending], lookup: bool) -> list[_Outcome]:
    """Seal every append of the batch after the head and write them all at once."""
    commands = [pending.command for pending in batch if isinstance(pending.command, _Append)]
    if len(commands) != len(batch):
        raise TypeError("only appends can share one COPY")
    recorded = await session.recorded([e.event_id for c in commands for e in c.new_events]) if lookup else {}
    outcomes: list[_Outcome] = []
    sealed: list[Event] = []
    for pending, command in zip(batch, commands, strict=True):
        at = None
        if command.guard is not None:
            at = await command.guard.moment(session)
            if at is None:
                outcomes.append((pending, _STALE, None))
                continue
        try:
            _distinct_ids(command.new_events)
            if any(e.event_id in recorded for e in command.new_events):
                result = _replayed(command.new_events, recorded)
            else:
                result = session.seal(command.new_events, at)
                sealed += result
                recorded.update((e.event_id, e) for e in result)
        except Exception as exc:
            outcomes.append((pending, None, exc))
        else:
            outcomes.append((pending, result, None))
    await session.write(sealed)
    return outcomes


async def _commands(session: SchoolSession, batch: list[_Pending]) -> list[_Outcome]:
    if len(batch) == 1:
        return [(batch[0], await batch[0].command(session), None)]
    outcomes: list[_Outcome] = []
    for pending in batch:
        before = session.head
        savepoint = await session.conn.begin_nested()
        try:
            result = await pending.command(session)
        except Exception as exc:
            await savepoint.rollback()
            session.rewind(before)
            outcomes.append((pending, None, exc))
        else:
            await savepoint.commit()
            outcomes.append((pending, result, None))
    return outcomes
