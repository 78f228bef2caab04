"""Who runs a command: the account signed in with `hocba login`, never a name typed on the command line
(Điều 5.3c, 20.3). Its token (the API's own: --token, else HOCBA_TOKEN, else the one `hocba login` kept
for the school in $XDG_CONFIG_HOME/hocba/tokens.json, mode 0600) is checked as the API checks a bearer
token (signature, expiry, sign-out, the account still active), the account's roles valid today are
loaded, and the command's action is judged by the API's policy. Every command leaves exactly one entry
in the school's access trail, allowed or refused.

Only the bootstrap of a school runs without an account: registering a school not yet in the database;
while the school has no account at all, its staff and its first assignments; and, until its admin has
an account, the accounts of its principal and its admin."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.base.errors import AuthenticationFailed, HocbaError
from ledger.base.settings import Settings
from ledger.cli.common import (
    EXIT_OK,
    CliError,
    checked_school,
    new_entry,
    print_json,
    record_entry,
    with_runtime,
)
from ledger.format.envelope import Actor
from ledger.school.rules.policy import Principal, Target

TOKEN_VARIABLE = "HOCBA_TOKEN"  # noqa: S105 - the name of the variable, not a secret
Targeting = Callable[[Any, str], Awaitable[Target]]


def tokens_file() -> Path:
    """Where `hocba login` keeps one token per school: $XDG_CONFIG_HOME/hocba/tokens.json."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "hocba" / "tokens.json"


def saved_tokens() -> dict[str, str]:
    try:
        doc = json.loads(tokens_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in doc.items()} if isinstance(doc, dict) else {}


def keep_token(school: str, token: str | None) -> Path:
    """Keep (or, with None, forget) the school's token; the file is the user's alone (0600)."""
    path = tokens_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tokens = saved_tokens()
    if token is None:
        tokens.pop(school, None)
    else:
        tokens[school] = token
    spare = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(tokens, handle, indent=2, sort_keys=True)
    os.chmod(spare, 0o600)
    os.replace(spare, path)
    return path


def given_token(args: argparse.Namespace, school: str) -> str | None:
    """The token a command runs with: --token, else HOCBA_TOKEN, else the one kept for the school."""
    token = getattr(args, "token", None) or os.environ.get(TOKEN_VARIABLE) or saved_tokens().get(school)
    return token.strip() if token else None


def login_name() -> str:
    """The operating-system user running the command (for entries no account made)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def signed_out(reason: str) -> CliError:
    return CliError(
        f"chưa đăng nhập hoặc phiên đã hết hiệu lực ({reason}): hãy chạy `hocba login --school TRƯỜNG --username TÊN` "
        f"/ not signed in ({reason}): run `hocba login --school SCHOOL --username NAME`"
    )


@dataclass
class Session:
    """A command's run as an account (or, at bootstrap, as the operating-system user)."""

    runtime: Any
    school: str
    principal: Principal | None
    actor: Actor
    entry: Any


async def has_accounts(runtime: Any, school: str) -> bool:
    from sqlalchemy import func, select

    from ledger.school.accounts.tables import accounts

    async with runtime.engine().connect() as conn:
        return bool(await conn.scalar(select(func.count()).select_from(accounts).where(accounts.c.school_id == school)))


async def _school_known(runtime: Any, school: str) -> bool:
    from ledger.app.db import AUDITOR_ROLE
    from ledger.log.store import school_ids

    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        return school in await school_ids(conn)


async def _refuse(entry: Any, runtime: Any, status: int, reason: str, error: CliError) -> CliError:
    entry.reason = reason
    await record_entry(runtime, entry, status)
    return error


async def authenticate(runtime: Any, settings: Settings, token: str, school: str, entry: Any) -> Principal:
    """The account of a token, as the API's guard finds it: the token's signature and expiry, not
    signed out, the account active, with the roles it holds today. A refusal is recorded."""
    from ledger.app.tokens import Tokens, token_secret
    from ledger.school.accounts.queries import load_principal

    try:
        claims = Tokens(token_secret(settings), runtime.clock).read(token)
    except AuthenticationFailed as failure:
        raise await _refuse(entry, runtime, 401, failure.reason, signed_out(failure.reason)) from None
    entry.username = claims.username
    if claims.school != school:
        raise await _refuse(
            entry,
            runtime,
            403,
            "school.other",
            CliError(
                f"phiên đăng nhập là của trường {claims.school}, không phải {school} / the token is for school "
                f"{claims.school}, not {school}"
            ),
        )
    try:
        async with runtime.engine().connect() as conn:
            principal = await load_principal(
                conn, school, claims.username, claims.kind, runtime.clock.now().date(), token=claims.jti
            )
    except AuthenticationFailed as failure:
        raise await _refuse(entry, runtime, 401, failure.reason, signed_out(failure.reason)) from None
    entry.roles = sorted(r.value for r in principal.roles)
    return principal


def _role_held(principal: Principal, roles: Sequence[str]) -> str | None:
    held = {r.value for r in principal.roles}
    return next((role for role in roles if role in held), None)


async def _as_account(
    runtime: Any,
    settings: Settings,
    args: argparse.Namespace,
    school: str,
    entry: Any,
    action: str,
    roles: Sequence[str],
    target: Targeting | None,
) -> Session:
    from ledger.app.db import AUDITOR_ROLE
    from ledger.school.rules.policy import allowed

    token = given_token(args, school)
    if token is None:
        entry.username = f"os:{login_name()}"
        raise await _refuse(entry, runtime, 401, "credential.missing", signed_out("credential.missing"))
    principal = await authenticate(runtime, settings, token, school, entry)
    me = principal.staff_id or principal.username
    claimed = getattr(args, "actor", None)
    if claimed and claimed != me:
        raise await _refuse(
            entry,
            runtime,
            403,
            "actor.not_you",
            CliError(
                f"--actor {claimed} không phải là bạn: tài khoản {principal.username} chỉ hành động với tư cách {me} "
                f"(Điều 5.3c) / --actor {claimed} is not you: the account {principal.username} acts as {me} only"
            ),
        )
    role = _role_held(principal, roles) if roles else "NONE"
    if role is None:
        wanted = " hoặc / or ".join(roles)
        raise await _refuse(
            entry,
            runtime,
            403,
            "role.not_held",
            CliError(
                f"tài khoản {principal.username} không giữ vai trò {wanted} hôm nay / the account "
                f"{principal.username} does not hold {wanted} today"
            ),
        )
    about = Target()
    if target is not None:
        try:
            async with runtime.engine(AUDITOR_ROLE).connect() as conn:
                about = await target(conn, school)
        except HocbaError as unknown:  # an unknown year, class or subject: refused, and recorded
            entry.reason = getattr(unknown, "code", None)
            await record_entry(runtime, entry, int(getattr(unknown, "status", 400)))
            raise
    if about.student:
        entry.touch([about.student])
    if not allowed(action, principal, about):
        raise await _refuse(
            entry,
            runtime,
            403,
            f"policy.{action}",
            CliError(
                f"tài khoản {principal.username} không được phép {action} ở đây, lúc này / {action} is not allowed "
                f"for the account {principal.username}, its assignments and this time"
            ),
        )
    return Session(runtime, school, principal, Actor(me, role, account=principal.username), entry)


@contextlib.asynccontextmanager
async def acting(
    runtime: Any,
    settings: Settings,
    args: argparse.Namespace,
    command: str,
    action: str,
    roles: Sequence[str] = (),
    *,
    target: Targeting | None = None,
    bootstrap: Callable[[Any, str], Awaitable[bool]] | None = None,
    new: bool = False,
) -> AsyncIterator[Session]:
    """Run the body as the signed-in account allowed `action` (in the first of `roles` it holds now),
    and record the one access entry of the command: refused before the body runs, or the body's
    outcome. `bootstrap(runtime, school)` says when the command may run without an account."""
    school = await checked_school(runtime, args, settings, new=new)
    entry = new_entry(runtime, school, command)
    entry.resource = {"action": action}
    unsigned = given_token(args, school) is None or not await _school_known(runtime, school)
    if bootstrap is not None and unsigned and await bootstrap(runtime, school):
        entry.username, entry.resource["bootstrap"] = f"os:{login_name()}", "true"
        if getattr(args, "actor", None):  # no account vouches for a name: the operator is recorded as who they are
            raise await _refuse(
                entry,
                runtime,
                403,
                "actor.not_you",
                CliError(
                    "khi khởi tạo trường không dùng --actor: sổ cái ghi người vận hành máy chủ / --actor is not "
                    "taken while installing a school: the ledger records the server's operator"
                ),
            )
        session = Session(runtime, school, None, Actor(f"os:{login_name()}", "OPERATOR"), entry)
    else:
        session = await _as_account(runtime, settings, args, school, entry, action, roles, target)
    try:
        yield session
    except HocbaError as refused:
        entry.reason = getattr(refused, "code", None) or entry.reason
        await record_entry(runtime, entry, int(getattr(refused, "status", 400)))
        raise
    except Exception:
        with contextlib.suppress(Exception):
            await record_entry(runtime, entry, 500)
        raise
    await record_entry(runtime, entry, 200)


async def new_school(runtime: Any, school: str) -> bool:
    """Bootstrap: the school is not in the database yet."""
    return not await _school_known(runtime, school)


async def no_accounts_yet(runtime: Any, school: str) -> bool:
    """Bootstrap: the school has no account yet (its staff, first assignments, first account)."""
    return not await _school_known(runtime, school) or not await has_accounts(runtime, school)


def operator_entry(runtime: Any, school: str, command: str) -> Any:
    """The access entry of an operator's integrity command on the server (no account: the
    operating-system user, `os:<login>`)."""
    entry = new_entry(runtime, school, command)
    entry.username = f"os:{login_name()}"
    return entry


async def record_operator(
    runtime: Any, schools: Sequence[str], command: str, status: int = 200, *, strict: bool = True
) -> list[str]:
    """One access entry per school an operator's command read. A trail that refuses the entry (cut
    by hand, say) stops the command; `verify`, whose report is what must be seen then, is told the
    schools whose entry could not be written and says so."""
    unwritten = []
    for school in schools:
        try:
            await record_entry(runtime, operator_entry(runtime, school, command), status)
        except Exception:
            if strict:
                raise
            unwritten.append(school)
    return unwritten


def ledger_command(
    settings: Settings,
    args: argparse.Namespace,
    command: str,
    work: Callable[[Any, str, Any], Awaitable[Any]],
    role: str | Sequence[str] = "ADMIN",
    *,
    action: str,
    target: Any = None,
    bootstrap: Any = None,
    new: bool = False,
) -> int:
    """Run `work(ledger, school, actor)` as the signed-in account acting in `role` (the first of the
    roles it holds now), allowed `action` by the policy (ledger.cli.session), leave the one access
    entry of the command, and print the result: JSON, or `appended=N`."""
    from ledger.school.readmodels import school_ledger

    roles = (role,) if isinstance(role, str) else tuple(role)

    async def body(runtime: Any) -> int:
        async with acting(
            runtime, settings, args, command, action, roles, target=target, bootstrap=bootstrap, new=new
        ) as session:
            ledger = school_ledger(runtime.engine(), clock=runtime.clock)
            result = await work(ledger, session.school, session.actor)
        doc = result.to_json() if hasattr(result, "to_json") else {"appended": len(result)}
        if args.json:
            print_json(doc)
        else:
            print(" ".join(f"{k}={v}" for k, v in doc.items()))
        return EXIT_OK

    return with_runtime(settings, body)


def write_output(
    settings: Settings,
    args: argparse.Namespace,
    produce: Callable[[Any, str, Any], Awaitable[bytes]],
    what: str,
    *,
    command: str,
    action: str,
    target: Any = None,
) -> int:
    """As the signed-in account allowed `action`, read with the auditor role and write the bytes
    `produce(conn, school, runtime)` returns to --output."""
    from ledger.app.db import AUDITOR_ROLE

    content: list[bytes] = []

    async def body(runtime: Any) -> int:
        reading = runtime.engine(AUDITOR_ROLE).connect()
        async with acting(runtime, settings, args, command, action, target=target) as session, reading as conn:
            content.append(await produce(conn, session.school, runtime))
        return EXIT_OK

    status = with_runtime(settings, body)
    Path(args.output).write_bytes(content[0])
    print(f"wrote {args.output} ({len(content[0])} bytes, {what})")
    return status


def listing(
    settings: Settings,
    args: argparse.Namespace,
    table: Any,
    item: Callable[[dict[str, Any]], dict[str, Any]],
    columns: Sequence[str],
    *,
    command: str,
    action: str,
) -> int:
    """As the signed-in account allowed `action`, print a projection's rows of the school, read with
    the auditor role: JSON, or one line each."""
    from ledger.app.db import AUDITOR_ROLE
    from ledger.log.projection import read

    async def body(runtime: Any) -> int:
        reading = runtime.engine(AUDITOR_ROLE).connect()
        async with acting(runtime, settings, args, command, action) as session, reading as conn:
            items = [item(row) for row in await read(conn, table, session.school)]
        if args.json:
            print_json(items)
        else:
            for entry in items:
                print("  ".join(str(entry[column]) for column in columns))
        return EXIT_OK

    return with_runtime(settings, body)


def student_target(year: str, student: str) -> Targeting:
    """The target of a command about one student's year: the class the student is in that year
    (as the API's guard finds it)."""

    async def find(conn: Any, school: str) -> Target:
        from ledger.log.projection import read
        from ledger.school.years.tables import enrolments

        rows = await read(conn, enrolments, school, year=year, student_id=student)
        return Target(year=year, class_id=rows[0]["class_id"] if rows else None, student=student)

    return find


def sheet_target(args: argparse.Namespace) -> Targeting:
    """The target of a command about one class × subject × term, or one class × term (names resolved
    as people type them; the year, when not given, is the current one)."""

    async def find(conn: Any, school: str) -> Target:
        from ledger.cli.common import resolve_names
        from ledger.school.years.queries import current_year

        if getattr(args, "year", None) is None:
            from ledger.base.clock import SystemClock

            args.year = await current_year(conn, school, SystemClock().now().date())
        await resolve_names(conn, school, args)
        return Target(year=args.year, class_id=args.class_id, subject=getattr(args, "subject", None), term=args.term)

    return find
