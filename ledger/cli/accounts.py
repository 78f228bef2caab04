"""Accounts, signing in and out on the server, and access tokens for scripts: `hocba login` checks the
password as the API's sign-in does (under the same limit on refused sign-ins), keeps the token in the
user's own config, and every later command runs as that account (ledger.cli.session)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ledger.base.settings import Settings
from ledger.cli.common import (
    EXIT_OK,
    CliError,
    checked_school,
    new_entry,
    print_json,
    record_entry,
    school_argument,
    school_option,
    with_runtime,
)
from ledger.cli.session import (
    acting,
    given_token,
    keep_token,
    login_name,
)


def cmd_account_create(args: argparse.Namespace, settings: Settings) -> int:
    """Create an account as the signed-in admin (or, for auditor and integration accounts, the
    principal: Điều 5.3c); the first accounts of a new school, its principal's and its admin's, are made
    by the operator."""
    from audit.trail import AccessTrail
    from ledger.app.accounts import create_account_as
    from ledger.school.accounts.commands import create_account
    from ledger.school.readmodels import school_ledger
    from ledger.school.rules.policy import AccountKind

    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
    kind = AccountKind(args.kind.upper())

    async def body(runtime: Any) -> int:
        async with acting(
            runtime, settings, args, "account create", "account.create", bootstrap=never_had_an_account
        ) as s:
            if s.principal is None:
                await _leader_first(runtime, s.school, kind, args.staff_id or args.username)
                made = await create_account(
                    school_ledger(runtime.engine(), clock=runtime.clock),
                    s.school,
                    args.username,
                    kind,
                    actor=s.actor,
                    staff_id=args.staff_id,
                    password=password,
                    bootstrap=True,
                )
            else:
                made = await create_account_as(
                    school_ledger(runtime.engine(), clock=runtime.clock),
                    AccessTrail(runtime.engine(), clock=runtime.clock),
                    runtime.clock,
                    s.principal,
                    args.username,
                    kind,
                    staff_id=args.staff_id,
                    student_id=args.student_id,
                    password=password,
                )
        doc = {"username": made.username, "kind": made.kind.value}
        if made.password:
            doc["password"] = made.password
        if made.api_key:
            doc["api_key"] = made.api_key
        print_json(doc)
        return EXIT_OK

    return with_runtime(settings, body)


LEADERS_FIRST = ("PRINCIPAL",)


async def _holders(runtime: Any, school: str, roles: tuple[str, ...]) -> set[str]:
    """The staff ids holding one of `roles` today."""
    from ledger.log.projection import read
    from ledger.school.years.tables import assignments

    today = runtime.clock.now().date()
    async with runtime.engine().connect() as conn:
        rows = [r for role in roles for r in await read(conn, assignments, school, role=role)]
    return {
        r["staff_id"] for r in rows if r["valid_from"] <= today and (r["valid_to"] is None or r["valid_to"] >= today)
    }


async def never_had_an_account(runtime: Any, school: str) -> bool:
    """Bootstrap of accounts: only a school whose ledger never opened an account (its events are
    append-only and chained: no one can make a school look new again) gets its first account from
    the operator; every later one is opened by a signed-in principal or admin."""
    from ledger.log.store import count_types
    from ledger.school.accounts.tables import ACCOUNT_OPENED

    async with runtime.engine().connect() as conn:
        return not await count_types(conn, school, [ACCOUNT_OPENED])


async def _leader_first(runtime: Any, school: str, kind: Any, staff_id: str) -> None:
    """The first account of a school is its principal's: the staff account of whoever holds that
    assignment now (imported first); the principal then opens the admin's, and the admin the rest."""
    from ledger.base.errors import Forbidden
    from ledger.school.rules.policy import AccountKind

    if kind is not AccountKind.STAFF or staff_id not in await _holders(runtime, school, LEADERS_FIRST):
        raise Forbidden(
            "account.first_is_a_leader",
            "Tài khoản đầu tiên của trường là của Hiệu trưởng (đã được phân công); các tài khoản khác do Hiệu "
            "trưởng hoặc quản trị viên tạo sau khi đăng nhập.",
            "The first account of a school is the principal's (assigned first); every other account is opened "
            "by the principal or the admin, signed in.",
            field="username",
            rule="Điều 5.3c",
        )


def cmd_account_disable(args: argparse.Namespace, settings: Settings) -> int:
    """Disable an account as the signed-in admin: its password, API key and tokens stop working at once."""
    from ledger.school.accounts.commands import disable_account
    from ledger.school.readmodels import school_ledger

    async def body(runtime: Any) -> int:
        roles = ("PRINCIPAL", "ADMIN")
        async with acting(runtime, settings, args, "account disable", "account.disable", roles) as session:
            session.entry.resource["username"] = args.username
            ledger = school_ledger(runtime.engine(), clock=runtime.clock)
            await disable_account(ledger, session.school, args.username, session.actor, args.reason)
        print_json({"username": args.username, "disabled": True, "command": f"account disable {args.username}"})
        return EXIT_OK

    return with_runtime(settings, body)


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    """A fresh access token for the signed-in account (for a script on this machine: HOCBA_TOKEN or
    `Authorization: Bearer`); never for another account."""
    from ledger.app.tokens import Tokens, token_secret

    async def body(runtime: Any) -> int:
        async with acting(runtime, settings, args, "token", "account.me") as session:
            assert session.principal is not None
            me = session.principal
            token, expires = Tokens(token_secret(settings), runtime.clock).issue(me.username, me.school, me.kind)
        if args.json:
            print_json({"access_token": token, "token_type": "Bearer", "expires_at": expires.isoformat()})
        else:
            print(token)
        return EXIT_OK

    return with_runtime(settings, body)


async def _school_or_recorded(
    runtime: Any, args: argparse.Namespace, settings: Settings, command: str, username: str
) -> str:
    """The school signed in to or out of; an unknown one is refused, and the attempt recorded in the
    service's trail (as the API does with a sign-in to a school that does not exist)."""
    try:
        return await checked_school(runtime, args, settings)
    except CliError:
        entry = new_entry(runtime, None, command)
        entry.username, entry.reason = username, "school.unknown"
        entry.resource = {"school": str(getattr(args, "school", None) or settings.school or "")}
        await record_entry(runtime, entry, 401)
        raise


def cmd_login(args: argparse.Namespace, settings: Settings) -> int:
    """Sign in with the account's password, under the sign-in limit every door shares; keep the token."""
    import getpass

    from ledger.app.logins import LOGIN_WINDOW, login_succeeded, refused_before, reserve_login
    from ledger.app.tokens import Tokens, token_secret
    from ledger.base.errors import AuthenticationFailed
    from ledger.school.accounts.queries import check_password, load_principal

    async def body(runtime: Any) -> int:
        school = await _school_or_recorded(runtime, args, settings, "login", args.username)
        entry = new_entry(runtime, school, "login")
        entry.username = args.username
        now = runtime.clock.now()
        reservation = await reserve_login(runtime.engine(), school, args.username, entry.client, now)
        if reservation.over is not None:
            failures = refused_before(reservation)
            entry.reason = "login.rate_limited"
            await record_entry(runtime, entry, 429)
            minutes = LOGIN_WINDOW.seconds // 60
            raise CliError(
                f"đăng nhập sai {failures} lần trong {minutes} phút; hãy thử lại sau / {failures} refused sign-ins "
                f"in {minutes} minutes; retry later"
            )
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass(f"Mật khẩu của {args.username} / password: ")
        try:
            kind = await check_password(runtime.engine(), school, args.username, password)
            async with runtime.engine().connect() as conn:
                principal = await load_principal(conn, school, args.username, kind, runtime.clock.now().date())
        except AuthenticationFailed as failure:
            entry.reason = failure.reason
            await record_entry(runtime, entry, 401)
            raise CliError("tên đăng nhập hoặc mật khẩu không đúng / the username or password is not right") from None
        await login_succeeded(runtime.engine(), reservation)
        token, expires = Tokens(token_secret(settings), runtime.clock).issue(args.username, school, kind)
        entry.roles = sorted(r.value for r in principal.roles)
        await record_entry(runtime, entry, 200)
        where = keep_token(school, token)
        roles = ", ".join(entry.roles) or "-"
        print(f"đã đăng nhập {args.username} ({roles}) ở {school} đến {expires:%H:%M} / signed in; token in {where}")
        return EXIT_OK

    return with_runtime(settings, body)


def cmd_logout(args: argparse.Namespace, settings: Settings) -> int:
    """Sign out: the token is revoked on the server (as the API's sign-out does) and forgotten here."""
    from ledger.app.tokens import Tokens, token_secret
    from ledger.base.errors import AuthenticationFailed
    from ledger.school.accounts.commands import revoke_token

    async def body(runtime: Any) -> int:
        school = await _school_or_recorded(runtime, args, settings, "logout", f"os:{login_name()}")
        entry = new_entry(runtime, school, "logout")
        entry.username = f"os:{login_name()}"
        token = given_token(args, school)
        if token is None:
            entry.reason = "credential.missing"
            await record_entry(runtime, entry, 401)
            raise CliError(f"chưa đăng nhập ở trường {school} / not signed in to school {school}")
        keep_token(school, None)
        try:
            claims = Tokens(token_secret(settings), runtime.clock).read(token)
        except AuthenticationFailed as failure:  # expired or broken: nothing left to revoke
            entry.reason = failure.reason
            await record_entry(runtime, entry, 401)
            print(
                f"phiên đăng nhập đã hết hiệu lực ({failure.reason}); đã xóa / the token was no longer valid; removed"
            )
            return EXIT_OK
        entry.username = claims.username
        if claims.school == school:
            now = runtime.clock.now()
            await revoke_token(runtime.engine(), school, claims.username, claims.jti, claims.expires, now)
        await record_entry(runtime, entry, 200)
        print(f"đã đăng xuất {claims.username} ở {school} / signed out")
        return EXIT_OK

    return with_runtime(settings, body)


def cmd_account_certificate(args: argparse.Namespace, settings: Settings) -> int:
    """Register the TLS client certificate an integration account authenticates with (mutual TLS), on
    the principal's approval, as every certificate and as opening the account (Điều 5.3c, 9.4)."""
    from pathlib import Path

    from ledger.cli.session import ledger_command
    from ledger.school.signatures.certificates import register_client_certificate
    from signing.x509.certs import load_certificates
    from signing.x509.pki import Pki

    path = Path(args.cert)
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    try:
        cert = load_certificates(path)[0]
    except (ValueError, IndexError):
        raise CliError(f"{path}: no certificate can be read (PEM or DER)") from None
    roots = Pki(settings.pki_dir).roots()
    return ledger_command(
        settings,
        args,
        "account certificate",
        lambda ledger, school, actor: register_client_certificate(ledger, school, actor, args.username, cert, roots),
        role="PRINCIPAL",
        action="certificate.manage",
    )


def add_account(commands: Any) -> None:
    account = commands.add_parser("account", help="accounts").add_subparsers(dest="account_cmd", required=True)
    create = account.add_parser(
        "create",
        help="create an account (the admin; auditor and integration accounts the principal); prints a generated "
        "password or API key once. A new school's first accounts are its principal's and its admin's",
    )
    school_option(create)
    create.add_argument("--username", required=True)
    create.add_argument("--kind", required=True, choices=["staff", "auditor", "integration", "guardian", "student"])
    create.add_argument("--staff-id", help="for staff: the staff id (default: the username)")
    create.add_argument("--student-id", help="for guardians and students: the personal identifier")
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    create.set_defaults(handler=cmd_account_create)
    disable = account.add_parser(
        "disable", help="disable an account (the person left): its password, API key and tokens stop working at once"
    )
    school_option(disable)
    disable.add_argument("--username", required=True)
    disable.add_argument("--reason", help="why: the person left, or the account was compromised (recorded)")
    disable.set_defaults(handler=cmd_account_disable)
    certificate = account.add_parser(
        "certificate",
        help="register an integration account's TLS client certificate (the principal); revoke it with 'hocba pki "
        "revoke'",
    )
    school_option(certificate, "principal")
    certificate.add_argument("--username", required=True, help="the integration account")
    certificate.add_argument("--cert", required=True, help="the client certificate, PEM or DER")
    certificate.set_defaults(handler=cmd_account_certificate)


def add_login(commands: Any) -> None:
    login = commands.add_parser(
        "login", help="sign in to a school as your account; later commands run as it (token kept for you only)"
    )
    login.add_argument("--school", help="school id (default: HOCBA_SCHOOL)")
    login.add_argument("--username", required=True)
    login.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    login.set_defaults(handler=cmd_login)
    logout = commands.add_parser("logout", help="sign out: the kept token stops working at once")
    school_argument(logout)
    logout.set_defaults(handler=cmd_logout)


def add_token(commands: Any) -> None:
    token = commands.add_parser(
        "token", help="print a fresh short-lived access token of the signed-in account, for a script on this machine"
    )
    school_option(token)
    token.set_defaults(handler=cmd_token)
