"""Least privilege, checked: every privilege the service's roles hold on the tables and columns of the
ledger (schemas hocba and hocba_read, partitions included, and the schemas themselves) after all migrations is the one written in
tests/log/privileges.csv, reviewed by hand. A grant added by a migration, or by the default
privileges of a schema, fails here until someone has looked at it and written it down.

What the review holds to (the regulation's Điều 20: the trail and the records cannot be changed, and
credentials are no one's to read): the auditor only reads, and never the password or API-key hashes
of `hocba.accounts`; the service's role never updates or deletes the append-only logs (the triggers
refuse it too, but privileges come first).

After a change of grants: `HOCBA_UPDATE_PRIVILEGES=1 pytest tests/log/test_privileges.py` rewrites the
file; review its diff like code."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import psycopg

from ledger.app.db import APP_ROLE, AUDITOR_ROLE

EXPECTED = Path(__file__).with_name("privileges.csv")
FIELDS = ["role", "table", "on", "privileges", "columns"]
WITNESS_ROLE = "hocba_witness"  # checked too when a migration makes it
APPEND_ONLY = {
    "hocba.events",
    "hocba.checkpoints",
    "hocba.access_log",
    "hocba.access_checkpoints",
    "hocba.revoked_tokens",
    "hocba.documents",
}
CREDENTIALS = {"password_hash", "api_key_hash"}

# Each table's name as its parent's for a partition; "on" says whether the privilege is on the table
# itself or on its partitions (queries go through the parent: a partition's grant is a second door).
_TABLES = """
SELECT r.rolname, n.nspname || '.' || coalesce(parent.relname, c.relname),
       CASE WHEN c.relispartition THEN 'partitions' ELSE 'table' END,
       a.privilege_type
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND c.relispartition
LEFT JOIN pg_class parent ON parent.oid = i.inhparent
CROSS JOIN LATERAL aclexplode(c.relacl) a
JOIN pg_roles r ON r.oid = a.grantee
WHERE n.nspname IN ('hocba', 'hocba_read') AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND r.rolname = ANY(%s)
"""
_SCHEMAS = """
SELECT r.rolname, n.nspname, 'schema', a.privilege_type
FROM pg_namespace n
CROSS JOIN LATERAL aclexplode(n.nspacl) a
JOIN pg_roles r ON r.oid = a.grantee
WHERE n.nspname IN ('hocba', 'hocba_read') AND r.rolname = ANY(%s)
"""
_COLUMNS = """
SELECT r.rolname, n.nspname || '.' || coalesce(parent.relname, c.relname),
       CASE WHEN c.relispartition THEN 'partitions' ELSE 'table' END,
       a.privilege_type, att.attname
FROM pg_attribute att
JOIN pg_class c ON c.oid = att.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND c.relispartition
LEFT JOIN pg_class parent ON parent.oid = i.inhparent
CROSS JOIN LATERAL aclexplode(att.attacl) a
JOIN pg_roles r ON r.oid = a.grantee
WHERE n.nspname IN ('hocba', 'hocba_read') AND att.attnum > 0 AND NOT att.attisdropped
  AND r.rolname = ANY(%s)
"""


def _tests_own(table: str) -> bool:
    """A read model a test makes for itself in the session's database (`test_…`), not the service's."""
    return table.split(".")[-1].startswith("test_")


def granted(url: str) -> list[dict[str, str]]:
    """The privileges held now, one row per (role, table, on) and per column grant, sorted."""
    with psycopg.connect(url) as conn:
        known = {name for (name,) in conn.execute("SELECT rolname FROM pg_roles").fetchall()}
        roles = sorted({APP_ROLE, AUDITOR_ROLE, WITNESS_ROLE} & known)
        tables: dict[tuple[str, str, str], set[str]] = {}
        for role, table, on, privilege in [
            *conn.execute(_SCHEMAS, (roles,)).fetchall(),
            *conn.execute(_TABLES, (roles,)).fetchall(),
        ]:
            tables.setdefault((role, table, on), set()).add(privilege)
        columns: dict[tuple[str, str, str, str], set[str]] = {}
        for role, table, on, privilege, column in conn.execute(_COLUMNS, (roles,)).fetchall():
            columns.setdefault((role, table, on, privilege), set()).add(column)
    rows = [
        {"role": r, "table": t, "on": on, "privileges": " ".join(sorted(p)), "columns": ""}
        for (r, t, on), p in tables.items()
        if not _tests_own(t)
    ]
    rows += [
        {"role": r, "table": t, "on": on, "privileges": p, "columns": " ".join(sorted(c))}
        for (r, t, on, p), c in columns.items()
        if not _tests_own(t)
    ]
    return sorted(rows, key=lambda row: [row[f] for f in FIELDS])


def as_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def test_the_roles_hold_exactly_the_reviewed_privileges_dieu_20(database_url: str) -> None:
    now = as_csv(granted(database_url))
    if os.environ.get("HOCBA_UPDATE_PRIVILEGES"):
        EXPECTED.write_text(now, encoding="utf-8")
    expected = EXPECTED.read_text(encoding="utf-8")
    held, written = set(now.splitlines()[1:]), set(expected.splitlines()[1:])
    extra = sorted(held - written)
    missing = sorted(written - held)
    assert not extra and not missing, (
        "the privileges differ from tests/log/privileges.csv (role,table,on,privileges,columns):\n"
        + "".join(f"  + granted, not reviewed: {line}\n" for line in extra)
        + "".join(f"  - reviewed, not granted: {line}\n" for line in missing)
    )


def test_the_reviewed_privileges_keep_the_rules_dieu_20() -> None:
    """The file itself holds to the review: the auditor reads only, and never a credential; the
    service's role never changes or deletes an entry of an append-only log."""
    rows = list(csv.DictReader(EXPECTED.read_text(encoding="utf-8").splitlines()))
    assert rows
    for row in rows:
        privileges = set(row["privileges"].split())
        if row["on"] == "schema":
            assert privileges == {"USAGE"}, row  # no role but the owner creates anything
        elif row["role"] == AUDITOR_ROLE:
            assert privileges == {"SELECT"}, row
            if row["table"] == "hocba.accounts":
                assert row["columns"] and not CREDENTIALS & set(row["columns"].split()), row
        if row["role"] == APP_ROLE and row["table"] in APPEND_ONLY:
            assert not privileges & {"UPDATE", "DELETE", "TRUNCATE"}, row
