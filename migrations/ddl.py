"""SQL building blocks shared by the migrations. Each migration spells out its own tables; these
helpers only avoid repeating the partition and trigger boilerplate."""

from __future__ import annotations

PARTITIONS = 16


def hash_partitions(table: str, partitions: int = PARTITIONS) -> list[str]:
    """Hash partitions by school: `table` must be declared PARTITION BY HASH (school_id)."""
    schema, name = table.split(".")
    return [
        f"CREATE TABLE {schema}.{name}_p{i:02d} PARTITION OF {table} "
        f"FOR VALUES WITH (MODULUS {partitions}, REMAINDER {i})"
        for i in range(partitions)
    ]


def append_only(table: str, partitions: int = PARTITIONS) -> list[str]:
    """Refuse UPDATE, DELETE and TRUNCATE on `table`, for every role including its owner.

    Row triggers on a partitioned table are cloned to its partitions; TRUNCATE triggers are not, so
    each partition gets its own.
    """
    schema, name = table.split(".")
    statements = [
        f"CREATE TRIGGER {name}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION hocba.refuse_change()",
    ]
    targets = [table] + [f"{schema}.{name}_p{i:02d}" for i in range(partitions)]
    statements += [
        f"CREATE TRIGGER {target.split('.')[1]}_no_truncate BEFORE TRUNCATE ON {target} "
        "FOR EACH STATEMENT EXECUTE FUNCTION hocba.refuse_change()"
        for target in targets
    ]
    return statements
