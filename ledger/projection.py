"""Projections: read models folded from events, in the same transaction as the append.

A projection names the event types it handles and writes only through a ProjectionWriter, which keeps
every version of every row (see ledger.schema.projection_table). That gives two things for free:
reading any projection as of a seq (or a time), and an exact comparison between the live tables and
a replay from seq 1 (ledger.replay), history included.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.envelope import Event

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
        return table.c.valid_to.is_(None)
    return and_(table.c.valid_from <= as_of, or_(table.c.valid_to.is_(None), table.c.valid_to > as_of))


def _public(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in {"school_id", "valid_from", "valid_to"}}


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
    """Every version of the rows matching `key`, oldest first, with valid_from/valid_to."""
    query = select(table).where(*_match(table, school, key)).order_by(table.c.valid_from)
    return [dict(row) for row in (await conn.execute(query)).mappings()]


class ProjectionWriter:
    """What a projection handler may do while one event is applied."""

    def __init__(self, conn: AsyncConnection, event: Event) -> None:
        self.conn = conn
        self.event = event

    @property
    def school(self) -> str:
        return self.event.school

    async def get(self, table: Table, **key: Any) -> dict[str, Any] | None:
        rows = await read(self.conn, table, self.school, **key)
        return rows[0] if rows else None

    async def rows(self, table: Table, **filters: Any) -> list[dict[str, Any]]:
        return await read(self.conn, table, self.school, **filters)

    async def put(self, table: Table, key: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        """Make `values` the current version of the row `key`, closing the previous version."""
        if set(key) != set(table.info["key"]):
            raise ValueError(f"{table.name}: key must be exactly {table.info['key']}, got {sorted(key)}")
        seq = self.event.seq
        await self._close(table, key, seq)
        row = {"school_id": self.school, **key, **values, "valid_from": seq, "valid_to": None}
        statement = pg_insert(table).values(row)
        # A second put for the same key within one event replaces that event's version.
        statement = statement.on_conflict_do_update(
            index_elements=[column.name for column in table.primary_key.columns],
            set_={**{name: statement.excluded[name] for name in values}, "valid_to": None},
        )
        await self.conn.execute(statement)

    async def remove(self, table: Table, **key: Any) -> None:
        """End the current version of the row `key` (its history stays)."""
        await self._close(table, key, self.event.seq, including_own=True)

    async def _close(self, table: Table, key: Mapping[str, Any], seq: int, *, including_own: bool = False) -> None:
        started = table.c.valid_from <= seq if including_own else table.c.valid_from < seq
        await self.conn.execute(
            update(table)
            .where(*_match(table, self.school, key), table.c.valid_to.is_(None), started)
            .values(valid_to=seq)
        )


async def apply(conn: AsyncConnection, projections: Sequence[Projection], batch: Sequence[Event]) -> None:
    """Fold `batch` into every projection that handles its event types."""
    for event in batch:
        handlers = [p.handlers[event.type] for p in projections if event.type in p.handlers]
        if not handlers:
            continue
        writer = ProjectionWriter(conn, event)
        for handler in handlers:
            await handler(writer, event)
