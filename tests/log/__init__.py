"""Tests of the log core on a real PostgreSQL: append, append-only tables, concurrency, verification,
checkpoints, projections and replay, the schema, and the access trail's rules."""
