"""What every command shares: exit codes, one readable error, JSON output, a progress bar, the
runtime of one command, and the access entry a command leaves."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from ledger.base.errors import HocbaError
from ledger.base.settings import Settings

EXIT_OK, EXIT_NOT_INTACT, EXIT_ERROR = 0, 1, 2


class CliError(HocbaError):
    """A readable reason why a command could not run."""


def print_json(doc: Any) -> None:
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


def school_of(args: argparse.Namespace, settings: Settings) -> str | None:
    return getattr(args, "school", None) or settings.school


def with_runtime(settings: Settings, body: Callable[[Any], Awaitable[int]], *, upgrade: bool = True) -> int:
    from ledger.app.runtime import open_runtime

    runtime = open_runtime(settings, upgrade=upgrade)

    async def run() -> int:
        try:
            return await body(runtime)
        finally:
            await runtime.close()

    return asyncio.run(run())


def required_school(args: argparse.Namespace, settings: Settings) -> str:
    school = school_of(args, settings)
    if not school:
        raise CliError("name the school with --school or HOCBA_SCHOOL")
    return school


async def record_cli(
    runtime: Any, school: str, username: str, roles: list[str], command: str, error: Any = None
) -> None:
    """Commands that write to a school's ledger or hand out access leave an access entry, allowed
    or refused."""
    import uuid

    from audit.trail import AccessEntry, AccessTrail

    entry = AccessEntry(str(uuid.uuid4()), "CLI", f"hocba {command}", "localhost", runtime.clock.now(), school)
    entry.username, entry.roles = username, roles
    entry.action, entry.reason = "cli." + command.replace(" ", "."), getattr(error, "code", None)
    await AccessTrail(runtime.engine(), runtime.clock).record(entry, getattr(error, "status", 200))


def ledger_command(
    settings: Settings,
    args: argparse.Namespace,
    command: str,
    work: Callable[[Any, str, Any], Awaitable[Any]],
    role: str = "ADMIN",
) -> int:
    """Run `work(ledger, school, actor)` as `--actor` (default cli.<user>) in `role`, record the
    attempt in the school's access trail, and print the result: JSON, or `appended=N`."""
    import getpass

    from ledger.base.errors import DomainError
    from ledger.format.envelope import Actor
    from ledger.school.readmodels import school_ledger
    from ledger.school.rules.roles import Role

    school = required_school(args, settings)
    actor = Actor(getattr(args, "actor", None) or f"cli.{getpass.getuser()}", Role(role))

    async def body(runtime: Any) -> int:
        try:
            result = await work(school_ledger(runtime.engine(), clock=runtime.clock), school, actor)
        except DomainError as refused:
            await record_cli(runtime, school, str(actor.user), [role], command, refused)
            raise
        await record_cli(runtime, school, str(actor.user), [role], command)
        doc = result.to_json() if hasattr(result, "to_json") else {"appended": len(result)}
        if args.json:
            print_json(doc)
        else:
            print(" ".join(f"{k}={v}" for k, v in doc.items()))
        return EXIT_OK

    return with_runtime(settings, body)


def read_file(name: str) -> bytes:
    path = Path(name)
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    return path.read_bytes()


def write_output(
    settings: Settings, args: argparse.Namespace, produce: Callable[[Any, str, Any], Awaitable[bytes]], what: str
) -> int:
    """Read with the auditor role, write the bytes `produce(conn, school, runtime)` returns to --output."""
    from ledger.app.db import AUDITOR_ROLE

    school = required_school(args, settings)
    content: list[bytes] = []

    async def body(runtime: Any) -> int:
        async with runtime.engine(AUDITOR_ROLE).connect() as conn:
            content.append(await produce(conn, school, runtime))
        return EXIT_OK

    status = with_runtime(settings, body)
    Path(args.output).write_bytes(content[0])
    print(f"wrote {args.output} ({len(content[0])} bytes, {what})")
    return status


async def one(event: Awaitable[Any]) -> list[Any]:
    return [await event]


def listing(
    settings: Settings,
    args: argparse.Namespace,
    table: Any,
    item: Callable[[dict[str, Any]], dict[str, Any]],
    columns: Sequence[str],
) -> int:
    """Print a projection's rows of the school, read with the auditor role: JSON, or one line each."""
    from ledger.app.db import AUDITOR_ROLE
    from ledger.log.projection import read

    school = required_school(args, settings)

    async def body(runtime: Any) -> int:
        async with runtime.engine(AUDITOR_ROLE).connect() as conn:
            items = [item(row) for row in await read(conn, table, school)]
        if args.json:
            print_json(items)
        else:
            for entry in items:
                print("  ".join(str(entry[column]) for column in columns))
        return EXIT_OK

    return with_runtime(settings, body)


def school_option(parser: argparse.ArgumentParser, actor: str | None = None) -> None:
    parser.add_argument("--school", help="school id (default: HOCBA_SCHOOL)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    if actor:
        parser.add_argument("--actor", required=True, help=f"the staff id of the {actor} acting")
    else:
        parser.add_argument("--actor", help="who is recorded as acting (default: cli.<login>)")


def load_p12(path: str, password_stdin: bool) -> tuple[Any, Any, list[Any]]:
    from cryptography.hazmat.primitives.serialization import pkcs12

    from signing.x509.pki import DEMO_P12_PASSWORD

    password = sys.stdin.readline().rstrip("\n").encode() if password_stdin else DEMO_P12_PASSWORD
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(Path(path).read_bytes(), password)
    except (ValueError, OSError) as exc:
        raise CliError(f"cannot open {path}: {exc}") from None
    if key is None or cert is None:
        raise CliError(f"{path} holds no key and certificate")
    return key, cert, list(extra)
