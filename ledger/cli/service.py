"""Running the service: serve, migrate the database, and load the demo school year."""

from __future__ import annotations

import argparse
import os
import ssl
import sys
import time
from typing import Any

from ledger.base.settings import Settings
from ledger.cli.common import (
    EXIT_OK,
    CliError,
    with_runtime,
    working,
)


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.app import migrate
    from ledger.app.db import resolve_database_url

    url = resolve_database_url(settings)
    migrate.upgrade(url)
    print(f"database is at revision {migrate.current_revision(url)}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.app import create_app
    from ledger.app.runtime import open_runtime

    tls = _tls_options(args)
    runtime = open_runtime(settings, upgrade=True)
    where = "DATABASE_URL" if settings.database_url else f"embedded PostgreSQL in {settings.home / 'pgdata'}"
    scheme = "https" if args.tls_cert else "http"  # the options always name the protocol; TLS only with a certificate
    print(f"hocba-ledger on {scheme}://{args.host}:{args.port}  (database: {where})", file=sys.stderr)
    if args.workers > 1:
        # Each worker process builds its own runtime; they share the database, its locks and the
        # token key, so any of them can serve any request. The workers connect to the database this
        # process resolved: an embedded server stays this process's to stop.
        os.environ["DATABASE_URL"] = runtime.url
        uvicorn.run(
            "api.app:from_environment",
            factory=True,
            workers=args.workers,
            host=args.host,
            port=args.port,
            log_config=None,
            **tls,
        )
    else:
        uvicorn.run(create_app(runtime), host=args.host, port=args.port, log_config=None, **tls)
    return EXIT_OK


def _tls_options(args: argparse.Namespace) -> dict[str, Any]:
    """uvicorn's protocol (api.http.tls, which records each connection's peer) and TLS settings for
    `--tls-cert`, `--tls-key` and `--client-ca`: with a client CA, a client may present a certificate
    (optional, so pages and API keys keep working), the handshake verifies it against that CA, and
    the protocol puts it in each request's scope."""
    if args.client_ca and not args.tls_cert:
        raise CliError("--client-ca needs --tls-cert and --tls-key: client certificates come with TLS")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise CliError("--tls-cert and --tls-key go together")
    from api.http.tls import ClientCertificateH11

    # always: the protocol records each connection's peer before uvicorn applies X-Forwarded-For
    if not args.tls_cert:
        return {"http": ClientCertificateH11}
    for option, path in (("--tls-cert", args.tls_cert), ("--tls-key", args.tls_key), ("--client-ca", args.client_ca)):
        if path and not os.path.isfile(path):
            raise CliError(f"{option}: no such file: {path}")
    options: dict[str, Any] = {"ssl_certfile": args.tls_cert, "ssl_keyfile": args.tls_key, "http": ClientCertificateH11}
    if args.client_ca:
        options.update(ssl_ca_certs=args.client_ca, ssl_cert_reqs=ssl.CERT_OPTIONAL)
    return options


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """The complete demo year of THCS Khánh Phú, signed and issued, with accounts to try it with."""
    from ledger.app.db import AUDITOR_ROLE
    from ledger.app.demo import DEMO_SCHOOL, build_complete_demo
    from ledger.log.checkpointing import checkpoint_logs
    from ledger.log.projection import read
    from ledger.school.schools.tables import schools
    from signing.x509.pki import Pki

    if settings.production:
        raise CliError("the demo school is for development only; HOCBA_ENV is production")
    if args.classes_per_grade < 1 or args.students_per_class < 1 or args.workers < 1:
        raise CliError("--classes-per-grade, --students-per-class and --workers are at least 1")
    school = args.school or DEMO_SCHOOL
    pki = Pki(settings.pki_dir)
    if not pki.exists():
        pki.init_demo()

    async def body(runtime: Any) -> int:
        async with runtime.engine(AUDITOR_ROLE).connect() as conn:
            if await read(conn, schools, school):
                print(f"the demo school {school!r} is already in this database; nothing to do")
                return EXIT_OK
        started = time.monotonic()

        def progress(message: str) -> None:
            print(f"[demo] {message}", flush=True)
            say(message)

        with working(f"[demo] {school}") as say:
            demo = await build_complete_demo(
                runtime.url,
                school,
                settings,
                classes_per_grade=args.classes_per_grade,
                students_per_class=args.students_per_class,
                workers=args.workers,
                progress=progress,
            )
        accounts = await _demo_accounts(runtime, demo)
        signed = await checkpoint_logs(
            runtime.engine(), runtime.signer, runtime.clock, runtime.checkpoint_policy(), [school]
        )  # what a running service would have signed by now
        if signed.refused:
            raise CliError(f"the demo ledger does not verify: {signed.refused[0]}")
        print(
            f"[demo] {school}: {sum(len(r) for r in demo.rosters.values())} học bạ ký và ban hành "
            f"trong {time.monotonic() - started:.0f} s"
        )
        for username, password, what in accounts:
            print(f"  {username:<24} {password:<24} {what}")
        print(f"  signing keys of the demo staff (PKCS#12, password hocba-demo): {pki.directory / 'holders' / school}")
        return EXIT_OK

    return with_runtime(settings, body)


async def _demo_accounts(runtime: Any, demo: Any) -> list[tuple[str, str, str]]:
    """Accounts on the demo school, to sign in with: (username, password or API key, what they do)."""
    from ledger.app.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, PRINCIPAL
    from ledger.school.accounts.commands import create_account
    from ledger.school.readmodels import school_ledger
    from ledger.school.rules.policy import AccountKind

    first_class = sorted(demo.rosters)[0]
    people = {
        **DEMO_ACCOUNTS,
        demo.homeroom[first_class]: ("STAFF", f"Giáo viên chủ nhiệm lớp {first_class}"),
        demo.subject_teachers["TOAN"]: ("STAFF", "Giáo viên bộ môn Toán"),
        f"phuhuynh.{first_class.lower()}": ("GUARDIAN", f"Cha mẹ học sinh {demo.names[demo.rosters[first_class][0]]}"),
        "so-gddt-ninhbinh": ("INTEGRATION", "Kho học bạ số của Sở (khóa API)"),
    }
    made = []
    ledger = school_ledger(runtime.engine(), clock=runtime.clock)
    for username, (kind, what) in people.items():
        integration = kind == "INTEGRATION"
        account = await create_account(
            ledger,
            demo.school,
            username,
            AccountKind(kind),
            student_id=demo.rosters[first_class][0] if kind == "GUARDIAN" else None,
            password=None if integration else DEMO_PASSWORD,
            actor=PRINCIPAL,  # the principal opens the demo's accounts, leaders' included (Điều 5.3c)
        )
        made.append((username, str(account.api_key) if integration else DEMO_PASSWORD, what))
    return made


def add_serve(commands: Any) -> None:
    serve = commands.add_parser("serve", help="run the HTTP service (migrates the database first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="service processes (one per core)")
    serve.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this certificate (PEM, with its chain)")
    serve.add_argument("--tls-key", metavar="FILE", help="the TLS certificate's private key (PEM)")
    serve.add_argument(
        "--client-ca", metavar="FILE", help="CA certificates (PEM) integration clients' certificates are verified with"
    )
    serve.set_defaults(handler=cmd_serve)


def add_db(commands: Any) -> None:
    db = commands.add_parser("db", help="database administration").add_subparsers(dest="db", required=True)
    db.add_parser("upgrade", help="apply the migrations").set_defaults(handler=cmd_db_upgrade)


def add_demo(commands: Any) -> None:
    demo_cmd = commands.add_parser(
        "demo", help="load the complete demo school year of THCS Khánh Phú, signed and issued"
    )
    demo_cmd.add_argument("--school", help="school id (default: khanh-phu)")
    demo_cmd.add_argument("--classes-per-grade", type=int, default=1)
    demo_cmd.add_argument("--students-per-class", type=int, default=8)
    demo_cmd.add_argument("--workers", type=int, default=2, help="processes that sign (default 2)")
    demo_cmd.set_defaults(handler=cmd_demo)
