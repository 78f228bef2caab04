"""A command line that never misleads: an unknown school, year, class, subject, student or account is
an error (exit 2) naming what exists, never an empty success; with one school in the database
`--school` defaults to it; a command group called bare prints its help; a database failure is one
readable line; progress is drawn on a terminal only, never under --json."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.app import migrate
from ledger.app.db import ensure_database
from ledger.app.demo import DemoSchool, build_demo_school
from tests.support import helpers


@pytest.fixture
def one_school(server_url: str, env: dict[str, str]) -> Iterator[dict[str, str]]:
    """An environment whose database holds exactly one school, registered with the CLI."""
    name = f"hocba_cli_{uuid.uuid4().hex[:8]}"
    url = ensure_database(server_url, name)
    migrate.upgrade(url)
    one = {**env, "DATABASE_URL": url}
    one.pop("HOCBA_SCHOOL", None)
    made = helpers.hocba("school", "register", "--school", "the-only", "--name", "THCS Một", env=one)
    assert made.returncode == 0, made.stderr
    yield one
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def demo_school(app_engine: AsyncEngine, school: str) -> DemoSchool:
    return await build_demo_school(app_engine, school, students_per_class=2, terms=())


@pytest.mark.parametrize("group", [[], ["import"], ["signing"], ["jobs"], ["issued"], ["witness"]])
def test_a_command_group_called_bare_prints_its_own_help(group: list[str], env: dict[str, str]) -> None:
    done = helpers.hocba(*group, env=env)
    assert done.returncode == 2
    assert done.stdout.startswith(f"usage: {' '.join(['hocba', *group])}") and "required" not in done.stderr


def test_with_one_school_in_the_database_school_defaults_to_it_and_a_typo_is_an_error(
    one_school: dict[str, str],
) -> None:
    verified = helpers.hocba("verify", "--offline", env=one_school)
    assert verified.returncode == 0, verified.stderr
    assert "the-only (events): intact" in verified.stdout
    replayed = helpers.hocba("replay", "--json", env=one_school)
    assert replayed.returncode == 0 and json.loads(replayed.stdout)["ok"] is True
    for command in (["verify", "--offline"], ["replay"], ["checkpoint"], ["issued", "list"]):
        typo = helpers.hocba(*command, "--school", "the-onyl", env=one_school)
        assert typo.returncode == 2, (command, typo.stdout, typo.stderr)
        assert "no school 'the-onyl'" in typo.stderr and "the-only" in typo.stderr  # names what exists
        assert "intact" not in typo.stdout and typo.stderr.count("\n") == 1


async def test_an_unknown_year_class_subject_student_or_account_names_what_exists(
    demo_school: DemoSchool, env: dict[str, str], app_engine: AsyncEngine, tmp_path: Path
) -> None:
    school = demo_school.school
    sheet = tmp_path / "toan.csv"
    sheet.write_text("Mã định danh,Họ và tên,TX1,GK,CK\n", encoding="utf-8")
    from ledger.app.demo import IT_REVIEWER, PRINCIPAL

    reviewer = await helpers.signed_in(app_engine, env, school, IT_REVIEWER.user)
    base = ["import", "reconcile", str(sheet), "--school", school]
    cases = {
        "year": (["--year", "2031-2032", "--class", "6A1", "--subject", "Toán", "--term", "1"], "2025-2026"),
        "class": (["--year", "2025-2026", "--class", "6Z9", "--subject", "Toán", "--term", "1"], "6A1"),
        "subject": (["--year", "2025-2026", "--class", "6A1", "--subject", "Toán học", "--term", "1"], "Toán (TOAN)"),
    }
    for what, (arguments, named) in cases.items():
        done = helpers.hocba(*base, *arguments, env=reviewer)
        assert done.returncode == 2, (what, done.stdout, done.stderr)
        assert named in done.stderr, (what, done.stderr)
    principal = await helpers.signed_in(app_engine, env, school, PRINCIPAL.user)
    student = helpers.hocba(
        "transcript", "--school", school, "--year", "2025-2026", "--student", "037299999999", env=principal
    )
    assert student.returncode == 2 and "no student 037299999999" in student.stderr
    nobody = helpers.hocba(
        "login", "--school", school, "--username", "nobody", "--password-stdin", env=env, stdin="x\n"
    )
    assert nobody.returncode == 2 and "the username or password is not right" in nobody.stderr


def test_a_database_failure_is_one_readable_line(env: dict[str, str], server_url: str) -> None:
    url = make_url(server_url)
    cases = {
        "cannot connect to PostgreSQL": url.set(port=helpers.free_port()),
        "refused the login": url.set(username=f"nobody_{uuid.uuid4().hex[:6]}"),
        "does not exist": url.set(database=f"missing_{uuid.uuid4().hex[:6]}"),
    }
    for expected, target in cases.items():
        done = helpers.hocba("verify", env={**env, "DATABASE_URL": target.render_as_string(hide_password=False)})
        assert done.returncode == 2, done.stderr
        assert expected in done.stderr and done.stderr.startswith("hocba: ") and done.stderr.count("\n") == 1, (
            done.stderr
        )
        assert "sqlalchemy" not in done.stderr.lower() and "Traceback" not in done.stderr


def test_progress_is_drawn_on_a_terminal_only_and_never_under_json(one_school: dict[str, str]) -> None:
    quiet = helpers.hocba("verify", "--offline", "--json", env=one_school)
    assert quiet.returncode == 0 and quiet.stderr == "" and json.loads(quiet.stdout)["ok"] is True
    piped = helpers.hocba("verify", "--offline", env=one_school)
    assert piped.returncode == 0 and "\x1b[" not in piped.stderr  # not a terminal: no bar
    master, slave = pty.openpty()
    script = Path(sys.executable).with_name("hocba")
    shown = subprocess.run(
        [str(script), "verify", "--offline"],
        env={**one_school, "TERM": "xterm", "COLUMNS": "100"},
        stdout=subprocess.PIPE,
        stderr=slave,
        timeout=120,
    )
    os.close(slave)
    drawn = b""
    try:
        while chunk := os.read(master, 65536):
            drawn += chunk
    except OSError:
        pass
    os.close(master)
    assert shown.returncode == 0
    assert b"the-only" in drawn and "━".encode() in drawn  # rich's bar, on the terminal


async def test_subjects_classes_and_terms_by_name_on_the_command_line(
    demo_school: DemoSchool, env: dict[str, str], app_engine: AsyncEngine, tmp_path: Path
) -> None:
    """`--subject "Ngữ văn" --class "lớp 6a1" --term "HK I"` is NGU_VAN, 6A1, term 1; the import's dry
    run says what the file states and what it does not."""
    from ledger.app.demo import ADMIN, PRINCIPAL
    from ledger.log.projection import read
    from ledger.school.calendar.tables import locks

    school = demo_school.school
    admin = await helpers.signed_in(app_engine, env, school, ADMIN.user)
    lock = helpers.hocba(
        "lock",
        "close",
        "--school",
        school,
        "--year",
        "2025-2026",
        "--actor",
        ADMIN.user,
        "--class",
        "lớp 6a1",
        "--subject",
        "Ngữ văn",
        "--term",
        "HK I",
        "--order",
        "Quyết định số 9/QĐ-THCS",
        "--ordered-by",
        PRINCIPAL.user,
        env=admin,
    )
    assert lock.returncode == 0, lock.stderr
    async with app_engine.connect() as conn:
        [row] = await read(conn, locks, school)
    assert (row["class_id"], row["subject"], row["term"]) == ("6A1", "NGU_VAN", 1)

    roster = demo_school.rosters["6A1"]
    lines = ["BẢNG ĐIỂM MÔN TOÁN - LỚP 6A1", "", "Mã định danh,Họ và tên,TX1,TX2,TX3,TX4,GK,CK"]
    lines += [f"{s},{demo_school.names[s]},8,7,9,8,7,9" for s in roster]
    sheet = tmp_path / "toan.csv"
    sheet.write_text("\n".join(lines) + "\n", encoding="utf-8")
    dry = helpers.hocba(
        "import",
        "sheet",
        str(sheet),
        "--school",
        school,
        "--year",
        "2025-2026",
        "--class",
        "6a1",
        "--subject",
        "toán",
        "--term",
        "Học kì 1",
        "--dry-run",
        env=await helpers.signed_in(app_engine, env, school, demo_school.subject_teachers["TOAN"]),
    )
    assert dry.returncode == 0, dry.stderr
    assert "tệp ghi môn: BẢNG ĐIỂM MÔN TOÁN - LỚP 6A1 (dòng 1)" in dry.stdout
    assert "tệp không ghi học kì" in dry.stdout and "tệp không ghi năm học" in dry.stdout
    assert f"new={len(roster) * 6}" in dry.stdout and "appended=0" in dry.stdout


async def test_a_database_without_the_tables_is_told_to_run_the_migration(server_url: str) -> None:
    """Every command migrates before it runs; a process that cannot (another role, a read replica)
    meets PostgreSQL's own "relation does not exist", said as the step to take."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.ext.asyncio import create_async_engine

    from ledger.cli.common import database_trouble

    name = f"hocba_bare_{uuid.uuid4().hex[:8]}"
    url = make_url(ensure_database(server_url, name)).set(drivername="postgresql+psycopg")
    engine = create_async_engine(url)
    try:
        with pytest.raises(SQLAlchemyError) as missing:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT seq FROM hocba.events LIMIT 1"))
        assert "run `hocba db upgrade`" in database_trouble(missing.value)
    finally:
        await engine.dispose()
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
