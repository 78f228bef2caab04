"""Reading records: the TT22 rules on one student's year, a transcript, a class's lists."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ledger.base.settings import Settings
from ledger.cli.common import (
    EXIT_OK,
    CliError,
    print_json,
    school_argument,
    with_runtime,
)
from ledger.cli.session import acting, student_target


def cmd_assess_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.rules.evaluation import evaluate

    try:
        doc = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except ValueError as exc:
        raise CliError(f"{args.file} is not valid JSON: {exc}") from None
    print_json(evaluate(doc))
    return EXIT_OK


def cmd_transcript(args: argparse.Namespace, settings: Settings) -> int:
    """One student's year (student.read) or a class's lists (class.read), as the signed-in account."""
    from ledger.app.db import AUDITOR_ROLE
    from ledger.school.rules import identity
    from ledger.school.rules.policy import Target
    from ledger.school.transcripts.views import class_summary, load_student_year
    from ledger.school.years.queries import known_class, known_student, known_year

    if args.command == "transcript":
        action, target = "student.read", student_target(args.year, args.student)
    else:
        args.class_id = identity.class_id(args.class_id)

        async def whole_class(conn: Any, school: str) -> Target:
            return Target(year=args.year, class_id=args.class_id)

        action, target = "class.read", whole_class

    async def body(runtime: Any) -> int:
        async with acting(runtime, settings, args, args.command, action, target=target) as session:
            school = session.school
            async with runtime.engine(AUDITOR_ROLE).connect() as conn:
                await known_year(conn, school, args.year)
                if args.command == "transcript":
                    await known_student(conn, school, args.student)
                    view: Any = await load_student_year(conn, school, args.year, args.student, args.as_of)
                else:
                    await known_class(conn, school, args.year, args.class_id)
                    view = await class_summary(conn, school, args.year, args.class_id, args.as_of)
        print_json(view.to_json())
        return EXIT_OK

    return with_runtime(settings, body)


def add_assess(commands: Any) -> None:
    assess = commands.add_parser("assess", help="the TT22 assessment rules").add_subparsers(
        dest="assess", required=True
    )
    evaluate = assess.add_parser("evaluate", help="evaluate one student's year from a JSON file (docs/ASSESSMENT.md)")
    evaluate.add_argument("file", metavar="FILE.json")
    evaluate.set_defaults(handler=cmd_assess_evaluate)


def add_transcript(commands: Any) -> None:
    transcript = commands.add_parser("transcript", help="one student's year, evaluated, as JSON")
    school_argument(transcript)
    transcript.add_argument("--year", required=True)
    transcript.add_argument("--student", required=True, help="personal identifier")
    transcript.add_argument("--as-of", type=int, metavar="SEQ", help="as it stood at this seq")
    transcript.set_defaults(handler=cmd_transcript)


def add_class_summary(commands: Any) -> None:
    summary = commands.add_parser("class-summary", help="a class's lists (Điều 33.6, 34.4), as JSON")
    school_argument(summary)
    summary.add_argument("--year", required=True)
    summary.add_argument("--class", dest="class_id", required=True)
    summary.add_argument("--as-of", type=int, metavar="SEQ")
    summary.set_defaults(handler=cmd_transcript)
