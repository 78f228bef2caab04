"""Accounts and access tokens."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ledger.base.settings import Settings
from ledger.cli.common import (
    EXIT_OK,
    CliError,
    checked_school,
    print_json,
    record_cli,
    school_option,
    with_runtime,
)


def cmd_account_create(args: argparse.Namespace, settings: Settings) -> int:
    import getpass

    from ledger.format.envelope import Actor
    from ledger.school.accounts.commands import create_account
    from ledger.school.readmodels import school_ledger
    from ledger.school.rules.policy import AccountKind

    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None

    async def body(runtime: Any) -> int:
        school = await checked_school(runtime, args, settings)
        made = await create_account(
            school_ledger(runtime.engine(), clock=runtime.clock),
            school,
            args.username,
            AccountKind(args.kind.upper()),
            staff_id=args.staff_id,
            student_id=args.student_id,
            password=password,
            actor=Actor(f"cli.{getpass.getuser()}", "ADMIN"),
        )
        doc = {"username": made.username, "kind": made.kind.value}
        if made.password:
            doc["password"] = made.password
        if made.api_key:
            doc["api_key"] = made.api_key
        print_json(doc)
        return EXIT_OK

    return with_runtime(settings, body)


def cmd_account_disable(args: argparse.Namespace, settings: Settings) -> int:
    """Disable an account: its password, API key and tokens stop working at once (recorded)."""
    import getpass

    from ledger.base.errors import DomainError
    from ledger.format.envelope import Actor
    from ledger.school.accounts.commands import disable_account
    from ledger.school.readmodels import school_ledger

    async def body(runtime: Any) -> int:
        school = await checked_school(runtime, args, settings)
        command = f"account disable {args.username}"
        try:
            ledger = school_ledger(runtime.engine(), clock=runtime.clock)
            actor = Actor(f"cli.{getpass.getuser()}", "ADMIN")
            await disable_account(ledger, school, args.username, actor, args.reason)
        except DomainError as error:
            await record_cli(runtime, school, f"cli.{getpass.getuser()}", ["ADMIN"], "account disable", error)
            raise
        await record_cli(runtime, school, f"cli.{getpass.getuser()}", ["ADMIN"], "account disable")
        print_json({"username": args.username, "disabled": True, "command": command})
        return EXIT_OK

    return with_runtime(settings, body)


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    """Mint an access token for a script on the server machine; the minting is itself recorded."""
    from ledger.app.tokens import Tokens, token_secret
    from ledger.school.accounts.queries import load_principal

    async def body(runtime: Any) -> int:
        from ledger.school.accounts.queries import account_row, active_usernames
        from ledger.school.rules.policy import AccountKind

        school = await checked_school(runtime, args, settings)
        async with runtime.engine().connect() as conn:
            account = await account_row(conn, school, args.username)
            if account is None or account["disabled"]:
                active = await active_usernames(conn, school)
                there = ", ".join(active[:30]) + (" …" if len(active) > 30 else "") or "chưa có / none"
                raise CliError(
                    f"không có tài khoản đang hoạt động '{args.username}' ở trường {school} (có: {there}) / "
                    f"no active account {args.username!r} in school {school}"
                )
            kind = AccountKind(account["kind"])
            principal = await load_principal(conn, school, args.username, kind, runtime.clock.now().date())
        token, expires = Tokens(token_secret(settings), runtime.clock).issue(args.username, school, kind)
        await record_cli(runtime, school, args.username, sorted(r.value for r in principal.roles), "token")
        if args.json:
            print_json({"access_token": token, "token_type": "Bearer", "expires_at": expires.isoformat()})
        else:
            print(token)
        return EXIT_OK

    return with_runtime(settings, body)


def add_account(commands: Any) -> None:
    account = commands.add_parser("account", help="accounts").add_subparsers(dest="account_cmd", required=True)
    create = account.add_parser("create", help="create an account; prints a generated password or API key once")
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


def add_token(commands: Any) -> None:
    token = commands.add_parser("token", help="mint a short-lived access token for a script on this machine")
    school_option(token)
    token.add_argument("--username", required=True)
    token.set_defaults(handler=cmd_token)
