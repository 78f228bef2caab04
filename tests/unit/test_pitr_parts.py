"""The pure parts of point-in-time recovery and failover: reading a target, pgBackRest's errors in a
server log, its backup list, the refusal of a point before a checkpoint held outside, and a database
URL naming several servers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledger.app.db import sqlalchemy_url
from ledger.app.recovery.pitr import RestoreRefused, archive_errors, last_backup, parse_target, refuse_before_outside
from ledger.format.checkpoint import Checkpoint


def test_a_target_is_a_time_with_its_offset_or_an_lsn() -> None:
    assert parse_target("0/3000060").kind == "lsn"
    assert parse_target("1a/ff00").value == "1A/FF00"
    moment = parse_target("2026-11-28T01:00:00+07:00")
    assert moment.kind == "time"
    assert moment.time == datetime(2026, 11, 27, 18, tzinfo=UTC)
    with pytest.raises(RestoreRefused, match="with its offset"):
        parse_target("2026-11-28T01:00:00")
    with pytest.raises(RestoreRefused, match="neither a time"):
        parse_target("yesterday")


def test_pgbackrest_errors_in_the_server_log_become_one_line_each() -> None:
    log = [
        '2026-11-30 22:54:42.961 UTC [23626] LOG:  restored log file "000000010000000000000002" from archive',
        "ERROR: [042]: unable to get 000000010000000000000003:",
        "       repo1: 15-1/0000000100000000/000000010000000000000003-9e62.gz [FormatError] unexpected eof",
        "       repo2: 15-1/0000000100000000/000000010000000000000003-9e62.gz [CryptoError] bad decrypt",
        "2026-11-30 22:54:43.325 UTC [23626] FATAL:  recovery ended before configured recovery target was reached",
    ]
    assert archive_errors(log) == [
        "unable to get 000000010000000000000003 (repo1: [FormatError] unexpected eof; repo2: [CryptoError] bad decrypt)"
    ]


def test_the_newest_backup_of_each_repository() -> None:
    info = [
        {
            "backup": [
                {"database": {"repo-key": 1}, "timestamp": {"start": 90, "stop": 100}},
                {"database": {"repo-key": 2}, "timestamp": {"start": 140, "stop": 150}},
                {"database": {"repo-key": 1}, "timestamp": {"start": 190, "stop": 200}},
            ]
        }
    ]
    assert last_backup(info) == {1: datetime.fromtimestamp(200, UTC), 2: datetime.fromtimestamp(150, UTC)}


def test_a_time_before_a_checkpoint_held_outside_is_refused_and_an_lsn_is_left_to_the_restored_ledger() -> None:
    signed = Checkpoint("khanh-phu", 42, b"\0" * 32, "2026-11-28T01:00:00+07:00", b"", b"")
    outside = {("khanh-phu", "events"): signed}
    with pytest.raises(RestoreRefused, match="covers 42 entries: restoring to it would roll history back"):
        refuse_before_outside(parse_target("2026-11-28T00:59:59+07:00"), outside)
    refuse_before_outside(parse_target("2026-11-28T01:00:00+07:00"), outside)
    refuse_before_outside(parse_target("0/3000060"), outside)


def test_a_url_naming_several_servers_reaches_sqlalchemy_as_a_list_of_hosts() -> None:
    url = "postgresql://hocba@db1:5432,db2:5433/hocba?target_session_attrs=read-write"
    assert sqlalchemy_url(url) == (
        "postgresql+psycopg://hocba@/hocba?host=db1%3A5432&host=db2%3A5433&target_session_attrs=read-write"
    )
    assert sqlalchemy_url("postgresql://u:p@db1:5432/hocba") == "postgresql+psycopg://u:p@db1:5432/hocba"
