"""The `hocba` command line: one module per command group, gathered here in the order `hocba --help`
lists them. Errors are printed as one readable line; exit status 2 means the command could not run
(bad arguments, no database), 1 means it ran and found the ledger not intact. Handlers import what
they run when they run, so that `hocba --help` and light commands start at once."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from ledger.base.errors import HocbaError
from ledger.base.logs import configure_logging
from ledger.base.settings import load_settings
from ledger.cli import (
    accounts,
    backup,
    imports,
    integrity,
    issuance,
    pki,
    records,
    school,
    service,
    signer,
    signing,
    staffing,
    transfers,
    witness,
)
from ledger.cli.common import EXIT_ERROR, database_trouble


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hocba", description="hocba-ledger: the học bạ số ledger service")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    service.add_serve(commands)
    service.add_db(commands)
    integrity.add_verify(commands)
    integrity.add_replay(commands)
    integrity.add_checkpoint(commands)
    school.add_school(commands)
    school.add_year(commands)
    school.add_catalogue(commands)
    imports.add_import(commands)
    school.add_calendar(commands)
    school.add_lock(commands)
    integrity.add_jobs(commands)
    records.add_assess(commands)
    records.add_transcript(commands)
    records.add_class_summary(commands)
    accounts.add_login(commands)
    accounts.add_account(commands)
    accounts.add_token(commands)
    staffing.add_assignment(commands)
    signer.add_sign(commands)
    signer.add_verify_file(commands)
    issuance.add_issue(commands)
    issuance.add_issued(commands)
    backup.add_backup(commands)
    backup.add_backup_key(commands)
    backup.add_restore(commands)
    service.add_demo(commands)
    transfers.add_transfer(commands)
    signing.add_signing(commands)
    pki.add_pki(commands)
    witness.add_log_keys(commands)
    witness.add_witness(commands)
    _bare_groups_print_their_help(parser)
    return parser


def _bare_groups_print_their_help(parser: argparse.ArgumentParser) -> None:
    """`hocba` or a command group called without its command (`hocba import`) prints that group's
    help rather than argparse's "required: imp"."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            action.required = False
            parser.set_defaults(handler=_help_of(parser))
            for child in action.choices.values():
                _bare_groups_print_their_help(child)


def _help_of(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace, Any], int]:
    def show(_args: argparse.Namespace, _settings: Any) -> int:
        parser.print_help()
        return EXIT_ERROR

    return show


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        level = logging.DEBUG if os.environ.get("HOCBA_LOG_LEVEL", "").lower() == "debug" else logging.INFO
        configure_logging(settings.log_format or ("json" if settings.production else None), level)
        status: int = args.handler(args, settings)
        return status
    except KeyboardInterrupt:
        return 130
    except SQLAlchemyError as exc:
        print(f"hocba: {database_trouble(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # every failure ends as one readable line, never a traceback
        prefix = "" if isinstance(exc, HocbaError | OSError) else f"{type(exc).__name__}: "
        print(f"hocba: {prefix}{exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
