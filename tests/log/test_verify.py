"""`hocba verify` recomputes every hash, link, gap and checkpoint, and names the first bad seq.

Each tampering below is done as a superuser with triggers disabled for the session
(session_replication_role = replica), which is what an attacker with full database access can do.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import pytest

from ledger.app.runtime import Runtime
from ledger.format.canonical import canonical_bytes
from ledger.format.envelope import event_hash
from ledger.log import verify as verify_module
from ledger.log.append import Ledger
from ledger.log.checkpointing import LedgerCorrupted, make_checkpoint
from ledger.log.verify import verify
from tests.support.helpers import hocba, noted


@pytest.fixture(params=["in the connection", "beside it"])
def reading(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Verification reads a long log on a second connection in its own snapshot
    (ledger.log.walk.stream_rows); every finding must be the same either way."""
    if request.param == "beside it":
        monkeypatch.setattr(verify_module, "BESIDE_FROM", 0)
    return str(request.param)


@contextmanager
def triggers_off(superuser: psycopg.Connection) -> Iterator[psycopg.Connection]:
    with superuser.transaction():
        superuser.execute("SET LOCAL session_replication_role = replica")
        yield superuser


async def chain(ledger: Ledger, runtime: Runtime, school: str, sizes: list[int]) -> None:
    """Append events in runs, signing a checkpoint after each run."""
    for size in sizes:
        await ledger.append(school, noted(size))
        await runtime.checkpoint(school, clock=ledger.clock)


async def check(runtime: Runtime, school: str) -> tuple[bool, int | None, list[str]]:
    report = await verify(runtime.engine("hocba_auditor"), runtime.trusted_roots(), [school])
    result = report.schools[0]
    return result.ok, result.first_bad_seq, sorted({f.problem for f in result.findings})


def rewrite_body(conn: psycopg.Connection, school: str, seq: int, payload: dict[str, object]) -> bytes:
    row = conn.execute("SELECT body FROM hocba.events WHERE school_id = %s AND seq = %s", (school, seq)).fetchone()
    assert row is not None
    doc = json.loads(row[0])
    doc["payload"] = payload
    body = canonical_bytes(doc)
    conn.execute("UPDATE hocba.events SET body = %s WHERE school_id = %s AND seq = %s", (body, school, seq))
    return body


async def test_intact_ledger_verifies(reading: str, ledger: Ledger, runtime: Runtime, school: str) -> None:
    await chain(ledger, runtime, school, [5, 7])
    assert await check(runtime, school) == (True, None, [])


def change_payload(conn: psycopg.Connection, school: str) -> None:
    rewrite_body(conn, school, 5, {"n": 999})


def delete_row(conn: psycopg.Connection, school: str) -> None:
    conn.execute("DELETE FROM hocba.events WHERE school_id = %s AND seq = 7", (school,))


def delete_last_row(conn: psycopg.Connection, school: str) -> None:
    conn.execute("DELETE FROM hocba.events WHERE school_id = %s AND seq = 12", (school,))


def swap_rows(conn: psycopg.Connection, school: str) -> None:
    for old, new in [(4, 1_000_004), (9, 4), (1_000_004, 9)]:
        conn.execute("UPDATE hocba.events SET seq = %s WHERE school_id = %s AND seq = %s", (new, school, old))


@pytest.mark.parametrize(
    ("tamper", "first_bad", "problem"),
    [
        (change_payload, 5, "hash"),
        (delete_row, 7, "missing"),
        (delete_last_row, 12, "truncated"),  # the chain alone cannot see it; the checkpoint does
        (swap_rows, 4, "reordered"),
    ],
    ids=["changed payload", "deleted row", "deleted last row", "swapped rows"],
)
async def test_tampering_is_named_at_its_first_seq(
    reading: str,
    ledger: Ledger,
    runtime: Runtime,
    school: str,
    superuser: psycopg.Connection,
    tamper: Callable[[psycopg.Connection, str], None],
    first_bad: int,
    problem: str,
) -> None:
    await chain(ledger, runtime, school, [12])
    with triggers_off(superuser) as conn:
        tamper(conn, school)
    ok, first, problems = await check(runtime, school)
    assert (ok, first) == (False, first_bad)
    assert problem in problems


async def test_rewritten_tail_with_recomputed_hashes_is_caught_by_the_signed_checkpoint(
    ledger: Ledger, runtime: Runtime, school: str, superuser: psycopg.Connection
) -> None:
    await chain(ledger, runtime, school, [10, 10])
    with triggers_off(superuser) as conn:
        prev = conn.execute("SELECT hash FROM hocba.events WHERE school_id = %s AND seq = 13", (school,)).fetchone()[0]  # type: ignore[index]
        for seq in range(14, 21):
            body = rewrite_body(conn, school, seq, {"n": -seq})
            digest = event_hash(prev, body)
            conn.execute(
                "UPDATE hocba.events SET prev_hash = %s, hash = %s WHERE school_id = %s AND seq = %s",
                (prev, digest, school, seq),
            )
            prev = digest
    ok, first, problems = await check(runtime, school)
    # The chain itself is consistent again; only the checkpoint signed over the original shows it.
    assert (ok, first, problems) == (False, 14, ["checkpoint"])
    await ledger.append(school, noted(1))
    with pytest.raises(LedgerCorrupted, match="not the one the last checkpoint signed"):
        await runtime.checkpoint(school, clock=ledger.clock)


async def test_checkpoint_from_an_untrusted_key_is_reported(
    ledger: Ledger, runtime: Runtime, school: str, tmp_path: object
) -> None:
    from signing.x509.pki import Pki

    await chain(ledger, runtime, school, [3])
    other = Pki(tmp_path / "other")  # type: ignore[operator]
    other.init_demo()
    await ledger.append(school, noted(2))
    await make_checkpoint(
        ledger.engine,
        school,
        other.demo_service_key(school),
        ledger.clock,
        policy=runtime.checkpoint_policy(ledger.clock),
    )
    ok, first, problems = await check(runtime, school)
    # The checkpoint is at fault, not the events it covers.
    assert (ok, first, problems) == (False, None, ["checkpoint-signature"])
    report = await verify(runtime.engine("hocba_auditor"), runtime.trusted_roots(), [school])
    assert report.schools[0].first_bad_checkpoint == 5


async def test_cli_exit_codes_and_json(
    env: dict[str, str], superuser: psycopg.Connection, school: str, ledger: Ledger, runtime: Runtime
) -> None:
    await chain(ledger, runtime, school, [4])
    ok = hocba("verify", "--school", school, env=env)
    assert ok.returncode == 0, ok.stderr
    assert "intact" in ok.stdout
    with triggers_off(superuser) as conn:
        conn.execute(
            "UPDATE hocba.events SET body = body || '\\x20'::bytea WHERE school_id = %s AND seq = 2",
            (school,),
        )
    bad = hocba("verify", "--school", school, "--json", env=env)
    assert bad.returncode == 1, bad.stderr
    report = json.loads(bad.stdout)
    assert report["ok"] is False
    assert report["schools"][0]["first_bad_seq"] == 2
    assert "seq 2" not in bad.stderr  # the report goes to stdout; stderr has no progress bar off a terminal


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("type", "'test.forged'"),
        ("event_id", "gen_random_uuid()"),
        ("recorded_at", "recorded_at + interval '1 second'"),
        ("type", "type || chr(31)"),  # a control character added to a column
    ],
)
async def test_indexed_columns_that_disagree_with_the_body_are_named(
    reading: str, ledger: Ledger, runtime: Runtime, school: str, superuser: psycopg.Connection, column: str, value: str
) -> None:
    await chain(ledger, runtime, school, [6])
    with triggers_off(superuser) as conn:
        conn.execute(f"UPDATE hocba.events SET {column} = {value} WHERE school_id = %s AND seq = 3", (school,))
    assert await check(runtime, school) == (False, 3, ["column"])


async def test_a_checkpoint_is_not_signed_over_a_row_whose_columns_disagree_with_its_body(
    ledger: Ledger, runtime: Runtime, school: str, superuser: psycopg.Connection
) -> None:
    """Checkpointing walks the rows it signs with verification's check: an indexed column edited in
    the unsigned tail stops the signature, and the refusal names the row."""
    await chain(ledger, runtime, school, [2])
    await ledger.append(school, noted(3))
    with triggers_off(superuser) as conn:
        conn.execute("UPDATE hocba.events SET type = 'test.forged' WHERE school_id = %s AND seq = 4", (school,))
    with pytest.raises(LedgerCorrupted) as refused:
        await runtime.checkpoint(school, clock=ledger.clock)
    assert [(f.seq, f.problem) for f in refused.value.findings] == [(4, "column")]


async def test_a_process_per_log_gives_the_same_report_as_one_process(
    ledger: Ledger, runtime: Runtime, superuser: psycopg.Connection
) -> None:
    """`hocba verify` spreads the logs of a large installation over the cores; what it reports, and in
    which order, is what one process reports, findings included."""
    from ledger.app.verify_pool import verify_logs

    schools = [f"t-{uuid.uuid4().hex[:12]}" for _ in range(2)]
    for school in schools:
        await chain(ledger, runtime, school, [4, 3])
    with triggers_off(superuser) as conn:
        rewrite_body(conn, schools[1], 2, {"note": "đã sửa"})
    auditor = runtime.engine("hocba_auditor")
    here = await verify(auditor, runtime.trusted_roots(), schools)
    spread = await verify_logs(runtime.url, auditor, runtime.trusted_roots(), schools, workers=2, parallel_from=0)
    assert [r.to_json() for r in spread.schools] == [r.to_json() for r in here.schools]
    assert [(r.school, r.log, r.ok) for r in spread.schools] == [
        (schools[0], "events", True),
        (schools[1], "events", False),
        (schools[0], "access", True),
        (schools[1], "access", True),
    ]


async def test_rows_read_beside_are_those_of_the_verifying_transaction(
    ledger: Ledger, runtime: Runtime, school: str
) -> None:
    """The second connection reads in the snapshot the verifying transaction exports: events appended
    after that transaction began are not walked, as they would not be on its own connection."""
    from sqlalchemy import text

    from ledger.log.walk import stream_rows

    await ledger.append(school, noted(5))
    auditor = runtime.engine("hocba_auditor")
    async with auditor.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            await conn.execute(text("SELECT 1"))  # the snapshot is taken here
            await ledger.append(school, noted(4))  # committed on another connection
            seqs = [row[0] async for rows in stream_rows(conn, school, 0, 100, beside_from=0) for row in rows]
            own = [row[0] async for rows in stream_rows(conn, school, 0, 100) for row in rows]
    assert seqs == own == [1, 2, 3, 4, 5]
