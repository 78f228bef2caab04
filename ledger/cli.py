"""The `hocba` command line. Errors are printed as one readable line; exit status 2 means the command
could not run (bad arguments, no database), 1 means it ran and found the ledger not intact."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from ledger.config import Settings, load_settings
from ledger.logs import configure_logging

EXIT_OK, EXIT_NOT_INTACT, EXIT_ERROR = 0, 1, 2


class CliError(Exception):
    """A readable reason why a command could not run."""


def _print_json(doc: Any) -> None:
    json.dump(doc, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


class ProgressBar:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self._last = 0.0

    def __call__(self, school: str, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._last < 0.1 and done < total):
            return
        self._last = now
        width = 30
        filled = width if total == 0 else int(width * done / total)
        percent = 100 if total == 0 else int(100 * done / total)
        sys.stderr.write(f"\r{school} [{'#' * filled}{'.' * (width - filled)}] {percent:3d}% {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _school(args: argparse.Namespace, settings: Settings) -> str | None:
    return getattr(args, "school", None) or settings.school


# --- commands -------------------------------------------------------------------------------


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from ledger import migrate
    from ledger.db import resolve_database_url

    url = resolve_database_url(settings)
    migrate.upgrade(url)
    print(f"database is at revision {migrate.current_revision(url)}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.app import create_app
    from ledger.runtime import open_runtime

    runtime = open_runtime(settings, upgrade=True)
    where = "DATABASE_URL" if settings.database_url else f"embedded PostgreSQL in {settings.home / 'pgdata'}"
    print(f"hocba-ledger on http://{args.host}:{args.port}  (database: {where})", file=sys.stderr)
    uvicorn.run(create_app(runtime), host=args.host, port=args.port, log_config=None)
    return EXIT_OK


def _with_runtime(settings: Settings, body: Callable[[Any], Awaitable[int]], *, upgrade: bool = True) -> int:
    from ledger.runtime import open_runtime

    runtime = open_runtime(settings, upgrade=upgrade)

    async def run() -> int:
        try:
            return await body(runtime)
        finally:
            await runtime.close()

    return asyncio.run(run())


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.db import AUDITOR_ROLE
    from ledger.verify import verify
    from signing.certs import load_certificates

    async def body(runtime: Any) -> int:
        roots = load_certificates(Path(args.trust)) if args.trust else runtime.trusted_roots()
        school = _school(args, settings)
        report = await verify(runtime.engine(AUDITOR_ROLE), roots, [school] if school else None, progress=ProgressBar())
        if args.json:
            _print_json(report.to_json())
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

    return _with_runtime(settings, body)


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.db import AUDITOR_ROLE
    from ledger.replay import replay

    async def body(runtime: Any) -> int:
        report = await replay(runtime.engine(AUDITOR_ROLE), _school(args, settings))
        if args.json:
            _print_json(report.to_json())
        else:
            for table in report.tables:
                state = "identical" if table.equal else "DIFFERENT"
                print(f"{table.table}: {state} (live {table.live[:16]}…, replayed {table.replayed[:16]}…)")
            print(f"replayed {report.events} events in {report.seconds:.2f} s")
        return EXIT_OK if report.ok else EXIT_NOT_INTACT

    return _with_runtime(settings, body)


def cmd_checkpoint(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.checkpointing import checkpoint_all, make_checkpoint

    async def body(runtime: Any) -> int:
        school = _school(args, settings)
        engine = runtime.engine()
        if school:
            made = await make_checkpoint(engine, school, runtime.signer(school), runtime.clock)
            checkpoints = [made] if made else []
        else:
            checkpoints = await checkpoint_all(engine, runtime.signer, runtime.clock)
        if args.json:
            _print_json([c.to_json() for c in checkpoints])
        else:
            for c in checkpoints:
                print(f"{c.school}: tree size {c.tree_size}, root {c.root.hex()}, signed {c.signed_at}")
        return EXIT_OK

    return _with_runtime(settings, body)


def cmd_pki_init_demo(args: argparse.Namespace, settings: Settings) -> int:
    from signing.pki import Pki

    if settings.production:
        raise CliError("the demo PKI is for development only; HOCBA_ENV is production")
    root = Pki(settings.pki_dir).init_demo(force=args.force)
    print(f"demo PKI in {settings.pki_dir}: root {root.subject.rfc4514_string()}")
    return EXIT_OK


def cmd_pki_export_root(args: argparse.Namespace, settings: Settings) -> int:
    from cryptography.hazmat.primitives.serialization import Encoding

    from signing.pki import Pki

    roots = Pki(settings.pki_dir).roots()
    Path(args.output).write_bytes(b"".join(r.public_bytes(Encoding.PEM) for r in roots))
    print(f"wrote the trusted root to {args.output}")
    return EXIT_OK


# --- parser ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hocba", description="hocba-ledger: the học bạ số ledger service")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the HTTP service (migrates the database first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(handler=cmd_serve)

    db = commands.add_parser("db", help="database administration").add_subparsers(dest="db", required=True)
    db.add_parser("upgrade", help="apply the migrations").set_defaults(handler=cmd_db_upgrade)

    verify = commands.add_parser("verify", help="recompute every hash, link, gap and checkpoint")
    verify.add_argument("--school", help="only this school (default: every school)")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.add_argument("--trust", metavar="ROOT.pem", help="trusted root (default: the PKI's root)")
    verify.set_defaults(handler=cmd_verify)

    replay = commands.add_parser("replay", help="rebuild projections from seq 1 and compare with the live ones")
    replay.add_argument("--school")
    replay.add_argument("--json", action="store_true")
    replay.set_defaults(handler=cmd_replay)

    checkpoint = commands.add_parser("checkpoint", help="sign a checkpoint now")
    checkpoint.add_argument("--school")
    checkpoint.add_argument("--json", action="store_true")
    checkpoint.set_defaults(handler=cmd_checkpoint)

    pki = commands.add_parser("pki", help="certificates").add_subparsers(dest="pki", required=True)
    init_demo = pki.add_parser("init-demo", help="create the development PKI (offline)")
    init_demo.add_argument("--force", action="store_true", help="replace an existing PKI")
    init_demo.set_defaults(handler=cmd_pki_init_demo)
    export_root = pki.add_parser("export-root", help="write the trusted root certificate")
    export_root.add_argument("-o", "--output", required=True, metavar="FILE")
    export_root.set_defaults(handler=cmd_pki_export_root)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        configure_logging(settings.log_format or ("json" if settings.production else None))
        status: int = args.handler(args, settings)
        return status
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # every failure ends as one readable line, never a traceback
        from ledger.db import DatabaseUnavailable

        known = (CliError, DatabaseUnavailable, ValueError, OSError)
        prefix = "" if isinstance(exc, known) else f"{type(exc).__name__}: "
        print(f"hocba: {prefix}{exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
