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
    """A versioned read-model table in hocba_read, partitioned by school like every table: each row
    version is valid for seq in [seq_from, seq_to), the current one has seq_to NULL (see
    ledger.log.schema.projection_table)."""
    columns = ["school_id text NOT NULL"]
    columns += [f"{column} {kind} NOT NULL" for column, kind in keys]
    columns += [f"{column} {kind}" for column, kind in values]
    columns += ["seq_from bigint NOT NULL", "seq_to bigint"]
    key_names = ", ".join(["school_id", *(column for column, _ in keys)])
    return [
        f"CREATE TABLE hocba_read.{name} ({', '.join(columns)}, "
        f"CONSTRAINT {name}_pkey PRIMARY KEY ({key_names}, seq_from)) PARTITION BY HASH (school_id)",
        *hash_partitions(f"hocba_read.{name}"),
        f"CREATE UNIQUE INDEX {name}_current ON hocba_read.{name} ({key_names}) WHERE seq_to IS NULL",
    ]


def partition_by_school(table: str) -> list[str]:
    """Turn a plain table with a school_id column into one partitioned by hash of school_id, keeping its
    rows, columns, defaults, constraints and indexes (the caller restores grants and triggers)."""
    schema, name = table.split(".")
    return [
        f"ALTER TABLE {table} RENAME TO {name}_plain",
        f"CREATE TABLE {table} (LIKE {schema}.{name}_plain INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
        "INCLUDING INDEXES INCLUDING STORAGE) PARTITION BY HASH (school_id)",
        *hash_partitions(table),
        f"INSERT INTO {table} SELECT * FROM {schema}.{name}_plain",
        f"DROP TABLE {schema}.{name}_plain",
    ]


def chain_tables(events: str, checkpoints: str) -> list[str]:
    """A hash-chained log (hocba.<events>) and its signed checkpoints (hocba.<checkpoints>), both
    partitioned by school and append-only. docs/LEDGER-FORMAT.md §7 describes the columns."""
    statements = [
        f"""
        CREATE TABLE hocba.{events} (
            school_id   text        NOT NULL,
            seq         bigint      NOT NULL CHECK (seq >= 1),
            event_id    uuid        NOT NULL,
            type        text        NOT NULL,
            recorded_at timestamptz NOT NULL,
            prev_hash   bytea       NOT NULL CHECK (octet_length(prev_hash) = 32),
            hash        bytea       NOT NULL CHECK (octet_length(hash) = 32),
            body        bytea       NOT NULL,
            CONSTRAINT {events}_pkey PRIMARY KEY (school_id, seq),
            CONSTRAINT {events}_event_id_key UNIQUE (school_id, event_id)
        ) PARTITION BY HASH (school_id)
        """,
        *hash_partitions(f"hocba.{events}"),
        f"CREATE INDEX {events}_type_idx ON hocba.{events} (school_id, type, seq)",
        f"CREATE INDEX {events}_recorded_at_idx ON hocba.{events} (school_id, recorded_at)",
        *append_only(f"hocba.{events}"),
        f"""
        CREATE TABLE hocba.{checkpoints} (
            school_id   text   NOT NULL,
            tree_size   bigint NOT NULL CHECK (tree_size >= 1),
            root        bytea  NOT NULL CHECK (octet_length(root) = 32),
            signed_at   text   NOT NULL,
            signature   bytea  NOT NULL,
            certificate bytea  NOT NULL,
            frontier    bytea  NOT NULL,
            leaves_from bigint NOT NULL CHECK (leaves_from >= 0 AND leaves_from < tree_size),
            leaves      bytea  NOT NULL CHECK (octet_length(leaves) = 32 * (tree_size - leaves_from)),
            CONSTRAINT {checkpoints}_pkey PRIMARY KEY (school_id, tree_size)
        ) PARTITION BY HASH (school_id)
        """,
        *hash_partitions(f"hocba.{checkpoints}"),
        *append_only(f"hocba.{checkpoints}"),
        f"GRANT SELECT, INSERT ON hocba.{events}, hocba.{checkpoints} TO hocba_app",
        f"GRANT SELECT ON hocba.{events}, hocba.{checkpoints} TO hocba_auditor",
    ]
    return statements
