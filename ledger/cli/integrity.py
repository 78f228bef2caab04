"""The ledger's integrity: verify it, replay its read models, sign a checkpoint, run a scheduled job now.
Operator commands on the server, run with the database owner's credentials and no account; each
leaves an access entry, as `os:<login>`, in the trail of every school it read (Điều 20.3)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ledger.base.settings import Settings
from ledger.cli.common import (
    EXIT_NOT_INTACT,
    EXIT_OK,
    ProgressBar,
    checked_school,
    print_json,
    with_runtime,
    working,
)
from ledger.cli.session import record_operator


async def _schools(runtime: Any, school: str | None) -> list[str]:
    """The schools an operator's command reads: the one named, else every school."""
    from ledger.app.db import AUDITOR_ROLE
    from ledger.log.store import school_ids

    if school:
        return [school]
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        return sorted(await school_ids(conn))


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.app.verification import verify_installation
    from signing.x509.certs import load_certificates

    async def body(runtime: Any) -> int:
        roots = load_certificates(Path(args.trust)) if args.trust else runtime.trusted_roots()
        school = await checked_school(runtime, args, settings, required=False)
        files = [Path(f) for f in args.checkpoint or []]
        bar = ProgressBar(quiet=args.json)
        try:
            report, notes = await verify_installation(
                runtime,
                [school] if school else None,
                files=files,
                ask_witnesses=not args.offline,
                roots=roots,
                progress=bar,
            )
        finally:
            bar.close()
        schools = sorted({r.school for r in report.schools})
        unwritten = await record_operator(runtime, schools, "verify", strict=False)
        for school_id in unwritten:
            notes.append(
                f"không ghi được nhật ký truy cập của trường {school_id} / the access entry of school {school_id} "
                "could not be written: its access trail refuses appends (see the findings)"
            )
        for note in notes:
            print(f"hocba: {note}", file=sys.stderr)
        if args.json:
            print_json(report.to_json())
        else:
            for result in report.schools:
                name = f"{result.school} ({result.log})"
                if result.ok:
                    checkpoints = f"{result.checkpoints} checkpoint{'' if result.checkpoints == 1 else 's'}"
                    entries = f"{result.events} entr{'y' if result.events == 1 else 'ies'}"
                    noted = "".join(f", {count} {what}" for what, count in sorted(result.noted.items()))
                    print(f"{name}: intact — {entries}, head {result.head_seq}, {checkpoints} verified{noted}")
                else:
                    first = result.first_bad_seq
                    where = f"first bad seq {first}" if first is not None else "the checkpoints are at fault"
                    print(f"{name}: NOT INTACT — {where}")
                    for finding in sorted(result.findings, key=lambda f: f.seq):
                        about = "checkpoint" if finding.about == "checkpoint" else "seq"
                        print(f"  {about} {finding.seq}: {finding.problem}: {finding.message}")
            if not report.schools:
                print("the ledger is empty")
        return EXIT_OK if report.ok and not unwritten else EXIT_NOT_INTACT

    return with_runtime(settings, body)


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    from audit.trail import ACCESS_PROJECTIONS
    from ledger.app.db import AUDITOR_ROLE
    from ledger.log.replay import replay
    from ledger.log.schema import ACCESS
    from ledger.school.readmodels import PROJECTIONS

    async def body(runtime: Any) -> int:
        school = await checked_school(runtime, args, settings, required=False)
        with working("đang dựng lại các bảng từ sổ cái / replaying the log", quiet=args.json):
            engine = runtime.engine(AUDITOR_ROLE)
            report = await replay(engine, PROJECTIONS, school or None)
            # what auditors read of the access trail (the index, the alerts, the verification
            # results) is rebuilt from its hash-chained log and compared the same way
            report += await replay(engine, ACCESS_PROJECTIONS, school or None, chain=ACCESS)
        await record_operator(runtime, await _schools(runtime, school), "replay")
        if args.json:
            print_json(report.to_json())
        else:
            for table in report.tables:
                state = "identical" if table.equal else "DIFFERENT"
                print(f"{table.table}: {state} (live {table.live[:16]}…, replayed {table.replayed[:16]}…)")
            print(f"replayed {report.events} events in {report.seconds:.2f} s")
        return EXIT_OK if report.ok else EXIT_NOT_INTACT

    return with_runtime(settings, body)


def cmd_checkpoint(args: argparse.Namespace, settings: Settings) -> int:
    from audit.trail import AccessTrail
    from ledger.app.jobs import publish_checkpoints
    from ledger.log.checkpointing import checkpoint_logs

    async def body(runtime: Any) -> int:
        school = await checked_school(runtime, args, settings, required=False) or None
        await record_operator(runtime, await _schools(runtime, school), "checkpoint")  # covered by what it signs
        run = await checkpoint_logs(
            runtime.engine(), runtime.signer, runtime.clock, runtime.checkpoint_policy(), [school] if school else None
        )
        published = await publish_checkpoints(runtime, AccessTrail(runtime.engine(), clock=runtime.clock), school)
        if args.json:
            print_json([c.to_json() for c in run.made])
        else:
            for c in run.made:
                print(f"{c.school} ({c.log}): tree size {c.tree_size}, root {c.root.hex()}, signed {c.signed_at}")
            for school_id, log, size, witness in published.cosigned:
                print(f"{school_id} ({log}): tree size {size} cosigned by {witness}")
        for refused in run.refused:
            print(f"hocba: NOT INTACT, no checkpoint signed: {refused}", file=sys.stderr)
        for problem in published.problems:
            print(f"hocba: {problem['rule']}: {problem['detail']}", file=sys.stderr)
        return EXIT_NOT_INTACT if run.refused or published.problems else EXIT_OK

    return with_runtime(settings, body)


def cmd_jobs(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.app.jobs import deadline_transitions, nightly_verification

    async def body(runtime: Any) -> int:
        school = await checked_school(runtime, args, settings, required=False)
        schools = [school] if school else None
        await record_operator(runtime, await _schools(runtime, school), f"jobs {args.job}")
        if args.job == "deadlines":
            events = await deadline_transitions(runtime, schools)
            print_json([{"school": e.school, "seq": e.seq, "type": e.type, **e.payload} for e in events])
            return EXIT_OK
        results = await nightly_verification(runtime, schools)
        print_json(results)
        return EXIT_OK if all(r["ok"] for r in results) else EXIT_NOT_INTACT

    return with_runtime(settings, body)


def add_verify(commands: Any) -> None:
    verify = commands.add_parser("verify", help="recompute every hash, link, gap and checkpoint")
    verify.add_argument("--school", help="only this school (default: every school)")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.add_argument("--trust", metavar="ROOT.pem", help="trusted root (default: the PKI's root)")
    verify.add_argument(
        "--checkpoint",
        action="append",
        metavar="FILE",
        help="a checkpoint held outside: a client's (JSON), a backup manifest, an issued XML, a witness's note; repeat",
    )
    verify.add_argument("--offline", action="store_true", help="do not ask the witnesses what they cosigned")
    verify.set_defaults(handler=cmd_verify)


def add_replay(commands: Any) -> None:
    replay = commands.add_parser("replay", help="rebuild projections from seq 1 and compare with the live ones")
    replay.add_argument("--school")
    replay.add_argument("--json", action="store_true")
    replay.set_defaults(handler=cmd_replay)


def add_checkpoint(commands: Any) -> None:
    checkpoint = commands.add_parser("checkpoint", help="sign a checkpoint now")
    checkpoint.add_argument("--school")
    checkpoint.add_argument("--json", action="store_true")
    checkpoint.set_defaults(handler=cmd_checkpoint)


def add_jobs(commands: Any) -> None:
    jobs = commands.add_parser("jobs", help="run a scheduled job now").add_subparsers(dest="job", required=True)
    for name, text in (
        ("deadlines", "record passed deadlines and expire pending correction requests"),
        ("verification", "verify ledgers and access trails, storing results and alerts"),
    ):
        command = jobs.add_parser(name, help=text)
        command.add_argument("--school", help="only this school (default: every school)")
        command.set_defaults(handler=cmd_jobs, job=name)
