"""Preparing what a signer signs, and submitting what comes back."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ledger.base.settings import Settings
from ledger.cli.common import (
    EXIT_OK,
    one,
    read_file,
    resolve_names,
    school_argument,
    school_option,
)
from ledger.cli.helper import add_helper
from ledger.cli.session import ledger_command, sheet_target, student_target, write_output


def _substitution(args: argparse.Namespace) -> Any:
    """--on-behalf-of and --decision: signing in a departed teacher's place (Điều 18.5, 18.7)."""
    from ledger.school.signatures.substitutes import Substitution

    return Substitution.of(args.on_behalf_of, args.decision)


def cmd_signing_prepare(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.signatures.commands import prepare_signature

    async def produce(conn: Any, school: str, runtime: Any) -> bytes:
        await resolve_names(conn, school, args)
        prepared = await prepare_signature(
            conn,
            school,
            args.year,
            args.student,
            args.role,
            args.subject,
            runtime.clock.now(),
            substitution=_substitution(args),
            signer=args.signer,
        )
        return bytes(prepared["document"])

    return write_output(
        settings,
        args,
        produce,
        f"sign it with 'hocba sign {args.output} --p12 … -o SIGNED.xml'",
        command="signing prepare",
        action="signature.write",
        target=student_target(args.year, args.student),
    )


def cmd_signing_submit(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.signatures.commands import submit_signature

    data = read_file(args.file)

    async def work(ledger: Any, school: str, actor: Any) -> Any:
        from ledger.app.runtime import Runtime

        keys = Runtime(settings, "")
        async with keys.revocation() as online:
            return [
                await submit_signature(
                    ledger,
                    school,
                    actor,
                    args.year,
                    args.student,
                    data,
                    keys.trusted_roots(),
                    keys.crls(),
                    keys.stamp(),
                    _substitution(args),
                    online=online,
                )
            ]

    return ledger_command(
        settings,
        args,
        "signing submit",
        work,
        role=args.role,
        action="signature.write",
        target=student_target(args.year, args.student),
    )


def _class_target(args: argparse.Namespace) -> Any:
    """A class's học bạ signed by one role (and subject): the target the policy judges."""
    from ledger.school.rules.policy import Target

    async def find(conn: Any, school: str) -> Any:
        await resolve_names(conn, school, args)
        return Target(year=args.year, class_id=args.class_id, subject=args.subject)

    return find


def cmd_signing_prepare_batch(args: argparse.Namespace, settings: Settings) -> int:
    """What a role signs now in every học bạ of a class that awaits it, one file per pupil
    (<student>.xml in --output-dir), for `hocba sign` to sign together with one PIN entry; each pupil
    whose học bạ does not await it is named on stderr with the reason."""
    from pathlib import Path

    from ledger.app.db import AUDITOR_ROLE
    from ledger.cli.common import with_runtime
    from ledger.cli.session import acting
    from ledger.log.projection import read
    from ledger.school.signatures.commands import prepare_signatures, signing_refusals
    from ledger.school.years.tables import enrolments

    directory = Path(args.output_dir)
    documents: list[tuple[str, bytes]] = []

    async def body(runtime: Any) -> int:
        reading = runtime.engine(AUDITOR_ROLE).connect()
        target = _class_target(args)
        async with (
            acting(runtime, settings, args, "signing prepare-class", "signature.write", target=target) as session,
            reading as conn,
        ):
            rows = await read(conn, enrolments, session.school, year=args.year, class_id=args.class_id)
            students = sorted({row["student_id"] for row in rows if row["until"] is None})
            now = runtime.clock.now()
            refusals = await signing_refusals(conn, session.school, args.year, students, args.role, args.subject, now)
            ready = [student for student in students if refusals[student] is None]
            prepared = await prepare_signatures(conn, session.school, args.year, ready, args.role, args.subject, now)
        documents.extend((item["student"], bytes(item["document"])) for item in prepared)
        for student, refusal in refusals.items():
            if refusal is not None:
                print(f"{student}: {refusal.vi} / {refusal.en}", file=sys.stderr)
        return EXIT_OK

    status = with_runtime(settings, body)
    directory.mkdir(parents=True, exist_ok=True)
    for student, data in documents:
        (directory / f"{student}.xml").write_bytes(data)
    print(
        f"wrote {len(documents)} documents in {directory}; sign them together with "
        f"'hocba sign {directory}/*.xml --pkcs11-module …|--csc-url … --output-dir SIGNED'"
    )
    return status


def cmd_signing_submit_batch(args: argparse.Namespace, settings: Settings) -> int:
    """The signed học bạ of a class (each file named <student>.xml, as prepare-class wrote them),
    checked and recorded together: all or none."""
    from pathlib import Path

    from ledger.school.signatures.commands import submit_signatures

    signed = [(Path(name).stem, read_file(name)) for name in args.files]

    async def work(ledger: Any, school: str, actor: Any) -> Any:
        from ledger.app.runtime import Runtime

        keys = Runtime(settings, "")
        async with keys.revocation() as online:
            return await submit_signatures(
                ledger, school, actor, args.year, signed, keys.trusted_roots(), keys.crls(), keys.stamp(), online=online
            )

    return ledger_command(
        settings,
        args,
        "signing submit-class",
        work,
        role=args.role,
        action="signature.write",
        target=_class_target(args),
    )


def _class_document(args: argparse.Namespace) -> tuple[str, str, tuple[str, ...]]:
    """A class sheet (with --subject, Điều 18.3) or the class's term record (Điều 18.4): the command's
    name, the action it needs, the roles that sign it."""
    if getattr(args, "subject", None) is None:
        if getattr(args, "on_behalf_of", None):  # for a homeroom teacher who left, the principal too (Điều 18.7)
            return "term", "signature.write", ("HOMEROOM_TEACHER", "PRINCIPAL")
        return "term", "homeroom.write", ("HOMEROOM_TEACHER",)
    return "sheet", "sheet.write", ("SUBJECT_TEACHER",)


def cmd_signing_prepare_class(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.class_sheets.commands import prepare_sheet, prepare_term

    kind, action, _ = _class_document(args)

    async def produce(conn: Any, school: str, runtime: Any) -> bytes:
        await resolve_names(conn, school, args)
        now = runtime.clock.now()
        if kind == "term":
            in_place = {"substitution": _substitution(args), "signer": args.signer}
            return await prepare_term(conn, school, args.year, args.class_id, args.term, now, **in_place)
        return await prepare_sheet(conn, school, args.year, args.class_id, args.subject, args.term, now)

    return write_output(
        settings,
        args,
        produce,
        f"sign it with 'hocba sign {args.output} --p12 … -o SIGNED.xml'",
        command=f"signing prepare-{kind}",
        action=action,
        target=sheet_target(args),
    )


def cmd_signing_submit_class(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.app.runtime import Runtime
    from ledger.school.class_sheets.commands import submit_sheet, submit_term

    kind, action, role = _class_document(args)
    data = read_file(args.file)
    keys = Runtime(settings, "")

    async def work(ledger: Any, school: str, actor: Any) -> Any:
        async with ledger.engine.connect() as conn:
            await resolve_names(conn, school, args)
        where = (ledger, school, actor, args.year, args.class_id)
        checks = (data, keys.trusted_roots(), keys.crls())
        if kind == "term":
            return await one(submit_term(*where, args.term, *checks, _substitution(args)))
        return await one(submit_sheet(*where, args.subject, args.term, *checks))

    return ledger_command(
        settings, args, f"signing submit-{kind}", work, role=role, action=action, target=sheet_target(args)
    )


def _in_place_options(parser: Any) -> None:
    parser.add_argument(
        "--on-behalf-of", metavar="STAFF", help="sign in the place of this departed teacher (Điều 18.5, 18.7)"
    )
    parser.add_argument("--decision", help="with --on-behalf-of: the decision the signature is made under")


def add_signing(commands: Any) -> None:
    signing = commands.add_parser("signing", help="prepare and submit signatures").add_subparsers(
        dest="signing", required=True
    )
    prepare_signature = signing.add_parser("prepare", help="write what a role signs next for one student's year")
    school_argument(prepare_signature)
    prepare_signature.add_argument("--year", required=True)
    prepare_signature.add_argument("--student", required=True)
    prepare_signature.add_argument(
        "--role", required=True, choices=["SUBJECT_TEACHER", "HOMEROOM_TEACHER", "PRINCIPAL", "ORGANISATION"]
    )
    prepare_signature.add_argument("--subject", help="for a subject teacher: the subject, by code or name")
    _in_place_options(prepare_signature)
    prepare_signature.add_argument("--signer", help="with --on-behalf-of: the staff id of who signs in their place")
    prepare_signature.add_argument("-o", "--output", required=True)
    prepare_signature.set_defaults(handler=cmd_signing_prepare)
    submit_signature = signing.add_parser("submit", help="check a signed document and record its new signature")
    school_option(submit_signature, "signer")
    submit_signature.add_argument("--year", required=True)
    submit_signature.add_argument("--student", required=True)
    submit_signature.add_argument(
        "--role", required=True, choices=["SUBJECT_TEACHER", "HOMEROOM_TEACHER", "PRINCIPAL", "CLERK"]
    )
    _in_place_options(submit_signature)
    submit_signature.add_argument("file", metavar="SIGNED.xml")
    submit_signature.set_defaults(handler=cmd_signing_submit)
    prepare_batch = signing.add_parser(
        "prepare-class", help="write what a role signs next in every học bạ of a class, one file per pupil"
    )
    school_argument(prepare_batch)
    prepare_batch.add_argument("--year", required=True)
    prepare_batch.add_argument("--class", dest="class_id", required=True)
    prepare_batch.add_argument(
        "--role", required=True, choices=["SUBJECT_TEACHER", "HOMEROOM_TEACHER", "PRINCIPAL", "ORGANISATION"]
    )
    prepare_batch.add_argument("--subject", help="for a subject teacher: the subject, by code or name")
    prepare_batch.add_argument("--output-dir", required=True, metavar="DIR", help="where <student>.xml are written")
    prepare_batch.set_defaults(handler=cmd_signing_prepare_batch)
    submit_batch = signing.add_parser(
        "submit-class", help="check the signed học bạ of a class and record every signature, or none"
    )
    school_option(submit_batch, "signer")
    submit_batch.add_argument("--year", required=True)
    submit_batch.add_argument("--class", dest="class_id", required=True)
    submit_batch.add_argument(
        "--role", required=True, choices=["SUBJECT_TEACHER", "HOMEROOM_TEACHER", "PRINCIPAL", "CLERK"]
    )
    submit_batch.add_argument("--subject", help="for a subject teacher: the subject, by code or name")
    submit_batch.add_argument("files", nargs="+", metavar="STUDENT.xml", help="as prepare-class named them")
    submit_batch.set_defaults(handler=cmd_signing_submit_batch)
    add_helper(signing)
    for name, text, handler in (
        ("prepare-sheet", "write a class sheet for its subject teacher to sign (Điều 18.3)", cmd_signing_prepare_class),
        ("submit-sheet", "check a signed class sheet and record the signature", cmd_signing_submit_class),
        (
            "prepare-term",
            "write the class's term record for its homeroom teacher to sign (Điều 18.4)",
            cmd_signing_prepare_class,
        ),
        ("submit-term", "check a signed term record of a class and record the signature", cmd_signing_submit_class),
    ):
        command = signing.add_parser(name, help=text)
        signer = {"submit-sheet": "subject teacher", "submit-term": "homeroom teacher"}.get(name)
        school_option(command, signer)
        command.add_argument("--year", required=True)
        command.add_argument("--class", dest="class_id", required=True)
        if name.endswith("-sheet"):
            command.add_argument("--subject", required=True, help="code or name: TOAN, Toán")
        command.add_argument("--term", required=True, help="1 or 2 (also I, II, 'HK I', 'Học kì 1')")
        if name.endswith("-term"):
            _in_place_options(command)
        if name == "prepare-term":
            command.add_argument("--signer", help="with --on-behalf-of: the staff id of who signs in their place")
        if name.startswith("prepare"):
            command.add_argument("-o", "--output", required=True)
        else:
            command.add_argument("file", metavar="SIGNED.xml")
        command.set_defaults(handler=handler)
