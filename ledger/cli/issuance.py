"""Issuing học bạ, the issued list, their exact bytes and verification codes, revocation."""

from __future__ import annotations

import argparse
from typing import Any

from ledger.base.settings import Settings
from ledger.cli.common import (
    EXIT_OK,
    CliError,
    one,
    school_argument,
    school_option,
    with_runtime,
)
from ledger.cli.session import acting, ledger_command, listing, write_output


def cmd_issue(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.app.runtime import Runtime
    from ledger.school.issuance.commands import issue_hocba

    keys = Runtime(settings, "")

    async def work(ledger: Any, school: str, actor: Any) -> Any:
        roots, crls, signer = keys.trusted_roots(), keys.crls(), keys.signer(school)
        policy, verification = keys.checkpoint_policy(), keys.verification()
        return [
            await issue_hocba(
                ledger,
                school,
                actor,
                args.year,
                args.student,
                roots,
                crls,
                signer,
                policy,
                verification=verification,
                time_stamper=keys.time_stamper(),
            )
        ]

    return ledger_command(settings, args, "issue", work, role="CLERK", action="issuance.write")


def cmd_issued_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.issuance.commands import revoke_hocba

    return ledger_command(
        settings,
        args,
        "issued revoke",
        lambda ledger, school, actor: one(revoke_hocba(ledger, school, actor, args.id, args.reason)),
        role="PRINCIPAL",
        action="issuance.revoke",
    )


def cmd_issued_list(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.issuance.tables import issued

    def item(r: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": r["issuance_id"],
            "student": r["student_id"],
            "year": r["year"],
            "class": r["class_id"],
            "status": r["status"],
            "issued_on": r["issued_on"],
            "xml_sha256": r["xml_sha256"],
            "pdf_sha256": r["pdf_sha256"],
            "replaces": r["replaces"],
            "replaced_by": r["replaced_by"],
            "origin_school": r["origin_school"],
        }

    return listing(
        settings, args, issued, item, ["id", "student", "year", "status"], command="issued list", action="issuance.read"
    )


def cmd_issued_code(args: argparse.Namespace, settings: Settings) -> int:
    """The verification code of an issued học bạ, for the clerk to give the family with the files."""
    from ledger.app.db import AUDITOR_ROLE
    from ledger.app.runtime import verification_for
    from ledger.log.projection import read
    from ledger.school.issuance.tables import issued

    async def body(runtime: Any) -> int:
        async with acting(runtime, settings, args, "issued code", "issuance.read") as session:
            school = session.school
            async with runtime.engine(AUDITOR_ROLE).connect() as conn:
                rows = await read(conn, issued, school, issuance_id=args.id)
                if not rows:
                    raise CliError(f"no issued học bạ {args.id!r} in school {school}")
                session.entry.touch([rows[0]["student_id"]])
        print(verification_for(settings).code(school, rows[0]["hocba_id"]))
        return EXIT_OK

    return with_runtime(settings, body)


def cmd_issued_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write the exact stored bytes of an issued học bạ."""
    from ledger.log.projection import read
    from ledger.school.issuance.queries import stored_document
    from ledger.school.issuance.tables import issued

    async def produce(conn: Any, school: str, runtime: Any) -> bytes:
        rows = await read(conn, issued, school, issuance_id=args.id)
        if not rows:
            raise CliError(f"no issued học bạ {args.id!r} in school {school}")
        return await stored_document(conn, school, rows[0][f"{args.format}_sha256"])

    return write_output(
        settings,
        args,
        produce,
        f"the issued {args.format.upper()}",
        command="issued export",
        action="issued.document",
    )


def add_issue(commands: Any) -> None:
    issue_cmd = commands.add_parser("issue", help="issue one student's signed học bạ for a year (the clerk)")
    school_option(issue_cmd, "clerk")
    issue_cmd.add_argument("--year", required=True)
    issue_cmd.add_argument("--student", required=True)
    issue_cmd.set_defaults(handler=cmd_issue)


def add_issued(commands: Any) -> None:
    issued_cmd = commands.add_parser("issued", help="issued học bạ").add_subparsers(dest="issued", required=True)
    listing = issued_cmd.add_parser("list", help="id, personal identifier, year and status of each issued học bạ")
    school_argument(listing)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_issued_list)
    export = issued_cmd.add_parser("export", help="write the exact stored bytes of an issued học bạ")
    school_argument(export)
    export.add_argument("id", metavar="ID")
    export.add_argument("--format", required=True, choices=["xml", "pdf"])
    export.add_argument("-o", "--output", required=True)
    export.set_defaults(handler=cmd_issued_export)
    code = issued_cmd.add_parser("code", help="the verification code to give the family with the files")
    school_argument(code)
    code.add_argument("id", metavar="ID")
    code.set_defaults(handler=cmd_issued_code)
    revoke_issued = issued_cmd.add_parser("revoke", help="revoke an issued học bạ before the close (Điều 25.3)")
    school_option(revoke_issued, "principal")
    revoke_issued.add_argument("id", metavar="ID")
    revoke_issued.add_argument("--reason", required=True)
    revoke_issued.set_defaults(handler=cmd_issued_revoke)
