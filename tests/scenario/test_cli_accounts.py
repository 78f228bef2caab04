"""The command line acts as a signed-in account, never as a name typed on it (Điều 5.3c, 20.3): `hocba
login` checks the password under the sign-in limit every door shares, every command runs as the account
of its token with the API's policy, `--actor` cannot name someone else, the admin never reads grades,
a signed-out token is refused, and every attempt, allowed or refused, is in the school's access trail.
Only a school's bootstrap runs without an account."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from audit.trail import query_access
from ledger.app.demo import ADMIN, PRINCIPAL, DemoSchool, build_demo_school
from ledger.format.envelope import SERVICE_CHAIN
from ledger.log import store
from ledger.log.projection import read
from ledger.school.calendar.tables import locks
from tests.support import helpers
from tests.support.helpers import PASSWORD


@pytest.fixture
async def demo_school(app_engine: AsyncEngine, school: str) -> DemoSchool:
    return await build_demo_school(app_engine, school, students_per_class=2, terms=())


@pytest.fixture
def own(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The environment of one person on the server: a config directory of their own."""
    return {**env, "XDG_CONFIG_HOME": str(tmp_path / "config")}


async def trail(engine: AsyncEngine, school: str, **where: Any) -> list[dict[str, Any]]:
    """The school's access entries made by the command line, oldest first."""
    async with engine.connect() as conn:
        rows = await query_access(conn, school, limit=1000, **where)
    return [r for r in reversed(rows) if r["method"] == "CLI"]


def login(env: dict[str, str], school: str, username: str, password: str) -> Any:
    return helpers.hocba(
        "login", "--school", school, "--username", username, "--password-stdin", env=env, stdin=password
    )


LOCK = ["lock", "close", "--year", "2025-2026", "--class", "6A1", "--order", "Quyết định số 9/QĐ-THCS"]


async def test_a_wrong_password_is_refused_counted_and_recorded_and_the_right_one_acts_as_the_account_dieu_20(
    demo_school: DemoSchool, own: dict[str, str], app_engine: AsyncEngine
) -> None:
    school = demo_school.school
    await helpers.signed_in(app_engine, own, school, ADMIN.user)  # the account exists, with PASSWORD
    wrong = login(own, school, ADMIN.user, "khong-phai-mat-khau\n")
    assert wrong.returncode == 2 and "the username or password is not right" in wrong.stderr
    assert wrong.stderr.count("\n") == 1
    [refused] = await trail(app_engine, school, username=ADMIN.user)
    assert (refused["action"], refused["outcome"], refused["reason"]) == ("cli.login", "denied", "login.password")

    for _ in range(4):  # the same limit as the API's sign-in: five refused in fifteen minutes
        login(own, school, ADMIN.user, "sai-nua\n")
    blocked = login(own, school, ADMIN.user, PASSWORD + "\n")
    assert blocked.returncode == 2 and "refused sign-ins" in blocked.stderr
    assert (await trail(app_engine, school, username=ADMIN.user))[-1]["reason"] == "login.rate_limited"

    nowhere = login(own, f"{school}-khong-co", "ai.do", PASSWORD + "\n")  # a school that does not exist
    assert nowhere.returncode == 2 and "no school" in nowhere.stderr
    [stray] = await trail(app_engine, SERVICE_CHAIN, username="ai.do")
    assert (stray["action"], stray["outcome"], stray["reason"]) == ("cli.login", "denied", "school.unknown")


async def test_signed_in_a_write_is_recorded_as_the_account_and_the_token_is_the_users_alone(
    demo_school: DemoSchool, own: dict[str, str], app_engine: AsyncEngine
) -> None:
    school = demo_school.school
    await helpers.signed_in(app_engine, own, school, ADMIN.user)
    done = login(own, school, ADMIN.user, PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    kept = Path(own["XDG_CONFIG_HOME"]) / "hocba" / "tokens.json"
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o600
    assert school in json.loads(kept.read_text())

    before = await helpers.head(demo_school.ledger, school)
    closed = helpers.hocba(*LOCK, "--school", school, "--ordered-by", PRINCIPAL.user, "--json", env=own)
    assert closed.returncode == 0, closed.stderr
    async with app_engine.connect() as conn:
        [lock] = await read(conn, locks, school)
        [event] = await store.select_events(conn, school, after=before)
    assert lock["class_id"] == "6A1"
    assert (event.actor.user, event.actor.role) == (ADMIN.user, "ADMIN")  # the account's staff id, its role
    entries = await trail(app_engine, school, username=ADMIN.user)
    assert [(e["action"], e["outcome"]) for e in entries] == [("cli.login", "allowed"), ("cli.lock.close", "allowed")]
    assert entries[-1]["roles"] == ["ADMIN"]


async def test_a_teacher_cannot_act_as_the_principal_with_actor_dieu_5(
    demo_school: DemoSchool, env: dict[str, str], app_engine: AsyncEngine
) -> None:
    """Điều 5.3c: `--actor` names the signed-in account's own staff id or nothing; a teacher's token
    with the principal's name is refused, recorded, and the ledger is unchanged."""
    school = demo_school.school
    teacher = demo_school.subject_teachers["TOAN"]
    as_teacher = await helpers.signed_in(app_engine, env, school, teacher)
    before = await helpers.head(demo_school.ledger, school)
    forged = helpers.hocba(
        "calendar",
        "set",
        "--school",
        school,
        "--year",
        "2025-2026",
        "--actor",
        PRINCIPAL.user,
        "--order",
        "QĐ 1",
        env=as_teacher,
    )
    assert forged.returncode == 2 and "is not you" in forged.stderr and "không phải là bạn" in forged.stderr
    assert await helpers.head(demo_school.ledger, school) == before
    [entry] = await trail(app_engine, school, username=teacher)
    assert (entry["action"], entry["outcome"], entry["reason"]) == ("cli.calendar.set", "denied", "actor.not_you")
    plain = helpers.hocba(
        "calendar", "set", "--school", school, "--year", "2025-2026", "--order", "QĐ 1", env=as_teacher
    )
    assert plain.returncode == 2 and "PRINCIPAL" in plain.stderr  # acting in its own name: not its role
    assert await helpers.head(demo_school.ledger, school) == before


async def test_a_read_leaves_one_access_entry_and_the_admin_never_reads_grades_dieu_5(
    demo_school: DemoSchool, env: dict[str, str], app_engine: AsyncEngine
) -> None:
    """Điều 20.3: a transcript read on the command line is in the trail, naming the student; Điều 5.3c:
    the admin's token is refused it."""
    school = demo_school.school
    student = demo_school.rosters["6A1"][0]
    where = ["transcript", "--school", school, "--year", "2025-2026", "--student", student]
    principal = await helpers.signed_in(app_engine, env, school, PRINCIPAL.user)
    done = helpers.hocba(*where, env=principal)
    assert done.returncode == 0, done.stderr
    [entry] = await trail(app_engine, school, username=PRINCIPAL.user)
    assert (entry["action"], entry["outcome"], entry["students"]) == ("cli.transcript", "allowed", [student])
    assert entry["roles"] == ["PRINCIPAL"]

    admin = await helpers.signed_in(app_engine, env, school, ADMIN.user)
    refused = helpers.hocba(*where, env=admin)
    assert refused.returncode == 2 and "student.read is not allowed" in refused.stderr
    assert "{" not in refused.stdout  # nothing of the record
    [denied] = await trail(app_engine, school, username=ADMIN.user)
    assert (denied["outcome"], denied["reason"]) == ("denied", "policy.student.read")


async def test_after_logout_the_token_is_refused_and_without_one_the_command_says_to_log_in(
    demo_school: DemoSchool, own: dict[str, str], app_engine: AsyncEngine
) -> None:
    school = demo_school.school
    await helpers.signed_in(app_engine, own, school, PRINCIPAL.user)
    assert login(own, school, PRINCIPAL.user, PASSWORD + "\n").returncode == 0
    token = json.loads((Path(own["XDG_CONFIG_HOME"]) / "hocba" / "tokens.json").read_text())[school]
    listed = helpers.hocba("issued", "list", "--school", school, env=own)
    assert listed.returncode == 0, listed.stderr
    out = helpers.hocba("logout", "--school", school, env=own)
    assert out.returncode == 0, out.stderr
    again = helpers.hocba("issued", "list", "--school", school, "--token", token, env=own)
    assert again.returncode == 2 and "token.revoked" in again.stderr and "hocba login" in again.stderr
    none = helpers.hocba("issued", "list", "--school", school, env=own)
    assert none.returncode == 2 and "hocba login" in none.stderr and none.stderr.count("\n") == 1
    entries = await trail(app_engine, school, username=PRINCIPAL.user)
    assert [(e["action"], e["outcome"], e["reason"]) for e in entries] == [
        ("cli.login", "allowed", None),
        ("cli.issued.list", "allowed", None),
        ("cli.logout", "allowed", None),
        ("cli.issued.list", "denied", "token.revoked"),
    ]


async def test_hocba_token_mints_only_for_the_signed_in_account(
    demo_school: DemoSchool, env: dict[str, str], app_engine: AsyncEngine
) -> None:
    school = demo_school.school
    nobody = helpers.hocba("token", "--school", school, env=env)
    assert nobody.returncode == 2 and "hocba login" in nobody.stderr
    principal = await helpers.signed_in(app_engine, env, school, PRINCIPAL.user)
    fresh = helpers.hocba("token", "--school", school, "--json", env=principal)
    assert fresh.returncode == 0, fresh.stderr
    token = json.loads(fresh.stdout)["access_token"]
    assert token != principal["HOCBA_TOKEN"]
    me = helpers.hocba("issued", "list", "--school", school, env={**env, "HOCBA_TOKEN": token})
    assert me.returncode == 0, me.stderr
    assert (await trail(app_engine, school, username=PRINCIPAL.user))[-1]["action"] == "cli.issued.list"


async def test_a_school_is_bootstrapped_without_an_account_and_then_never_again(
    env: dict[str, str], school: str, tmp_path: Path, app_engine: AsyncEngine
) -> None:
    """Registering a new school, its staff, first assignments and its principal's account need no
    account; once it has one, the same commands without a token are refused, recorded, and closing
    accounts never makes the school new again (Điều 5.3c)."""
    staff = tmp_path / "staff.csv"
    people = "ht.le,Lê Văn Hiệu\nqt.pham,Phạm Quản Trị\ngv.ngo,Ngô Thị Giáo\n"
    staff.write_text("Mã cán bộ,Họ và tên\n" + people, encoding="utf-8")
    roles = tmp_path / "roles.csv"
    decision = "1520/QĐ-SGDĐT,Sở GD&ĐT Ninh Bình,2025-07-28," + "ab" * 32  # the principal's appointment
    roles.write_text(
        "staff,role,valid_from,decision_number,decision_issuer,decision_date,decision_sha256\n"
        f"ht.le,PRINCIPAL,2025-08-01,{decision}\nqt.pham,ADMIN,2025-08-01,,,,\n",
        encoding="utf-8",
    )
    where = ["--school", school]

    def create(username: str, run_in: dict[str, str]) -> Any:
        return helpers.hocba(
            "account",
            "create",
            *where,
            "--username",
            username,
            "--kind",
            "staff",
            "--password-stdin",
            env=run_in,
            stdin=f"mat-khau-{username}\n",
        )

    assert helpers.hocba("school", "register", *where, "--name", "THCS Mới", env=env).returncode == 0
    assert helpers.hocba("import", "staff", str(staff), *where, env=env).returncode == 0
    assert helpers.hocba("import", "assignments", str(roles), *where, env=env).returncode == 0
    forged = helpers.hocba("school", "register", "--school", f"{school}-b", "--name", "X", "--actor", "ht.le", env=env)
    assert forged.returncode == 2 and "--actor" in forged.stderr  # no account vouches for a name at bootstrap
    teacher_first = create("gv.ngo", env)
    assert teacher_first.returncode == 2 and "first account of a school is the principal's" in teacher_first.stderr
    assert create("ht.le", env).returncode == 0
    late = helpers.hocba("import", "staff", str(staff), *where, env=env)  # the school has an account now
    assert late.returncode == 2 and "hocba login" in late.stderr

    for refused in (
        create("qt.pham", env),  # the admin's account: the principal opens it, signed in
        helpers.hocba("import", "assignments", str(roles), *where, env=env),
        helpers.hocba("school", "register", *where, "--name", "THCS Khác", env=env),
    ):
        assert refused.returncode == 2 and "hocba login" in refused.stderr, refused.stderr

    principal = {**env, "XDG_CONFIG_HOME": str(tmp_path / "principal")}
    assert login(principal, school, "ht.le", "mat-khau-ht.le\n").returncode == 0
    assert create("qt.pham", principal).returncode == 0
    own = {**env, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    assert login(own, school, "qt.pham", "mat-khau-qt.pham\n").returncode == 0
    made = create("gv.ngo", own)
    assert made.returncode == 0, made.stderr
    # The admin leaves: its account is closed; the school does not become new again for the operator.
    closed = helpers.hocba("account", "disable", *where, "--username", "qt.pham", env=principal)
    assert closed.returncode == 0, closed.stderr
    again = create("qt.moi", env)
    assert again.returncode == 2 and "hocba login" in again.stderr
    entries = await trail(app_engine, school)
    boot = [e["action"] for e in entries if str(e["username"]).startswith("os:") and e["outcome"] == "allowed"]
    assert boot == ["cli.school.register", "cli.import.staff", "cli.import.assignments", "cli.account.create"]
    assert {(e["action"], e["reason"]) for e in entries if e["outcome"] == "denied"} >= {
        ("cli.import.staff", "credential.missing"),
        ("cli.import.assignments", "credential.missing"),
        ("cli.school.register", "credential.missing"),
        ("cli.account.create", "credential.missing"),
    }
    made_by = [e["username"] for e in entries if e["action"] == "cli.account.create" and e["outcome"] == "allowed"]
    assert made_by[1:] == ["ht.le", "qt.pham"]


async def test_the_operators_integrity_commands_leave_an_entry_as_the_os_user_dieu_20(
    demo_school: DemoSchool, env: dict[str, str], app_engine: AsyncEngine
) -> None:
    """Điều 20.3: `verify` and `replay` need the database owner, not an account; each still leaves an
    access entry in the trail of the school it read, naming the operating-system user."""
    import getpass

    school = demo_school.school
    assert helpers.hocba("verify", "--offline", "--school", school, env=env).returncode in (0, 1)  # unsigned tail
    assert helpers.hocba("replay", "--school", school, "--json", env=env).returncode == 0
    entries = await trail(app_engine, school)
    assert [(e["action"], e["username"], e["outcome"]) for e in entries] == [
        ("cli.verify", f"os:{getpass.getuser()}", "allowed"),
        ("cli.replay", f"os:{getpass.getuser()}", "allowed"),
    ]
