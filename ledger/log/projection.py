"""Projections: read models folded from events, in the same transaction as the append.

A projection names the event types it handles and writes only through a ProjectionWriter, which keeps
every version of every row (see ledger.log.schema.projection_table). That gives two things for free:
reading any projection as of a seq (or a time), and an exact comparison between the live tables and
a replay from seq 1 (ledger.replay), history included.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    Insert,
    Integer,
    Table,
    TableValuedAlias,
    Text,
    and_,
    bindparam,
    cast,
    column,
    func,
    insert,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeEngine

from ledger.format.envelope import Event

Handler = Callable[["ProjectionWriter", Event], Awaitable[None]]


@dataclass(frozen=True)
class Projection:
    name: str
    tables: tuple[Table, ...]
    handlers: Mapping[str, Handler] = field(default_factory=dict)


def _match(table: Table, school: str, filters: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    return [table.c.school_id == school, *(table.c[name] == value for name, value in filters.items())]


def _visible(table: Table, as_of: int | None) -> ColumnElement[bool]:
    if as_of is None:
        return table.c.seq_to.is_(None)
    return and_(table.c.seq_from <= as_of, or_(table.c.seq_to.is_(None), table.c.seq_to > as_of))


def _public(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in {"school_id", "seq_from", "seq_to"}}


async def read(
    conn: AsyncConnection,
    table: Table,
    school: str,
    *,
    as_of: int | None = None,
    order_by: Sequence[str] | None = None,
    **filters: Any,
) -> list[dict[str, Any]]:
    """Rows of a projection for one school, current or as of a seq, filtered by column equality."""
    query = select(table).where(*_match(table, school, filters), _visible(table, as_of))
    keys = order_by if order_by is not None else table.info["key"]
    query = query.order_by(*(table.c[k] for k in keys))
    return [_public(row) for row in (await conn.execute(query)).mappings()]


async def history(conn: AsyncConnection, table: Table, school: str, **key: Any) -> list[dict[str, Any]]:
    """Every version of the rows matching `key`, oldest first, with seq_from/seq_to."""
    query = select(table).where(*_match(table, school, key)).order_by(table.c.seq_from)
    return [dict(row) for row in (await conn.execute(query)).mappings()]


@dataclass
class _Op:
    seq: int
    values: dict[str, Any] | None  # None: the row is removed at this seq


class ProjectionWriter:
    """What projection handlers may do while a batch of events is applied.

    Writes are buffered per table and flushed in bulk (one statement closing the current versions of
    every key written, one INSERT of every new version, each with the whole batch as one JSON
    parameter), so a batch costs two statements per table, whatever its number of rows. Reads
    see the buffer: `get` of a buffered key answers from it, and `rows` flushes its table first. The
    versions written depend only on the events' seqs, never on where batches begin and end, so a
    replay with other batch sizes writes exactly the same rows.
    """

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.event: Event | None = None
        self._pending: dict[Table, dict[tuple[Any, ...], list[_Op]]] = {}
        # What a handler read once and keeps up to date for the rest of the batch, by its own key.
        self.memo: dict[str, Any] = {}

    @property
    def school(self) -> str:
        assert self.event is not None
        return self.event.school

    def _key(self, table: Table, key: Mapping[str, Any]) -> tuple[Any, ...]:
        names = table.info["key"]
        if set(key) != set(names):
            raise ValueError(f"{table.name}: key must be exactly {names}, got {sorted(key)}")
        return (self.school, *(key[name] for name in names))

    def _record(self, table: Table, key: Mapping[str, Any], values: dict[str, Any] | None) -> None:
        assert self.event is not None
        ops = self._pending.setdefault(table, {}).setdefault(self._key(table, key), [])
        if ops and ops[-1].seq == self.event.seq:
            ops[-1].values = values  # a later write by the same event replaces its earlier one
        else:
            ops.append(_Op(self.event.seq, values))

    async def get(self, table: Table, **key: Any) -> dict[str, Any] | None:
        ops = self._pending.get(table, {}).get(self._key(table, key))
        if ops:
            values = ops[-1].values
            return None if values is None else {**key, **values}
        rows = await read(self.conn, table, self.school, **key)
        return rows[0] if rows else None

    async def rows(self, table: Table, **filters: Any) -> list[dict[str, Any]]:
        await self._flush(table)
        return await read(self.conn, table, self.school, **filters)

    async def put(self, table: Table, key: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        """Make `values` the current version of the row `key`, closing the previous version."""
        self._record(table, key, dict(values))

    async def amend(self, table: Table, key: Mapping[str, Any], **changes: Any) -> None:
        """Make the current row `key` with `changes` its new version; nothing when there is no row."""
        current = await self.get(table, **key)
        if current is not None:
            values = {name: current[name] for name in table.info["values"]}
            await self.put(table, key, {**values, **changes})

    async def remove(self, table: Table, **key: Any) -> None:
        """End the current version of the row `key` (its history stays)."""
        self._record(table, key, None)

    async def flush(self) -> None:
        for table in list(self._pending):
            await self._flush(table)

    async def _flush(self, table: Table) -> None:
        pending = self._pending.pop(table, None)
        if not pending:
            return
        names = table.info["key"]
        closes: dict[str, list[dict[str, Any]]] = {}
        inserts: list[dict[str, Any]] = []
        for key, ops in pending.items():
            match = dict(zip(["school_id", *names], key, strict=True))
            closes.setdefault(key[0], []).append({**match, "seq": ops[0].seq})
            for index, op in enumerate(ops):
                if op.values is not None:
                    following = ops[index + 1].seq if index + 1 < len(ops) else None
                    inserts.append({**match, **op.values, "seq_from": op.seq, "seq_to": following})
        for school, keys in closes.items():
            await self.conn.execute(_closing(table), {"school": school, "keys": _json(keys)})
        if inserts:
            present = set().union(*inserts)
            columns = tuple(c.name for c in table.columns if c.name in present)
            rows = [{c: row.get(c) for c in columns} for row in inserts]
            await self.conn.execute(_inserting(table, columns), {"versions": _json(rows)})


def _json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"), default=_json_value)


def _json_value(value: Any) -> Any:
    if isinstance(value, date | time):  # datetime too
        return value.isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not a value a read model can hold")


def _recordset(name: str, columns: Sequence[tuple[str, TypeEngine[Any]]]) -> TableValuedAlias:
    """The rows of the JSON parameter `name` (an array of objects) as the derived table `name`, each
    member converted to its column's type by PostgreSQL's own input function: a batch of any size
    is one parameter of one statement with a fixed text, which the server plans once."""
    rows = func.json_to_recordset(cast(bindparam(name, type_=Text()), JSON()))
    derived = rows.table_valued(*(column(n, kind) for n, kind in columns), name=name)
    return derived.render_derived(name=name, with_types=True)


@cache
def _closing(table: Table) -> Insert:
    """Close the current version of every key of one school's batch at the key's first seq here.
    Only versions from before that seq are closed, so a replay of a prefix does not end rows written
    later; a key without a current row closes nothing.

    One statement for any number of keys, costing one or two index probes per key however many
    rows the school has. Written as an UPDATE joined to the batch, the planner could choose to hash
    every current row of the school (it does when its statistics lag behind a growing school), so
    the close goes through the unique index of current versions instead: each key that has a
    current version (looked up on its own, by a subquery the planner keeps per key) is proposed
    as a row, conflicts with that version, and the conflict sets its seq_to. No proposed row is
    ever inserted: the school's lock keeps the current versions as the lookup saw them.
    """
    names = table.info["key"]
    keys = _recordset("keys", [*((n, table.c[n].type) for n in names), ("seq", BigInteger())])
    current = table.alias("current_row")
    found = select(literal_column("1", Integer())).where(
        current.c.school_id == bindparam("school"),
        *(current.c[n] == keys.c[n] for n in names),
        current.c.seq_to.is_(None),
        current.c.seq_from < keys.c.seq,
    )
    proposed = select(bindparam("school", type_=Text()), *(keys.c[n] for n in names), keys.c.seq).where(
        found.scalar_subquery().is_not(None)
    )
    statement = pg_insert(table).from_select(["school_id", *names, "seq_from"], proposed)
    return statement.on_conflict_do_update(
        index_elements=["school_id", *names],
        index_where=table.c.seq_to.is_(None),
        set_={"seq_to": statement.excluded.seq_from},
    )


@cache
def _inserting(table: Table, columns: tuple[str, ...]) -> Insert:
    """Insert a batch of versions. A JSONB column's None is JSON null, as a single row's would be."""
    versions = _recordset("versions", [(c, table.c[c].type) for c in columns])

    def stored(name: str) -> ColumnElement[Any]:
        if isinstance(table.c[name].type, JSONB):
            return func.coalesce(versions.c[name], literal_column("'null'::jsonb"))
        return versions.c[name]

    return insert(table).from_select(columns, select(*(stored(c) for c in columns)))


Field = str | Callable[[Event], Any]


def copy_payload(table: Table, fields: Mapping[str, Field]) -> Handler:
    """A handler that makes a row of `table` from the event: each column takes the payload member of
    that name, or the value of a function of the event. Key columns must all be given."""
    keys = table.info["key"]

    def pick(event: Event, source: Field) -> Any:
        return source(event) if callable(source) else event.payload.get(source)

    async def handler(writer: ProjectionWriter, event: Event) -> None:
        row = {column: pick(event, source) for column, source in fields.items()}
        await writer.put(table, {k: row.pop(k) for k in keys}, row)

    return handler


def recorded_by(event: Event) -> str:
    return str(event.actor.user)


async def apply(conn: AsyncConnection, projections: Sequence[Projection], batch: Sequence[Event]) -> None:
    """Fold `batch` into every projection that handles its event types."""
    writer = ProjectionWriter(conn)
    for event in batch:
        handlers = [p.handlers[event.type] for p in projections if event.type in p.handlers]
        writer.event = event
        for handler in handlers:
            await handler(writer, event)
    await writer.flush()
