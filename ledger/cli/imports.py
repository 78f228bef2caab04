"""Imports: the sector database's staff, students and assignments; gradebook sheets, and their reconciliation."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ledger.base.settings import Settings
from ledger.cli.common import (
    EXIT_NOT_INTACT,
    EXIT_OK,
    CliError,
    print_json,
    read_file,
    school_option,
    with_runtime,
    working,
)
from ledger.cli.session import acting, ledger_command, no_accounts_yet, sheet_target


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from audit.trail import AccessTrail
    from ledger.app.accounts import grant_alerts
    from ledger.school.imports import sector as importer

    path = Path(args.file)
    present = path.is_file()

    async def work(ledger: Any, school: str, actor: Any) -> Any:
        if not present:  # refused inside the command: the refusal is recorded
            raise CliError(f"không có tệp / no such file: {path}")
        if args.kind == "students":
            return await importer.import_students(ledger, school, actor, path, args.year)
        if args.kind == "staff":
            return await importer.import_staff(ledger, school, actor, path)
        report = await importer.import_assignments(ledger, school, actor, path)
        trail = AccessTrail(ledger.engine, clock=ledger.clock)
        await grant_alerts(trail, ledger.clock, school, report.events, actor.account or str(actor.user))
        return report

    # The staff and their first assignments of a school that has no account yet are its bootstrap
    # (the operator installs it); from its first account on, only its admin imports.
    bootstrap = no_accounts_yet if args.kind in ("staff", "assignments") else None
    return ledger_command(settings, args, f"import {args.kind}", work, action="school.admin", bootstrap=bootstrap)


def _gradebook(args: argparse.Namespace) -> Any:
    from ledger.school.imports.sheets import read_gradebook

    path = Path(args.file)
    return read_gradebook(read_file(args.file), path.name, sheet=args.sheet, preset=args.preset)


class _Plan:
    """An import's plan: in full with --json, else its counts (the cells that change are listed first)."""

    def __init__(self, plan: dict[str, Any], full: bool) -> None:
        self.plan, self.full = plan, full

    def to_json(self) -> dict[str, Any]:
        if self.full:
            return self.plan
        p = self.plan
        return {**p["counts"], "proposals": len(p["proposals"]), "appended": p["appended"], "dry_run": p["dry_run"]}


FIELD_NAMES = {"subject": "môn", "class": "lớp", "term": "học kì", "year": "năm học"}


def _shown(value: str | None) -> str | None:
    """A score as a Vietnamese teacher writes it ("6,5"; Babel's vi_VN), any other value as it is."""
    from decimal import Decimal, InvalidOperation

    from babel.numbers import format_decimal

    try:
        return format_decimal(Decimal(value or ""), format="0.0", locale="vi_VN")
    except InvalidOperation:
        return value


def _print_plan(plan: dict[str, Any]) -> None:
    """What the file says it is (and what it does not say), what was left aside, and every cell that
    changes."""
    for name, stated in plan["stated"].items():
        print(f"tệp ghi {FIELD_NAMES[name]}: {stated['text']} ({stated['where']})")
    for name in plan["unstated"]:
        print(f"tệp không ghi {FIELD_NAMES[name]}; dùng của lệnh: {plan[name]} / the file does not state the {name}")
    if plan["left_aside"]:
        print(f"bỏ qua các cột tính sẵn hoặc mô tả: {', '.join(plan['left_aside'])}")
    for cell in plan["cells"]:
        if cell["status"] != "unchanged":
            slot = f" {cell['slot']}" if cell["slot"] else ""
            print(
                f"dòng {cell['row']} cột {cell['column']}  {cell['student']}  {cell['kind']}{slot}: "
                f"{cell['status']} {_shown(cell['ledger']) or '-'} → {_shown(cell['file'])}"
            )
    if plan["deadline"]:
        print(f"{plan['deadline']['vi']} / {plan['deadline']['en']}")


def cmd_import_sheet(args: argparse.Namespace, settings: Settings) -> int:
    """One class × subject × term sheet from the school-management software: dry run, or commit."""
    from ledger.school.imports.gradebook import import_sheet

    book = _gradebook(args)

    async def work(ledger: Any, school: str, actor: Any) -> Any:
        year = args.year
        with working(f"đang đối chiếu {book.file} với sổ cái / comparing with the ledger", quiet=args.json):
            plan = await import_sheet(
                ledger,
                school,
                actor,
                book,
                year=year,
                class_id=args.class_id,
                subject=args.subject,
                term=args.term,
                dry_run=args.dry_run,
            )
        if not args.json:
            _print_plan(plan)
        return _Plan(plan, args.json)

    return ledger_command(
        settings, args, "import sheet", work, role="SUBJECT_TEACHER", action="sheet.write", target=sheet_target(args)
    )


def cmd_import_reconcile(args: argparse.Namespace, settings: Settings) -> int:
    """The IT teacher's reconciliation of the ledger against the source file (Điều 18.2)."""
    from ledger.app.db import AUDITOR_ROLE
    from ledger.school.imports.gradebook import reconcile

    book = _gradebook(args)

    async def body(runtime: Any) -> int:
        target, reading = sheet_target(args), runtime.engine(AUDITOR_ROLE).connect()
        async with (
            acting(runtime, settings, args, "import reconcile", "gradebook.reconcile", target=target) as s,
            reading as conn,
        ):
            report = await reconcile(
                conn, s.school, book, year=args.year, class_id=args.class_id, subject=args.subject, term=args.term
            )
        if args.json:
            print_json(report)
        else:
            print(
                f"{report['file']} ({report['class']} {report['subject']} HK{report['term']}): "
                f"{'khớp / matches' if report['ok'] else 'có sai lệch / differences'}"
            )
            print("  " + "  ".join(f"{k}={v}" for k, v in report["counts"].items()))
            for key in ("missing", "in_file_not_enrolled", "enrolled_not_in_file", "mismatches"):
                for item in report[key]:
                    print(f"  {key}: " + " ".join(f"{k}={v}" for k, v in item.items() if v is not None))
        return EXIT_OK if report["ok"] else EXIT_NOT_INTACT

    return with_runtime(settings, body)


def add_import(commands: Any) -> None:
    imports = commands.add_parser("import", help="bulk import: the sector database, gradebook sheets").add_subparsers(
        dest="imp", required=True
    )
    for kind, text in (
        ("staff", "staff"),
        ("students", "students (and enrolments with --year)"),
        ("assignments", "assignments"),
    ):
        command = imports.add_parser(kind, help=f"import {text} from CSV or JSON")
        school_option(command)
        command.add_argument("file", metavar="FILE")
        command.add_argument(
            "--year", help="school year of the class column" if kind == "students" else argparse.SUPPRESS
        )
        command.set_defaults(handler=cmd_import, kind=kind)
    for name, text, handler in (
        (
            "sheet",
            "import one class × subject × term sheet (XLSX, CSV, XML) from the school-management software",
            cmd_import_sheet,
        ),
        ("reconcile", "reconcile the ledger against a source sheet (Điều 18.2)", cmd_import_reconcile),
    ):
        command = imports.add_parser(name, help=text)
        school_option(command, "subject teacher" if name == "sheet" else None)
        command.add_argument("file", metavar="FILE")
        command.add_argument("--year", help="school year (default: the current one)")
        command.add_argument("--class", dest="class_id", required=True)
        command.add_argument("--subject", required=True, help="code or name: TOAN, Toán, 'Ngữ văn'")
        command.add_argument("--term", required=True, help="1 or 2 (also I, II, 'HK I', 'Học kì 1')")
        command.add_argument("--sheet", help="the workbook's sheet (default: the first)")
        command.add_argument(
            "--preset",
            help="the program's layout in gradebook-layouts.json: smas, vnedu, emis, hocba… (default: detected)",
        )
        if name == "sheet":
            command.add_argument("--dry-run", action="store_true", help="show what would change; append nothing")
        command.set_defaults(handler=handler)
