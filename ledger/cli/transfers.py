"""Transfer records between schools (Điều 26)."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from ledger.base.settings import Settings
from ledger.cli.common import (
    CliError,
    one,
    read_file,
    school_argument,
    school_option,
)
from ledger.cli.session import ledger_command, listing, write_output

EITHER = ("CLERK", "PRINCIPAL")  # who opens and receives a transfer record (Điều 26)


def cmd_transfer_open(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.transfers.commands import open_transfer

    def work(ledger: Any, school: str, actor: Any) -> Any:
        departure = args.date or date.today().isoformat()
        return one(
            open_transfer(
                ledger, school, actor, args.student, departure=departure, to_school=args.to_school, year=args.year
            )
        )

    return ledger_command(settings, args, "transfer open", work, role=EITHER, action="transfer.write")


def cmd_transfer_paper(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.transfers.commands import open_paper
    from signing.transfer import Scan

    scans = []
    for item in args.scan:
        year, _, name = item.partition("=")
        path = Path(name)
        if not name or not path.is_file():
            raise CliError(f"--scan takes YEAR=FILE with an existing file, not {item!r}")
        kinds = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
        if path.suffix.lower() not in kinds:
            raise CliError(f"{path}: a scanned page is a .pdf, .png or .jpg file")
        scans.append(Scan(year, kinds[path.suffix.lower()], path.read_bytes()))

    def work(ledger: Any, school: str, actor: Any) -> Any:
        arrival = args.date or date.today().isoformat()
        return one(
            open_paper(ledger, school, actor, args.student, arrival=arrival, from_school=args.from_school, scans=scans)
        )

    return ledger_command(settings, args, "transfer paper", work, role=EITHER, action="transfer.write")


def cmd_transfer_prepare(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.transfers.commands import prepare_transfer

    async def produce(conn: Any, school: str, runtime: Any) -> bytes:
        return await prepare_transfer(conn, school, args.id, args.role)

    return write_output(
        settings,
        args,
        produce,
        f"sign it with 'hocba sign {args.output} --p12 … -o SIGNED.xml'",
        command="transfer prepare",
        action="transfer.sign",
    )


def cmd_transfer_submit(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.app.runtime import Runtime
    from ledger.school.transfers.commands import submit_transfer

    data = read_file(args.file)
    keys = Runtime(settings, "")

    def work(ledger: Any, school: str, actor: Any) -> Any:
        return one(submit_transfer(ledger, school, actor, args.id, data, keys.trusted_roots(), keys.crls()))

    return ledger_command(settings, args, "transfer submit", work, role=args.role, action="transfer.sign")


def cmd_transfer_export(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.transfers.queries import sealed_record

    async def produce(conn: Any, school: str, runtime: Any) -> bytes:
        return await sealed_record(conn, school, args.id)

    return write_output(
        settings, args, produce, "the sealed transfer record", command="transfer export", action="transfer.read"
    )


def cmd_transfer_import(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.app.runtime import Runtime
    from ledger.school.transfers.receiving import receive
    from signing.x509.certs import load_certificates

    data = read_file(args.file)
    keys = Runtime(settings, "")
    roots = load_certificates(Path(args.trust)) if args.trust else keys.trusted_roots()

    def work(ledger: Any, school: str, actor: Any) -> Any:
        return receive(
            ledger,
            school,
            actor,
            data,
            year=args.year,
            class_id=args.class_id,
            since=args.since,
            trusted_roots=roots,
            crls=keys.crls(),
        )

    return ledger_command(settings, args, "transfer import", work, role=EITHER, action="transfer.write")


def cmd_transfer_list(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.transfers.tables import transfers

    def item(r: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": r["transfer_id"],
            "student": r["student_id"],
            "direction": r["direction"],
            "kind": r["kind"],
            "date": r["departure"],
            "year": r["year"],
            "other_school": r["other_school"],
            "status": r["status"],
            "record_sha256": r["record_sha256"],
        }

    columns = ["id", "student", "direction", "kind", "status"]
    return listing(settings, args, transfers, item, columns, command="transfer list", action="transfer.read")


def add_transfer(commands: Any) -> None:
    transfer = commands.add_parser("transfer", help="transfer records between schools (Điều 26)").add_subparsers(
        dest="transfer", required=True
    )
    opening = transfer.add_parser("open", help="open the record of a student leaving for another school")
    school_option(opening, "clerk or principal")
    opening.add_argument("--student", required=True, help="personal identifier")
    opening.add_argument("--year", help="mid-year: the current school year, whose results so far move too")
    opening.add_argument("--date", help="departure date (default: today)")
    opening.add_argument("--to-school", help="the receiving school")
    opening.set_defaults(handler=cmd_transfer_open)
    paper = transfer.add_parser("paper", help="open the record of a student arriving with a paper học bạ")
    school_option(paper, "clerk or principal")
    paper.add_argument("--student", required=True, help="personal identifier (registered here first)")
    paper.add_argument("--from-school", required=True, help="the school the student comes from")
    paper.add_argument(
        "--scan",
        action="append",
        required=True,
        metavar="YEAR=FILE",
        help="scanned pages of a school year (PDF, PNG or JPEG); repeat for more",
    )
    paper.add_argument("--date", help="arrival date (default: today)")
    paper.set_defaults(handler=cmd_transfer_paper)
    prepare_record = transfer.add_parser("prepare", help="write the record with room for the next signature")
    school_argument(prepare_record)
    prepare_record.add_argument("id", metavar="ID")
    prepare_record.add_argument("--role", required=True, choices=["PRINCIPAL", "ORGANISATION"])
    prepare_record.add_argument("-o", "--output", required=True)
    prepare_record.set_defaults(handler=cmd_transfer_prepare)
    submit_record = transfer.add_parser("submit", help="check a signed record and record its new signature")
    school_option(submit_record, "signer")
    submit_record.add_argument("id", metavar="ID")
    submit_record.add_argument("--role", required=True, choices=["PRINCIPAL", "CLERK"])
    submit_record.add_argument("file", metavar="SIGNED.xml")
    submit_record.set_defaults(handler=cmd_transfer_submit)
    export_record = transfer.add_parser("export", help="write the sealed record, byte for byte")
    school_argument(export_record)
    export_record.add_argument("id", metavar="ID")
    export_record.add_argument("-o", "--output", required=True)
    export_record.set_defaults(handler=cmd_transfer_export)
    importing = transfer.add_parser("import", help="verify a sealed record and inherit what it carries")
    school_option(importing, "clerk or principal")
    importing.add_argument("file", metavar="RECORD.xml")
    importing.add_argument("--year", required=True, help="the school year the student joins")
    importing.add_argument("--class", dest="class_id", required=True, help="the class the student joins")
    importing.add_argument("--since", help="first day in the class (default: the record's date)")
    importing.add_argument("--trust", help="trusted root certificates, PEM (default: this installation's)")
    importing.set_defaults(handler=cmd_transfer_import)
    listing_transfers = transfer.add_parser("list", help="transfer records of the school")
    school_argument(listing_transfers)
    listing_transfers.add_argument("--json", action="store_true")
    listing_transfers.set_defaults(handler=cmd_transfer_list)
