"""Alembic migrations: tables, database roles and grants, append-only triggers. Apply with
`hocba db upgrade` (or ledger.app.migrate.upgrade)."""
