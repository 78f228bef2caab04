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


def projection_table(name: str, keys: list[tuple[str, str]], values: list[tuple[str, str]]) -> list[str]:
    """A versioned read-model table in hocba_read: each row version is valid for seq in
    [seq_from, seq_to), the current one has seq_to NULL (see ledger.schema.projection_table)."""
    columns = ["school_id text NOT NULL"]
    columns += [f"{column} {kind} NOT NULL" for column, kind in keys]
    columns += [f"{column} {kind}" for column, kind in values]
    columns += ["seq_from bigint NOT NULL", "seq_to bigint"]
    key_names = ", ".join(["school_id", *(column for column, _ in keys)])
    return [
        f"CREATE TABLE hocba_read.{name} ({', '.join(columns)}, "
        f"CONSTRAINT {name}_pkey PRIMARY KEY ({key_names}, seq_from))",
        f"CREATE UNIQUE INDEX {name}_current ON hocba_read.{name} ({key_names}) WHERE seq_to IS NULL",
    ]
