"""Running a witness (c2sp.org/tlog-witness), as the Sở, the Phòng or a neighbouring school would: its
service, its key, the logs it witnesses and the evidence it kept; and, on a school's side, the keys
of its logs that a witness needs."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ledger.base.settings import Settings
from ledger.cli.common import EXIT_OK, CliError, print_json, required_school, with_runtime


def _witness(runtime: Any, settings: Settings) -> Any:
    from ledger.app.db import APP_ROLE
    from ledger.witness.state import Witness

    return Witness(runtime.engine(APP_ROLE), runtime.service_keys.witness_key(settings.witness_name), runtime.clock)


def cmd_witness_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.witness import create_witness_app
    from ledger.app.runtime import open_runtime

    runtime = open_runtime(settings, upgrade=True)
    witness = _witness(runtime, settings)
    print(f"witness {witness.key.vkey} on http://{args.host}:{args.port}", file=sys.stderr)
    uvicorn.run(create_witness_app(witness), host=args.host, port=args.port, log_config=None)
    return EXIT_OK


def cmd_witness_key(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.app.runtime import Runtime

    print(Runtime(settings, "").service_keys.witness_key(settings.witness_name).vkey)
    return EXIT_OK


def cmd_witness_add_log(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.format.note import ED25519, VerifierKey

    vkey = VerifierKey.parse(args.vkey)
    if vkey.kind != ED25519 or vkey.name != args.origin:
        raise CliError(f"the log's key must be an Ed25519 key named after the log ({args.origin}), not {vkey.name}")

    async def body(runtime: Any) -> int:
        added = await _witness(runtime, settings).add_log(args.origin, vkey)
        print(f"{'witnessing' if added else 'already witnessing'} {args.origin}")
        return EXIT_OK

    return with_runtime(settings, body)


def cmd_witness_logs(args: argparse.Namespace, settings: Settings) -> int:
    async def body(runtime: Any) -> int:
        witness = _witness(runtime, settings)
        rows = await witness.logs()
        if args.json:
            print_json([{"origin": r["origin"], "vkey": r["vkey"]} for r in rows])
        for row in [] if args.json else rows:
            print(f"{row['origin']}  {row['vkey']}")
        return EXIT_OK

    return with_runtime(settings, body)


def cmd_witness_evidence(args: argparse.Namespace, settings: Settings) -> int:
    async def body(runtime: Any) -> int:
        rows = await _witness(runtime, settings).evidence()
        if args.json:
            print_json([{**r, "received_at": r["received_at"].isoformat()} for r in rows])
        else:
            for row in rows:
                print(f"{row['received_at']:%Y-%m-%d %H:%M}  {row['origin']}  {row['problem']}  old {row['old_size']}")
            if not rows:
                print("no evidence: every checkpoint received extended the last one cosigned")
        return EXIT_OK

    return with_runtime(settings, body)


def cmd_log_keys(args: argparse.Namespace, settings: Settings) -> int:
    """The origins and verifier keys of a school's two logs, for the witnesses it publishes to."""
    from ledger.app.runtime import Runtime
    from ledger.format.checkpoint import LOGS, origin
    from ledger.format.note import ED25519, VerifierKey
    from signing.x509.keys import raw_public_key

    school = required_school(args, settings)
    signer = Runtime(settings, "").signer(school)
    public = raw_public_key(signer.certificate)
    if public is None:
        raise CliError(f"the service key of {school} is not an Ed25519 key: witnesses cannot check its notes")
    for log in LOGS:
        name = origin(settings.origin_prefix, school, log)
        print(f"{name} {VerifierKey(name, ED25519, public)}")
    return EXIT_OK


def add_witness(commands: Any) -> None:
    witness = commands.add_parser("witness", help="run a witness that cosigns schools' checkpoints (the Sở)")
    group = witness.add_subparsers(dest="witness", required=True)
    serve = group.add_parser("serve", help="the witness's HTTP service, on its own database and key")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8900)
    serve.set_defaults(handler=cmd_witness_serve)
    group.add_parser("key", help="print the witness's verifier key, for the schools").set_defaults(
        handler=cmd_witness_key
    )
    add = group.add_parser("add-log", help="witness a school's log (its origin and verifier key: hocba log-keys)")
    add.add_argument("--origin", required=True)
    add.add_argument("--vkey", required=True)
    add.set_defaults(handler=cmd_witness_add_log)
    for name, text, handler in (
        ("logs", "the logs this witness cosigns", cmd_witness_logs),
        ("evidence", "the checkpoints refused as a smaller or forked tree", cmd_witness_evidence),
    ):
        command = group.add_parser(name, help=text)
        command.add_argument("--json", action="store_true")
        command.set_defaults(handler=handler)


def add_log_keys(commands: Any) -> None:
    keys = commands.add_parser("log-keys", help="the origins and verifier keys of a school's logs, for its witnesses")
    keys.add_argument("--school")
    keys.set_defaults(handler=cmd_log_keys)
