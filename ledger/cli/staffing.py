"""Assignments on the command line: the list, the principal's approval or refusal of a grant the
admin recorded, and the end of an assignment when someone leaves (Điều 5.3c, 18.5, 18.7, 27, 33.2)."""

from __future__ import annotations

import argparse
import uuid
from datetime import date
from typing import Any

from ledger.base.settings import Settings
from ledger.cli.common import EXIT_OK, CliError, print_json, school_option, with_runtime
from ledger.cli.session import acting, ledger_command


def _assignment(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise CliError(
            f"'{text}' không phải mã phân công (xem `hocba assignment list`) / not an assignment id"
        ) from None


def _day(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%d/%m/%Y")


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    """Every assignment with the holder's name, waiting ones marked."""
    from ledger.app.db import AUDITOR_ROLE
    from ledger.school.years.queries import assignment_list

    async def body(runtime: Any) -> int:
        reading = runtime.engine(AUDITOR_ROLE).connect()
        async with acting(runtime, settings, args, "assignment list", "assignment.read") as session, reading as conn:
            items = await assignment_list(conn, session.school)
        if args.json:
            print_json(items)
        else:
            for a in items:
                shown = {**a, "subject": a["subject_name"] or a["subject"]}
                where = " ".join(str(shown[k]) for k in ("year", "class", "subject", "term") if shown[k] is not None)
                days = _day(a["valid_from"]) + (f"–{_day(a['valid_to'])}" if a["valid_to"] else "")
                waiting = "  CHỜ DUYỆT / PENDING" if a["pending"] else ""
                print(f"{a['assignment']}  {a['name'] or a['staff']}  {a['role']}  {where}  {days}{waiting}")
        return EXIT_OK

    return with_runtime(settings, body)


def cmd_decide(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.years.grants import decide_grant

    approve = args.assignment_cmd == "approve"

    async def work(ledger: Any, school: str, actor: Any) -> Any:  # a malformed id is refused, and recorded
        target = _assignment(args.assignment)
        return [await decide_grant(ledger, school, actor, target, approve=approve, note=args.note)]

    return ledger_command(
        settings,
        args,
        f"assignment {args.assignment_cmd}",
        work,
        role=("PRINCIPAL", "LEADERSHIP"),
        action="assignment.approve",
    )


def cmd_end(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.years.commands import end_assignment

    async def work(ledger: Any, school: str, actor: Any) -> Any:
        target = _assignment(args.assignment)
        return await end_assignment(ledger, school, actor, target, args.valid_to, args.decision)

    return ledger_command(settings, args, "assignment end", work, role=("PRINCIPAL", "ADMIN"), action="assignment.end")


def add_assignment(commands: Any) -> None:
    group = commands.add_parser("assignment", help="role assignments: list, approve, refuse, end").add_subparsers(
        dest="assignment_cmd", required=True
    )
    listed = group.add_parser("list", help="every assignment with the holder's name; grants waiting are marked")
    school_option(listed)
    listed.set_defaults(handler=cmd_list)
    for name, text in (
        ("approve", "approve a grant the admin recorded (the principal, Điều 5.3c); it takes effect"),
        ("refuse", "refuse a waiting grant, with the reason (the principal); it never takes effect"),
    ):
        command = group.add_parser(name, help=text)
        school_option(command)
        command.add_argument("assignment", help="the assignment's id (hocba assignment list)")
        command.add_argument("--note", required=name == "refuse", help="the decision's number, or the reason")
        command.set_defaults(handler=cmd_decide)
    end = group.add_parser("end", help="end an assignment on its last day, citing the decision (Điều 27)")
    school_option(end)
    end.add_argument("assignment", help="the assignment's id (hocba assignment list)")
    end.add_argument("--valid-to", required=True, help="the last day it holds, dd/mm/yyyy or YYYY-MM-DD")
    end.add_argument("--decision", help="the decision that ends it (number, date, who signed)")
    end.set_defaults(handler=cmd_end)
