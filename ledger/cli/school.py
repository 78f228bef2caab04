"""The school and its year: registration, school years, the catalogue, the calendar and entry locks."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ledger.base.settings import Settings
from ledger.cli.common import (
    CliError,
    read_file,
    resolve_names,
    school_option,
)
from ledger.cli.session import ledger_command, new_school


def cmd_school_register(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.schools.commands import registration

    async def work(ledger: Any, school: str, actor: Any) -> Any:
        details = {
            "ministry_code": args.ministry_code,
            "province": args.province,
            "district": args.district,
            "address": args.address,
        }
        return await ledger.append(school, [registration(args.name, actor, **details)])

    # A school not yet in the database is registered by the operator (bootstrap); its details later
    # only by its admin.
    return ledger_command(
        settings, args, "school register", work, action="school.admin", bootstrap=new_school, new=True
    )


def cmd_year_open(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.years.commands import open_year

    return ledger_command(
        settings,
        args,
        "year open",
        lambda ledger, school, actor: open_year(ledger, school, actor, args.year, args.starts, args.ends),
        action="school.admin",
    )


def cmd_catalogue_load(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.years.commands import define_subjects
    from ledger.school.years.model import default_catalogue, parse_subject

    if args.file:
        doc = json.loads(Path(args.file).read_text(encoding="utf-8"))
        definitions = [parse_subject(item, f"{Path(args.file).name}[{i}]") for i, item in enumerate(doc)]
    else:
        definitions = default_catalogue()
    return ledger_command(
        settings,
        args,
        "catalogue load",
        lambda ledger, school, actor: define_subjects(ledger, school, actor, args.year, definitions),
        action="school.admin",
    )


def cmd_calendar_set(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.calendar.commands import set_calendar
    from ledger.school.calendar.model import calendar_from

    changes: dict[str, Any] = {}
    if args.file:
        try:
            changes = json.loads(Path(args.file).read_text(encoding="utf-8"))
        except ValueError as exc:
            raise CliError(f"{args.file} is not valid JSON: {exc}") from None
    return ledger_command(
        settings,
        args,
        "calendar set",
        lambda ledger, school, actor: set_calendar(
            ledger, school, actor, calendar_from(args.year, args.order, changes)
        ),
        role="PRINCIPAL",
        action="calendar.set",
    )


def cmd_calendar_reopen(args: argparse.Namespace, settings: Settings) -> int:
    import hashlib

    from ledger.school.calendar.commands import reopen_year
    from ledger.school.calendar.model import Decision, end_of
    from ledger.school.rules import identity

    decision = Decision.parse(
        args.decision,
        args.issued_by,
        args.issued_on,
        hashlib.sha256(read_file(args.decision_file)).hexdigest(),
    )
    until = end_of(identity.parse_date(args.until, "until"))
    return ledger_command(
        settings,
        args,
        "calendar reopen",
        lambda ledger, school, actor: reopen_year(ledger, school, actor, args.year, until=until, decision=decision),
        role="PRINCIPAL",
        action="calendar.reopen",
    )


def cmd_lock(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.calendar.commands import set_lock
    from ledger.school.calendar.model import LockScope
    from ledger.school.calendar.tables import ANY

    async def work(ledger: Any, school: str, actor: Any) -> Any:
        async with ledger.engine.connect() as conn:
            await resolve_names(conn, school, args)
        scope = LockScope(args.year, args.class_id or ANY, args.subject or ANY, args.term or 0)
        closed = args.state == "close"
        return await set_lock(ledger, school, actor, scope, closed=closed, order=args.order, ordered_by=args.ordered_by)

    return ledger_command(settings, args, f"lock {args.state}", work, action="lock.set")


def add_school(commands: Any) -> None:
    school = commands.add_parser("school", help="the school").add_subparsers(dest="school_cmd", required=True)
    register = school.add_parser("register", help="register the school (or change its details)")
    school_option(register)
    register.add_argument("--name", required=True)
    register.add_argument("--ministry-code")
    register.add_argument("--province")
    register.add_argument("--district", help="huyện, quận, thị xã or thành phố, as the học bạ's place line names it")
    register.add_argument("--address")
    register.set_defaults(handler=cmd_school_register)


def add_year(commands: Any) -> None:
    year = commands.add_parser("year", help="school years").add_subparsers(dest="year_cmd", required=True)
    open_year = year.add_parser("open", help="open a school year")
    school_option(open_year)
    open_year.add_argument("--year", required=True, help="e.g. 2025-2026")
    open_year.add_argument("--starts", required=True, help="first day, e.g. 2025-09-05")
    open_year.add_argument("--ends", required=True, help="last day, e.g. 2026-05-31")
    open_year.set_defaults(handler=cmd_year_open)


def add_catalogue(commands: Any) -> None:
    catalogue = commands.add_parser("catalogue", help="the subject catalogue").add_subparsers(dest="cat", required=True)
    load = catalogue.add_parser("load", help="define the year's subjects (default: the GDPT 2018 catalogue)")
    school_option(load)
    load.add_argument("--year", required=True)
    load.add_argument("--file", help="a JSON catalogue (docs/IMPORT.md)")
    load.set_defaults(handler=cmd_catalogue_load)


def add_calendar(commands: Any) -> None:
    calendar = commands.add_parser("calendar", help="the school calendar").add_subparsers(dest="cal", required=True)
    set_cal = calendar.add_parser(
        "set", help="set a year's calendar: the usual one (close 31 May, final 30 August) or changes from a file"
    )
    school_option(set_cal, "principal")
    set_cal.add_argument("--year", required=True)
    set_cal.add_argument("--order", required=True, help="the principal's decision, e.g. 'Quyết định số 15/QĐ-THCS'")
    set_cal.add_argument("--file", help="JSON of the parts that differ: terms, entry, close, final (docs/DEADLINES.md)")
    set_cal.set_defaults(handler=cmd_calendar_set)
    reopen = calendar.add_parser(
        "reopen",
        help="after the close, let approved corrections through until a date, on the Department of Education's "
        "decision (Điều 25.4); dates that have passed never move",
    )
    school_option(reopen, "principal")
    reopen.add_argument("--year", required=True)
    reopen.add_argument("--until", required=True, help="the last day, dd/mm/yyyy (at most 31 days from today)")
    reopen.add_argument("--decision", required=True, help="the decision's number, e.g. 'Quyết định số 812/QĐ-SGDĐT'")
    reopen.add_argument("--issued-by", required=True, help="who issued it, e.g. 'Sở Giáo dục và Đào tạo Phú Yên'")
    reopen.add_argument("--issued-on", required=True, help="the decision's date, dd/mm/yyyy")
    reopen.add_argument(
        "--decision-file", required=True, help="the decision as filed (PDF or scan); its SHA-256 is kept"
    )
    reopen.set_defaults(handler=cmd_calendar_reopen)


def add_lock(commands: Any) -> None:
    lock = commands.add_parser("lock", help="close or open entry on the principal's order").add_subparsers(
        dest="state", required=True
    )
    for state in ("close", "open"):
        command = lock.add_parser(state, help=f"{state} entry for the school, a class, a subject or a term")
        school_option(command, "admin")
        command.add_argument("--year", required=True)
        command.add_argument("--class", dest="class_id", help="only this class")
        command.add_argument("--subject", help="only this subject (code or name)")
        command.add_argument("--term", help="only this term (1, 2, I, II, 'HK I')")
        command.add_argument("--order", required=True, help="the principal's written order")
        command.add_argument("--ordered-by", required=True, help="the principal's staff id")
        command.set_defaults(handler=cmd_lock)
