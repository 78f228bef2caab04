"""A ledger whose integrity does not rest on the school's own server. Each test is an attack by an
insider with the database in hand (a superuser, triggers off); a witness runs as a process of its
own on loopback, with its own database and key, as the Sở would; and `hocba verify` must exit 1,
naming what is wrong."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from audit.trail import AccessEntry, AccessTrail
from ledger.app.runtime import Runtime
from ledger.app.standing import standing
from ledger.base.clock import ManualClock, SystemClock
from ledger.base.settings import Settings
from ledger.format.canonical import canonical_bytes
from ledger.format.envelope import event_hash
from ledger.format.note import VerifierKey
from ledger.log import store
from ledger.school.accounts.commands import create_account
from ledger.school.readmodels import school_ledger
from ledger.school.rules.policy import AccountKind
from signing.x509.pki import Pki
from tests.support.feed_client import FeedAlarm, FeedClient
from tests.support.helpers import SETUP_PRINCIPAL, database_url_of, hocba, noted
from tests.support.witnesses import WitnessProcess, witness_process

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def witness(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WitnessProcess]:
    """`hocba witness serve`: its own database, its own HOCBA_HOME (so its own key), on loopback."""
    with witness_process(server_url, tmp_path_factory.mktemp("witness-home")) as running:
        yield running


@dataclass
class School:
    id: str
    env: dict[str, str]


@pytest.fixture
async def school(app_engine: AsyncEngine, env: dict[str, str], witness: WitnessProcess, tmp_path: Path) -> School:
    """A school with two days of history, whose logs the witness witnesses, checkpointed and published."""
    name = f"t-{uuid.uuid4().hex[:12]}"
    clock = ManualClock(SystemClock().now() - timedelta(days=2))
    await school_ledger(app_engine, clock=clock).append(name, noted(20))
    trail = AccessTrail(app_engine, clock=clock)
    for number in range(3):  # three requests by the school's staff
        entry = AccessEntry(
            str(uuid.uuid4()), "GET", f"/api/v1/schools/{name}/x{number}", "127.0.0.1", clock.now(), name
        )
        await trail.record(entry, 200)
    school_env = witness.witness(name, env, tmp_path)
    signed = hocba("checkpoint", "--school", name, env=school_env)
    assert signed.returncode == 0, signed.stderr
    assert "cosigned by witness.sogddt-ninhbinh.test" in signed.stdout
    return School(name, school_env)


def verify(school: School, *args: str) -> subprocess.CompletedProcess[str]:
    return hocba("verify", "--school", school.id, "--json", *args, env=school.env)


def findings(done: subprocess.CompletedProcess[str], log: str = "events") -> list[dict[str, object]]:
    report = json.loads(done.stdout)
    [result] = [r for r in report["schools"] if r["log"] == log]
    return list(result["findings"])


def tamper(superuser: psycopg.Connection, *statements: tuple[str, tuple[object, ...]]) -> None:
    with superuser.transaction():
        superuser.execute("SET LOCAL session_replication_role = replica")
        for sql, params in statements:
            superuser.execute(sql, params)


def rewrite_from(superuser: psycopg.Connection, school: str, seq: int) -> None:
    """Change event `seq`'s payload and recompute its hash and every hash after it."""
    rows = superuser.execute(
        "SELECT seq, body FROM hocba.events WHERE school_id = %s AND seq >= %s ORDER BY seq", (school, seq)
    ).fetchall()
    prev = superuser.execute(
        "SELECT hash FROM hocba.events WHERE school_id = %s AND seq = %s", (school, seq - 1)
    ).fetchone()
    assert prev is not None
    statements = []
    previous = bytes(prev[0])
    for number, body in rows:
        doc = json.loads(body)
        if number == seq:
            doc["payload"] = {"n": 999}
        new_body = canonical_bytes(doc)
        digest = event_hash(previous, new_body)
        statements.append((
            "UPDATE hocba.events SET body = %s, prev_hash = %s, hash = %s WHERE school_id = %s AND seq = %s",
            (new_body, previous, digest, school, number),
        ))  # fmt: skip
        previous = digest
    tamper(superuser, *statements)


def test_an_intact_witnessed_ledger_verifies(school: School) -> None:
    done = verify(school)
    assert done.returncode == 0, done.stdout + done.stderr
    assert {r["log"] for r in json.loads(done.stdout)["schools"]} == {"events", "access"}


def test_deleting_every_checkpoint_is_caught(school: School, superuser: psycopg.Connection) -> None:
    tamper(
        superuser,
        ("DELETE FROM hocba.checkpoints WHERE school_id = %s", (school.id,)),
        ("DELETE FROM hocba.access_checkpoints WHERE school_id = %s", (school.id,)),
    )
    done = verify(school)
    assert done.returncode == 1
    problems = {f["problem"] for f in findings(done)}
    assert {"unsigned", "checkpoint-missing"} <= problems  # two days unsigned; the witness holds one
    assert any("no longer stored" in str(f["message"]) for f in findings(done))


async def test_deleting_a_middle_checkpoint_is_caught(
    school: School, app_engine: AsyncEngine, superuser: psycopg.Connection
) -> None:
    for start in (20, 25):  # more history, signed twice more
        await school_ledger(app_engine).append(school.id, noted(5, start=start))
        assert hocba("checkpoint", "--school", school.id, env=school.env).returncode == 0
    sizes = [
        r[0]
        for r in superuser.execute(
            "SELECT tree_size FROM hocba.checkpoints WHERE school_id = %s ORDER BY tree_size", (school.id,)
        )
    ]
    assert sizes == [20, 25, 30]
    tamper(superuser, ("DELETE FROM hocba.checkpoints WHERE school_id = %s AND tree_size = 25", (school.id,)))
    done = verify(school, "--offline")
    assert done.returncode == 1
    [missing] = [f for f in findings(done) if f["problem"] == "checkpoint-missing"]
    assert missing["seq"] == 25 and "is not stored" in str(missing["message"])
    [events] = [r for r in json.loads(done.stdout)["schools"] if r["log"] == "events"]
    assert events["first_bad_seq"] is None and events["first_bad_checkpoint"] == 25  # the events are whole


def test_rewriting_history_and_signing_it_again_is_refused_by_the_witness_and_caught(
    school: School, witness: WitnessProcess, superuser: psycopg.Connection
) -> None:
    """The insider rewrites event 7 and every hash after it, deletes the checkpoints that signed the
    original, and has the service sign the rewritten chain: the chain and its checkpoints look whole
    again, but the witness refuses to cosign a tree that does not extend the one it holds, keeps the
    attempt as evidence, and `hocba verify` asks it."""
    rewrite_from(superuser, school.id, 7)
    tamper(superuser, ("DELETE FROM hocba.checkpoints WHERE school_id = %s", (school.id,)))
    resigned = hocba("checkpoint", "--school", school.id, env=school.env)
    assert resigned.returncode == 1 and "witness.refused" in resigned.stderr  # signed here, refused there
    # the same size (20) with another root: a fork of the tree the witness cosigned
    evidence = httpx.get(f"{witness.url}/evidence", timeout=5).json()
    assert any(e["origin"].endswith(f"/{school.id}/events") and e["problem"] == "fork" for e in evidence)
    done = verify(school)
    assert done.returncode == 1
    forks = [f for f in findings(done) if f["problem"] == "fork"]
    assert forks and "witness.sogddt-ninhbinh.test" in str(forks[0]["message"])


def school_tables(superuser: psycopg.Connection) -> list[str]:
    """Every table that holds a school's rows: the logs, their checkpoints, the read models."""
    rows = superuser.execute(
        "SELECT c.oid::regclass::text FROM pg_class c"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'school_id'"
        " WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition"
        " AND c.relnamespace::regnamespace::text IN ('hocba', 'hocba_read') ORDER BY 1"
    )
    return [name for (name,) in rows]


def copy_school(superuser: psycopg.Connection, school: str) -> None:
    """An older copy of everything the school has in the database, kept aside (as a dump would be)."""
    for number, table in enumerate(school_tables(superuser)):
        superuser.execute(f"CREATE TEMP TABLE old_{number} AS SELECT * FROM {table} WHERE school_id = %s", (school,))


def restore_school(superuser: psycopg.Connection, school: str) -> None:
    """Put the older copy back in place of what the school has now."""
    tables = list(enumerate(school_tables(superuser)))
    tamper(
        superuser,
        *((f"DELETE FROM {table} WHERE school_id = %s", (school,)) for _, table in tables),
        *((f"INSERT INTO {table} SELECT * FROM old_{number}", ()) for number, table in tables),
    )


async def test_rolling_the_database_back_is_caught_by_the_witness_and_by_a_client(
    school: School,
    witness: WitnessProcess,
    app_engine: AsyncEngine,
    api: httpx.AsyncClient,
    pki: Pki,
    superuser: psycopg.Connection,
    tmp_path: Path,
) -> None:
    """The insider puts back an older copy of the school's data after more work was signed and
    published. The witness, and a client of the feed that kept the later checkpoint, both hold a
    larger tree than the database now has."""
    made = await create_account(  # this bare school has no staff: its installation opens the Sở's account
        school_ledger(app_engine), school.id, "so-gddt", AccountKind.INTEGRATION, actor=SETUP_PRINCIPAL, bootstrap=True
    )
    client = FeedClient(
        api,
        school.id,
        {"Authorization": f"ApiKey {made.api_key}"},
        pki.roots(),
        tmp_path / "client-state.json",
        [VerifierKey.parse(witness.vkey)],
        quorum=1,
    )
    assert (await client.sync()).tree_size == 20
    copy_school(superuser, school.id)
    await school_ledger(app_engine).append(school.id, noted(5, start=20))
    assert hocba("checkpoint", "--school", school.id, env=school.env).returncode == 0  # cosigned at 26
    assert (await client.sync()).tree_size == 26  # 20, the account's opening, 5 more
    saved = tmp_path / "client-checkpoint.json"
    saved.write_text(json.dumps(json.loads(client.state.read_text())["checkpoint"]))

    restore_school(superuser, school.id)

    offline = verify(school, "--offline", "--checkpoint", str(saved))
    assert offline.returncode == 1
    assert any(
        f["problem"] == "rolled-back" and "client-checkpoint.json" in str(f["message"]) for f in findings(offline)
    )
    online = verify(school)
    assert online.returncode == 1
    assert any(f["problem"] == "rolled-back" and "witness" in str(f["message"]) for f in findings(online))
    with pytest.raises(FeedAlarm, match="smaller than the tree of 26"):
        await client.sync()
    assert json.loads(client.state.read_text())["checkpoint"]["tree_size"] == 26  # kept as evidence


async def test_a_client_of_the_feed_raises_the_alarm_on_a_rewritten_history(
    school: School,
    app_engine: AsyncEngine,
    api: httpx.AsyncClient,
    pki: Pki,
    superuser: psycopg.Connection,
    tmp_path: Path,
) -> None:
    """History rewritten and re-signed at a larger size: the feed's proof from the client's tree
    cannot verify."""
    made = await create_account(  # this bare school has no staff: its installation opens the Sở's account
        school_ledger(app_engine), school.id, "so-gddt", AccountKind.INTEGRATION, actor=SETUP_PRINCIPAL, bootstrap=True
    )
    headers = {"Authorization": f"ApiKey {made.api_key}"}
    client = FeedClient(api, school.id, headers, pki.roots(), tmp_path / "state.json")
    assert (await client.sync()).tree_size == 20
    rewrite_from(superuser, school.id, 7)
    await school_ledger(app_engine).append(school.id, noted(2, start=20))
    tamper(superuser, ("DELETE FROM hocba.checkpoints WHERE school_id = %s", (school.id,)))
    offline_env = {**school.env, "HOCBA_WITNESSES_FILE": "", "HOCBA_WITNESS_QUORUM": ""}  # witnesses cut off
    assert hocba("checkpoint", "--school", school.id, env=offline_env).returncode == 0
    with pytest.raises(FeedAlarm, match="does not extend the tree of 20"):
        await client.sync()


def test_cutting_the_access_trail_alone_is_caught(school: School, superuser: psycopg.Connection) -> None:
    """The insider deletes the latest access entries (what someone read) and the access checkpoints
    over them: the events' checkpoint names the access trail it saw."""
    head = superuser.execute("SELECT max(seq) FROM hocba.access_log WHERE school_id = %s", (school.id,)).fetchone()
    assert head is not None and head[0] >= 2
    tamper(
        superuser,
        ("DELETE FROM hocba.access_log WHERE school_id = %s AND seq > 1", (school.id,)),
        ("DELETE FROM hocba.access_checkpoints WHERE school_id = %s AND tree_size > 1", (school.id,)),
    )
    done = verify(school, "--offline")
    assert done.returncode == 1
    peer = [f for f in findings(done) if f["problem"] == "checkpoint-peer"]
    assert peer and "access" in str(peer[0]["message"])


def test_a_body_with_a_duplicate_key_is_never_signed_and_is_caught(
    school: School, superuser: psycopg.Connection
) -> None:
    """The insider appends an event whose body repeats a key (it hashes fine, but it is not the
    canonical RFC 8785 form, and two readers may read two payloads): the service refuses to sign it,
    and verify names it."""
    last = superuser.execute(
        "SELECT seq, hash FROM hocba.events WHERE school_id = %s ORDER BY seq DESC LIMIT 1", (school.id,)
    ).fetchone()
    assert last is not None
    seq, prev = last[0] + 1, bytes(last[1])
    event_id = str(uuid.uuid4())
    body = (
        '{"actor":{"on_behalf_of":null,"role":"ADMIN","user":"admin.test"},"id":"' + event_id + '",'
        '"payload":{"n":1,"n":2},"recorded_at":"2026-11-28T08:00:00.000000+07:00","schema":1,'
        f'"school":"{school.id}","seq":{seq},"type":"test.noted","v":1}}'
    ).encode()
    tamper(
        superuser,
        (
            "INSERT INTO hocba.events (school_id, seq, event_id, type, recorded_at, prev_hash, hash, body)"
            " VALUES (%s, %s, %s, 'test.noted', '2026-11-28 08:00:00+07', %s, %s, %s)",
            (school.id, seq, event_id, prev, event_hash(prev, body), body),
        ),
    )
    refused = hocba("checkpoint", "--school", school.id, env=school.env)
    assert refused.returncode == 1 and "NOT INTACT" in refused.stderr
    done = verify(school, "--offline")
    assert done.returncode == 1
    at = {f["problem"]: f for f in findings(done) if f["seq"] == seq}
    assert "canonical" in at and "canonical" in str(at["canonical"]["message"]), at


async def test_the_portal_says_where_a_receipt_stands_today(
    school: School, witness: WitnessProcess, settings: Settings, app_engine: AsyncEngine, superuser: psycopg.Connection
) -> None:
    """The checkpoint an issued học bạ carries, checked against the school's events and the witness
    as they are now: held and cosigned; then the database is put back to an older copy; then history
    is rewritten."""
    witnessed = replace(settings, witnesses=((witness.vkey, witness.url),), witness_quorum=1)
    runtime = Runtime(witnessed, database_url_of(witnessed), SystemClock())
    try:
        async with app_engine.connect() as conn:
            first = await store.latest_checkpoint(conn, school.id)
        assert first is not None
        early = first.checkpoint.tree
        now = await standing(runtime, school.id, early)
        assert (now.live, now.live_size, now.ok) == ("contained", 20, True)
        assert now.witnesses == [{"name": "witness.sogddt-ninhbinh.test", "tree_size": 20, "state": "covers"}]

        copy_school(superuser, school.id)
        await school_ledger(app_engine).append(school.id, noted(5, start=20))
        assert hocba("checkpoint", "--school", school.id, env=school.env).returncode == 0
        async with app_engine.connect() as conn:
            second = await store.latest_checkpoint(conn, school.id)
        assert second is not None and second.checkpoint.tree_size == 25
        later = second.checkpoint.tree
        assert (await standing(runtime, school.id, early)).to_json()["witnesses"][0]["state"] == "covers"

        restore_school(superuser, school.id)  # back to 20 events; the receipt of 25 is out there
        gone = await standing(runtime, school.id, later)
        assert (gone.live, gone.live_size, gone.ok) == ("missing", 20, False)
        assert gone.witnesses[0]["state"] == "ahead"

        rewrite_from(superuser, school.id, 7)
        forked = await standing(runtime, school.id, early)
        assert (forked.live, forked.witnesses[0]["state"], forked.ok) == ("fork", "ahead", False)
    finally:
        await runtime.close()
