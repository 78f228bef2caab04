"""Alembic migrations: tables, database roles and grants, append-only triggers. Apply with
`hocba db upgrade` (or ledger.migrate.upgrade)."""
