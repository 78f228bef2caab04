"""What every command shares: exit codes, one readable error, JSON output, a progress bar, the
runtime of one command, the access entry a command leaves, and running a command as the signed-in
account (ledger.cli.session)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from ledger.base.errors import HocbaError
from ledger.base.settings import Settings

EXIT_OK, EXIT_NOT_INTACT, EXIT_ERROR = 0, 1, 2


class CliError(HocbaError):
    """A readable reason why a command could not run."""


async def resolve_names(conn: Any, school: str, args: argparse.Namespace) -> None:
    """--year, --class, --subject and --term as people type them ("lớp 6a1", "Toán", "HK I") become
    the year, the class id, the catalogue code and the term number, in `args` (the one resolver,
    ledger.school.rules.names); an unknown one is an error naming what there is."""
    from ledger.school.rules import identity
    from ledger.school.years.queries import known_class, known_year, subject_code

    year = await known_year(conn, school, identity.school_year(args.year))
    if getattr(args, "class_id", None):
        args.class_id = identity.class_id(args.class_id)
        await known_class(conn, school, year, args.class_id)
    if getattr(args, "subject", None):
        args.subject = await subject_code(conn, school, year, args.subject)
    if getattr(args, "term", None):
        args.term = identity.term(args.term)


def database_trouble(exc: Exception) -> str:
    """A database failure as one line a school's IT teacher can act on; the driver's own words go to
    the log (at debug level: HOCBA_LOG_LEVEL=debug)."""
    import structlog

    detail = str(getattr(exc, "orig", None) or exc)
    structlog.get_logger("hocba.cli").debug("database.error", error=type(exc).__name__, detail=detail)
    text = detail.lower()
    if "connection refused" in text or "could not connect" in text or "no such file or directory" in text:
        return (
            "không kết nối được PostgreSQL: máy chủ chưa chạy hoặc sai địa chỉ trong DATABASE_URL / "
            "cannot connect to PostgreSQL: the server is not running or DATABASE_URL points elsewhere"
        )
    if "password authentication failed" in text or ("role" in text and "does not exist" in text):
        return (
            "PostgreSQL từ chối đăng nhập: sai người dùng hoặc mật khẩu trong DATABASE_URL / "
            "PostgreSQL refused the login: check the user and password in DATABASE_URL"
        )
    if "database" in text and "does not exist" in text:
        return "cơ sở dữ liệu trong DATABASE_URL không tồn tại / the database named in DATABASE_URL does not exist"
    if ("relation" in text and "does not exist" in text) or "undefinedtable" in text:
        return (
            "cơ sở dữ liệu chưa có các bảng của hocba: hãy chạy `hocba db upgrade` / "
            "the database lacks hocba's tables: run `hocba db upgrade`"
        )
    return f"lỗi cơ sở dữ liệu ({type(exc).__name__}); chi tiết trong nhật ký / database error; details in the log"


def print_json(doc: Any) -> None:
    json.dump(doc, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


class ProgressBar:
    """Progress of a long walk over schools' logs, drawn with rich on stderr only when stderr is a
    terminal and the command does not print JSON; silent otherwise."""

    def __init__(self, *, quiet: bool = False) -> None:
        self.enabled = sys.stderr.isatty() and not quiet
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}

    def __call__(self, school: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            self._bar = Progress(*columns, console=Console(stderr=True))
            self._bar.start()
        if school not in self._tasks:
            self._tasks[school] = self._bar.add_task(school, total=total)
        self._bar.update(self._tasks[school], completed=done, total=total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


@contextlib.contextmanager
def working(what: str, *, quiet: bool = False) -> Iterator[Callable[[str], None]]:
    """A spinner on stderr saying what a long command is doing, while it does it (rich), only when
    stderr is a terminal and the command does not print JSON. Yields a function that updates the text."""
    if quiet or not sys.stderr.isatty():
        yield lambda _text: None
        return
    from rich.console import Console

    with Console(stderr=True).status(what) as status:
        yield lambda text: status.update(text)


def school_of(args: argparse.Namespace, settings: Settings) -> str | None:
    return getattr(args, "school", None) or settings.school


async def checked_school(
    runtime: Any, args: argparse.Namespace, settings: Settings, *, required: bool = True, new: bool = False
) -> str:
    """The school a command names (--school, else HOCBA_SCHOOL), which must be in the database (unless
    the command registers it); with none named and exactly one school in the database, that one. An
    unknown school is an error naming the schools there are, never an empty success. "" when none is
    named, none is required and there are several."""
    from ledger.app.db import AUDITOR_ROLE
    from ledger.log.store import school_ids

    named = school_of(args, settings)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        known = sorted(await school_ids(conn))
    shown = known if len(known) <= 20 else [*known[:20], f"… {len(known)} trường / schools"]
    there = ", ".join(shown) or "chưa có trường nào / none yet"
    if named:
        if named not in known and not new:
            raise CliError(
                f"không có trường '{named}' trong cơ sở dữ liệu / no school '{named}' (có / there are: {there})"
            )
        return named
    if len(known) == 1 and not new:
        return known[0]
    if required:
        raise CliError(
            f"hãy chọn trường bằng --school hoặc HOCBA_SCHOOL / name the school with --school (có / there are: {there})"
        )
    return ""


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


def new_entry(runtime: Any, school: str | None, command: str) -> Any:
    """The access entry of one command on one school (None: the service's trail), filled in as the
    command goes."""
    import uuid

    from audit.trail import AccessEntry

    entry = AccessEntry(str(uuid.uuid4()), "CLI", f"hocba {command}", "localhost", runtime.clock.now(), school)
    entry.action = "cli." + command.replace(" ", ".")
    return entry


async def record_entry(runtime: Any, entry: Any, status: int) -> None:
    """Append the command's access entry to its school's trail (status as HTTP says it: 200 allowed,
    401/403/429 denied, other 4xx refused)."""
    from audit.trail import AccessTrail

    await AccessTrail(runtime.engine(), runtime.clock).record(entry, status)


def read_file(name: str) -> bytes:
    path = Path(name)
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    return path.read_bytes()


async def one(event: Awaitable[Any]) -> list[Any]:
    return [await event]


def school_argument(parser: argparse.ArgumentParser) -> None:
    """--school, and --token: the command runs as the account the token belongs to."""
    parser.add_argument("--school", help="school id (default: HOCBA_SCHOOL)")
    parser.add_argument(
        "--token",
        help="run as the account of this access token (default: HOCBA_TOKEN, else the one `hocba login` kept)",
    )


def school_option(parser: argparse.ArgumentParser, actor: str | None = None) -> None:
    school_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    who = f"the {actor} acting" if actor else "who acts"
    parser.add_argument(
        "--actor", help=f"{who}: your own staff id, checked against the signed-in account (default: it)"
    )


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
