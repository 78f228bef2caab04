"""The ledger's integrity: verify it, replay its read models, sign a checkpoint, run a scheduled job now."""

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
    print_json,
    school_of,
    with_runtime,
)


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.app.db import AUDITOR_ROLE
    from ledger.log.verify import verify
    from signing.x509.certs import load_certificates

    async def body(runtime: Any) -> int:
        roots = load_certificates(Path(args.trust)) if args.trust else runtime.trusted_roots()
        school = school_of(args, settings)
        report = await verify(runtime.engine(AUDITOR_ROLE), roots, [school] if school else None, progress=ProgressBar())
        if args.json:
            print_json(report.to_json())
        else:
            for result in report.schools:
                if result.ok:
                    print(
                        f"{result.school}: intact — {result.events} events, head {result.head_seq}, "
                        f"{result.checkpoints} checkpoints verified"
                    )
                else:
                    print(f"{result.school}: NOT INTACT — first bad seq {result.first_bad_seq}")
                    for finding in sorted(result.findings, key=lambda f: f.seq):
                        print(f"  seq {finding.seq}: {finding.problem}: {finding.message}")
            if not report.schools:
                print("the ledger is empty")
        return EXIT_OK if report.ok else EXIT_NOT_INTACT

    return with_runtime(settings, body)


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.app.db import AUDITOR_ROLE
    from ledger.log.replay import replay
    from ledger.school.readmodels import PROJECTIONS

    async def body(runtime: Any) -> int:
        report = await replay(runtime.engine(AUDITOR_ROLE), PROJECTIONS, school_of(args, settings))
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
    from ledger.log.checkpointing import CheckpointRun, checkpoint_all, make_checkpoint
    from ledger.log.schema import ACCESS, EVENTS

    async def body(runtime: Any) -> int:
        school = school_of(args, settings)
        engine, policy = runtime.engine(), runtime.checkpoint_policy()
        run = CheckpointRun()
        for chain in (ACCESS, EVENTS):  # the events' checkpoint then names the access trail's latest
            if school:
                made = await make_checkpoint(engine, school, runtime.signer(school), runtime.clock, chain, policy)
                run.made += [made] if made else []
            else:
                each = await checkpoint_all(engine, runtime.signer, runtime.clock, chain, policy)
                run.made += each.made
                run.refused += each.refused
        if args.json:
            print_json([c.to_json() for c in run.made])
        else:
            for c in run.made:
                print(f"{c.school} ({c.log}): tree size {c.tree_size}, root {c.root.hex()}, signed {c.signed_at}")
        for refused in run.refused:
            print(f"hocba: NOT INTACT, no checkpoint signed: {refused}", file=sys.stderr)
        return EXIT_NOT_INTACT if run.refused else EXIT_OK

    return with_runtime(settings, body)


def cmd_jobs(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.app.jobs import deadline_transitions, nightly_verification

    schools = [args.school] if args.school else None

    async def body(runtime: Any) -> int:
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
