"""Alembic environment: online migrations only, on a synchronous psycopg connection."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from ledger.app.db import sqlalchemy_url

config = context.config
url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
if not url:
    raise RuntimeError("no database URL: set DATABASE_URL or use `hocba db upgrade`")

engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
with engine.connect() as connection:
    # Several service processes may start at once; one migrates, the others wait and find it done. The
    # lock is the session's, held across the migrations; each migration commits on its own, so that no
    # transaction holds the locks of every table and partition at once (the server's lock table is
    # shared by every database on it).
    connection.exec_driver_sql("SELECT pg_advisory_lock(hashtextextended('hocba:migrations', 0))")
    connection.commit()
    try:
        context.configure(connection=connection, transactional_ddl=True, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    finally:
        connection.exec_driver_sql("SELECT pg_advisory_unlock(hashtextextended('hocba:migrations', 0))")
        connection.commit()
engine.dispose()
