"""The `hocba` command line. Errors are printed as one readable line; exit status 2 means the command
could not run (bad arguments, no database), 1 means it ran and found the ledger not intact."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from ledger.base.logs import configure_logging
from ledger.base.settings import Settings, load_settings

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

    runtime = open_runtime(settings, upgrade=True)
    where = "DATABASE_URL" if settings.database_url else f"embedded PostgreSQL in {settings.home / 'pgdata'}"
    print(f"hocba-ledger on http://{args.host}:{args.port}  (database: {where})", file=sys.stderr)
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
        )
    else:
        uvicorn.run(create_app(runtime), host=args.host, port=args.port, log_config=None)
    return EXIT_OK


def _with_runtime(settings: Settings, body: Callable[[Any], Awaitable[int]], *, upgrade: bool = True) -> int:
    from ledger.app.runtime import open_runtime

    runtime = open_runtime(settings, upgrade=upgrade)

    async def run() -> int:
        try:
            return await body(runtime)
        finally:
            await runtime.close()

    return asyncio.run(run())


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.app.db import AUDITOR_ROLE
    from ledger.log.verify import verify
    from signing.x509.certs import load_certificates

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
    from ledger.app.db import AUDITOR_ROLE
    from ledger.log.replay import replay

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
    from ledger.log.checkpointing import checkpoint_all, make_checkpoint

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
    from signing.x509.pki import Pki

    if settings.production:
        raise CliError("the demo PKI is for development only; HOCBA_ENV is production")
    root = Pki(settings.pki_dir).init_demo(force=args.force)
    print(f"demo PKI in {settings.pki_dir}: root {root.subject.rfc4514_string()}")
    return EXIT_OK


def cmd_pki_export_root(args: argparse.Namespace, settings: Settings) -> int:
    from cryptography.hazmat.primitives.serialization import Encoding

    from signing.x509.pki import Pki

    roots = Pki(settings.pki_dir).roots()
    Path(args.output).write_bytes(b"".join(r.public_bytes(Encoding.PEM) for r in roots))
    print(f"wrote the trusted root to {args.output}")
    return EXIT_OK


def _load_p12(path: str, password_stdin: bool) -> tuple[Any, Any, list[Any]]:
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


def cmd_pki_issue_demo(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import datetime

    from ledger.base.clock import VN_TZ
    from signing.x509.pki import Pki

    if settings.production:
        raise CliError("demo certificates are for development only; HOCBA_ENV is production")
    pki = Pki(settings.pki_dir)
    school = _required_school(args, settings)
    since = datetime.fromisoformat(args.valid_from).replace(tzinfo=VN_TZ) if args.valid_from else None
    if args.holder == "organisation":
        holder = pki.issue_demo_organisation(school, args.name, valid_from=since)
    else:
        holder = pki.issue_demo_personal(school, args.holder, args.name, valid_from=since)
    path = pki.save_holder(school, args.holder, holder)
    print(f"wrote {path} (PKCS#12; a demo certificate with no legal value)")
    return EXIT_OK


def cmd_pki_register(args: argparse.Namespace, settings: Settings) -> int:
    from cryptography import x509

    from ledger.school.signatures import register_certificate
    from signing.x509.certs import load_certificates
    from signing.x509.pki import Pki

    path = Path(args.cert)
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    if path.suffix.lower() in (".p12", ".pfx"):
        cert: x509.Certificate = _load_p12(str(path), args.password_stdin)[1]
    else:
        cert = load_certificates(path)[0]
    roots = Pki(settings.pki_dir).roots()
    return _ledger_command(
        settings, args, "pki register",
        lambda ledger, school, actor: register_certificate(ledger, school, actor, cert, roots), role="PRINCIPAL",
    )  # fmt: skip


def cmd_pki_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.signatures import revoke_certificate

    return _ledger_command(
        settings, args, "pki revoke",
        lambda ledger, school, actor: revoke_certificate(ledger, school, actor, args.fingerprint, args.reason),
        role="PRINCIPAL",
    )  # fmt: skip


def cmd_sign(args: argparse.Namespace, settings: Settings) -> int:
    """The reference signer: signs a prepared document with a PKCS#12 file, on the signer's machine."""
    from datetime import datetime

    from ledger.base.clock import VN_TZ
    from signing.xml import document as hocba_xml

    source, data = Path(args.file), _read_file(args.file)
    key, cert, chain = _load_p12(args.p12, args.password_stdin)
    now = datetime.now(VN_TZ)
    if data.lstrip().startswith(b"%PDF"):
        signed_pdf = asyncio.run(_sign_pdf(args, settings, data, key, cert, chain, now))
        Path(args.output).write_bytes(signed_pdf)
        who = cert.subject.rfc4514_string()
        print(f"signed {source} as {args.role} ({who}) at {now.isoformat(timespec='seconds')}: {args.output}")
        return EXIT_OK
    try:
        signed = hocba_xml.sign_prepared(data, key, cert, signing_time=now, chain=[c for c in chain if c != cert])
    except ValueError as exc:
        raise CliError(f"{source} is not a document prepared for signing: {exc}") from None
    Path(args.output).write_bytes(signed)
    print(f"signed {source} as {cert.subject.rfc4514_string()} at {now.isoformat(timespec='seconds')}: {args.output}")
    return EXIT_OK


async def _sign_pdf(
    args: argparse.Namespace, settings: Settings, data: bytes, key: Any, cert: Any, chain: list[Any], now: Any
) -> bytes:
    from cryptography.x509.oid import NameOID
    from pyhanko.sign.timestamps import HTTPTimeStamper

    from signing.pdf.document import local_time_stamper, sign_pdf
    from signing.x509.pki import Pki

    if args.role not in ("PRINCIPAL", "ORGANISATION"):
        raise CliError("a PDF học bạ is signed with --role PRINCIPAL (the principal) or ORGANISATION (the seal)")
    if args.tsa:
        stamper: Any = HTTPTimeStamper(args.tsa)
    else:
        print("timestamps from the demo time-stamping authority in HOCBA_HOME/pki (use --tsa URL)", file=sys.stderr)
        stamper = local_time_stamper(Pki(settings.pki_dir))
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return await sign_pdf(
        data, key, cert, chain=[c for c in chain if c != cert],
        appearance="principal" if args.role == "PRINCIPAL" else "seal", role=args.role,
        signer_name=str(names[0].value) if names else "", signing_time=now, time_stamper=stamper,
        field_name="HieuTruong" if args.role == "PRINCIPAL" else "DongDau",
    )  # fmt: skip


def cmd_verify_file(args: argparse.Namespace, settings: Settings) -> int:
    from cryptography import x509

    from signing.verify_file import verify_file
    from signing.x509.certs import load_certificates

    source, data = Path(args.file), _read_file(args.file)
    roots = load_certificates(Path(args.trust))
    crls = []
    if args.crl:
        raw = Path(args.crl).read_bytes()
        crls = [x509.load_pem_x509_crl(raw) if b"-----BEGIN" in raw else x509.load_der_x509_crl(raw)]
    report = asyncio.run(verify_file(data, roots, crls))
    if args.json:
        _print_json(report.to_json())
    else:
        doc = report.to_json()
        print(f"{source}: {doc['result_vi']} / {doc['result_en']}")
        for s in report.signatures:
            mark = "OK " if s.ok else "BAD"
            print(f"  {mark} {s.role or '?'} {s.signer} {s.signing_time or '?'} covers {', '.join(s.parts)}")
            for finding in s.findings:
                print(f"      {finding.vi} / {finding.en}")
        for finding in report.findings:
            print(f"  {finding.vi} / {finding.en}")
    return EXIT_OK if report.ok else EXIT_NOT_INTACT


def cmd_issue(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.app.runtime import Runtime
    from ledger.school.issuance import issue

    keys = Runtime(settings, "")

    async def work(ledger: Any, school: str, actor: Any) -> Any:
        roots, crls, signer = keys.trusted_roots(), keys.crls(), keys.signer(school)
        return [await issue(ledger, school, actor, args.year, args.student, roots, crls, signer)]

    return _ledger_command(settings, args, "issue", work, role="CLERK")


def cmd_issued_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.issuance import revoke

    return _ledger_command(
        settings, args, "issued revoke",
        lambda ledger, school, actor: _one(revoke(ledger, school, actor, args.id, args.reason)), role="PRINCIPAL",
    )  # fmt: skip


async def _one(event: Awaitable[Any]) -> list[Any]:
    return [await event]


def _listing(
    settings: Settings,
    args: argparse.Namespace,
    table: Any,
    item: Callable[[dict[str, Any]], dict[str, Any]],
    columns: Sequence[str],
) -> int:
    """Print a projection's rows of the school, read with the auditor role: JSON, or one line each."""
    from ledger.app.db import AUDITOR_ROLE
    from ledger.log.projection import read

    school = _required_school(args, settings)

    async def body(runtime: Any) -> int:
        async with runtime.engine(AUDITOR_ROLE).connect() as conn:
            items = [item(row) for row in await read(conn, table, school)]
        if args.json:
            _print_json(items)
        else:
            for entry in items:
                print("  ".join(str(entry[column]) for column in columns))
        return EXIT_OK

    return _with_runtime(settings, body)


def cmd_issued_list(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.issuance import issued

    def item(r: dict[str, Any]) -> dict[str, Any]:
        return {"id": r["issuance_id"], "student": r["student_id"], "year": r["year"], "class": r["class_id"],
                "status": r["status"], "issued_on": r["issued_on"], "xml_sha256": r["xml_sha256"],
                "pdf_sha256": r["pdf_sha256"], "replaces": r["replaces"], "replaced_by": r["replaced_by"],
                "origin_school": r["origin_school"]}  # fmt: skip

    return _listing(settings, args, issued, item, ["id", "student", "year", "status"])


def cmd_issued_code(args: argparse.Namespace, settings: Settings) -> int:
    """The verification code of an issued học bạ, for the clerk to give the family with the files."""
    from api.security import token_secret
    from ledger.app.db import AUDITOR_ROLE
    from ledger.log.projection import read
    from ledger.school.issuance import issued, lookup_code

    school = _required_school(args, settings)

    async def body(runtime: Any) -> int:
        async with runtime.engine(AUDITOR_ROLE).connect() as conn:
            if not await read(conn, issued, school, issuance_id=args.id):
                raise CliError(f"no issued học bạ {args.id!r} in school {school}")
        print(lookup_code(token_secret(settings), school, args.id))
        return EXIT_OK

    return _with_runtime(settings, body)


def _write_output(
    settings: Settings, args: argparse.Namespace, produce: Callable[[Any, str, Any], Awaitable[bytes]], what: str
) -> int:
    """Read with the auditor role, write the bytes `produce(conn, school, runtime)` returns to --output."""
    from ledger.app.db import AUDITOR_ROLE

    school = _required_school(args, settings)
    content: list[bytes] = []

    async def body(runtime: Any) -> int:
        async with runtime.engine(AUDITOR_ROLE).connect() as conn:
            content.append(await produce(conn, school, runtime))
        return EXIT_OK

    status = _with_runtime(settings, body)
    Path(args.output).write_bytes(content[0])
    print(f"wrote {args.output} ({len(content[0])} bytes, {what})")
    return status


def cmd_issued_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write the exact stored bytes of an issued học bạ."""
    from ledger.log.projection import read
    from ledger.school.issuance import issued, stored

    async def produce(conn: Any, school: str, runtime: Any) -> bytes:
        rows = await read(conn, issued, school, issuance_id=args.id)
        if not rows:
            raise CliError(f"no issued học bạ {args.id!r} in school {school}")
        return await stored(conn, school, rows[0][f"{args.format}_sha256"])

    return _write_output(settings, args, produce, f"the issued {args.format.upper()}")


def cmd_signing_prepare(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.signatures import prepare

    async def produce(conn: Any, school: str, runtime: Any) -> bytes:
        today = runtime.clock.now().date()
        prepared = await prepare(conn, school, args.year, args.student, args.role, args.subject, today)
        return bytes(prepared["document"])

    return _write_output(settings, args, produce, f"sign it with 'hocba sign {args.output} --p12 … -o SIGNED.xml'")


def cmd_transfer_open(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.transfers import open_transfer

    def work(ledger: Any, school: str, actor: Any) -> Any:
        departure = args.date or date.today().isoformat()
        return _one(open_transfer(ledger, school, actor, args.student, departure=departure,
                                  to_school=args.to_school, year=args.year))  # fmt: skip

    return _ledger_command(settings, args, "transfer open", work, role="CLERK")


def cmd_transfer_paper(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.transfers import open_paper
    from signing.transfer import Scan

    scans = []
    for item in args.scan:
        year, _, name = item.partition("=")
        path = Path(name)
        if not name or not path.is_file():
            raise CliError(f"--scan takes YEAR=FILE with an existing file, not {item!r}")
        kinds = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
        if path.suffix.lower() not in kinds:
            raise CliError(f"{path}: a scanned page is a .pdf, .png or .jpg file")
        scans.append(Scan(year, kinds[path.suffix.lower()], path.read_bytes()))

    def work(ledger: Any, school: str, actor: Any) -> Any:
        arrival = args.date or date.today().isoformat()
        return _one(open_paper(ledger, school, actor, args.student, arrival=arrival,
                               from_school=args.from_school, scans=scans))  # fmt: skip

    return _ledger_command(settings, args, "transfer paper", work, role="CLERK")


def cmd_transfer_prepare(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.transfers import prepare

    async def produce(conn: Any, school: str, runtime: Any) -> bytes:
        return await prepare(conn, school, args.id, args.role)

    return _write_output(settings, args, produce, f"sign it with 'hocba sign {args.output} --p12 … -o SIGNED.xml'")


def cmd_transfer_submit(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.app.runtime import Runtime
    from ledger.school.transfers import submit

    data = _read_file(args.file)
    keys = Runtime(settings, "")

    def work(ledger: Any, school: str, actor: Any) -> Any:
        return _one(submit(ledger, school, actor, args.id, data, keys.trusted_roots(), keys.crls()))

    return _ledger_command(settings, args, "transfer submit", work, role=args.role)


def cmd_transfer_export(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.transfers import sealed_record

    async def produce(conn: Any, school: str, runtime: Any) -> bytes:
        return await sealed_record(conn, school, args.id)

    return _write_output(settings, args, produce, "the sealed transfer record")


def cmd_transfer_import(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.app.runtime import Runtime
    from ledger.school.transfers import receive
    from signing.x509.certs import load_certificates

    data = _read_file(args.file)
    keys = Runtime(settings, "")
    roots = load_certificates(Path(args.trust)) if args.trust else keys.trusted_roots()

    def work(ledger: Any, school: str, actor: Any) -> Any:
        return receive(ledger, school, actor, data, year=args.year, class_id=args.class_id, since=args.since,
                       trusted_roots=roots, crls=keys.crls())  # fmt: skip

    return _ledger_command(settings, args, "transfer import", work, role="CLERK")


def cmd_transfer_list(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.transfers import transfers

    def item(r: dict[str, Any]) -> dict[str, Any]:
        return {"id": r["transfer_id"], "student": r["student_id"], "direction": r["direction"], "kind": r["kind"],
                "date": r["departure"], "year": r["year"], "other_school": r["other_school"], "status": r["status"],
                "record_sha256": r["record_sha256"]}  # fmt: skip

    return _listing(settings, args, transfers, item, ["id", "student", "direction", "kind", "status"])


def _read_file(name: str) -> bytes:
    path = Path(name)
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    return path.read_bytes()


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """The complete demo year of THCS Khánh Phú, signed and issued, with accounts to try it with."""
    from ledger.app.db import AUDITOR_ROLE
    from ledger.app.demo import DEMO_SCHOOL, build_complete_demo
    from ledger.log.projection import read
    from ledger.school.schools import schools
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
        demo = await build_complete_demo(
            runtime.url, school, pki, classes_per_grade=args.classes_per_grade,
            students_per_class=args.students_per_class, workers=args.workers,
            progress=lambda message: print(f"[demo] {message}", flush=True),
        )  # fmt: skip
        accounts = await _demo_accounts(runtime, demo)
        print(f"[demo] {school}: {sum(len(r) for r in demo.rosters.values())} học bạ ký và ban hành "
              f"trong {time.monotonic() - started:.0f} s")  # fmt: skip
        for username, password, what in accounts:
            print(f"  {username:<24} {password:<24} {what}")
        print(f"  signing keys of the demo staff (PKCS#12, password hocba-demo): {pki.directory / 'holders' / school}")
        return EXIT_OK

    return _with_runtime(settings, body)


async def _demo_accounts(runtime: Any, demo: Any) -> list[tuple[str, str, str]]:
    """Accounts on the demo school, to sign in with: (username, password or API key, what they do)."""
    from api.security import create_account
    from ledger.app.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
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
    for username, (kind, what) in people.items():
        integration = kind == "INTEGRATION"
        account = await create_account(
            runtime.engine(), demo.school, username, AccountKind(kind),
            student_id=demo.rosters[first_class][0] if kind == "GUARDIAN" else None,
            password=None if integration else DEMO_PASSWORD, now=runtime.clock.now(),
        )  # fmt: skip
        made.append((username, str(account.api_key) if integration else DEMO_PASSWORD, what))
    return made


def cmd_signing_prepare_sheet(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.class_sheets import prepare

    async def produce(conn: Any, school: str, runtime: Any) -> bytes:
        today = runtime.clock.now().date()
        return await prepare(conn, school, args.year, args.class_id, args.subject, args.term, today)

    return _write_output(settings, args, produce, f"sign it with 'hocba sign {args.output} --p12 … -o SIGNED.xml'")


def cmd_signing_submit_sheet(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.app.runtime import Runtime
    from ledger.school.class_sheets import submit

    data = _read_file(args.file)
    keys = Runtime(settings, "")

    def work(ledger: Any, school: str, actor: Any) -> Any:
        return _one(submit(ledger, school, actor, args.year, args.class_id, args.subject, args.term, data,
                           keys.trusted_roots(), keys.crls()))  # fmt: skip

    return _ledger_command(settings, args, "signing submit-sheet", work, role="SUBJECT_TEACHER")


def _backup_key(args: argparse.Namespace) -> Any:
    from ledger.app.backup import BackupKey, configured_key

    if args.passphrase_env:
        value = os.environ.get(args.passphrase_env)
        if not value:
            raise CliError(f"the passphrase variable {args.passphrase_env} is empty or not set")
        return BackupKey(passphrase=value.encode())
    key = BackupKey.from_file(Path(args.key_file)) if args.key_file else configured_key()
    if key is None:
        raise CliError("give --key-file (or HOCBA_BACKUP_KEY_FILE), or --passphrase-env VAR; "
                       "'hocba backup-key -o FILE' makes a key")  # fmt: skip
    return key


def _destinations(names: list[str] | None) -> list[Any]:
    from ledger.app.backup import LocalDirectory, configured_destinations

    return [LocalDirectory(Path(d)) for d in names] if names else configured_destinations()


def cmd_backup_key(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.app.backup import write_new_key

    write_new_key(Path(args.output))
    print(f"wrote {args.output}: keep a copy apart from the backups; without it they cannot be restored")
    return EXIT_OK


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    """Checkpoint, dump, encrypt and store a backup in every destination (Điều 20.4, 28.1)."""
    from ledger.app.backup import create_backup

    key, destinations = _backup_key(args), _destinations(args.to)
    if not destinations:
        raise CliError("name the destinations with --to DIR (twice or more) or HOCBA_BACKUP_DIRS")
    if len(destinations) < 2:
        print("warning: one destination only; keep backups in two or more separate places", file=sys.stderr)

    async def body(runtime: Any) -> int:
        made = await create_backup(runtime, destinations, key, keep=args.keep)
        if args.json:
            _print_json(made)
        else:
            print(f"{made['file']}: {made['dump']['bytes']} bytes dumped, {len(made['checkpoints'])} checkpoints, "
                  f"in {', '.join(made['destinations'])}")  # fmt: skip
        return EXIT_OK

    return _with_runtime(settings, body)


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    """Restore a backup into an empty database; verify; prove it extends every checkpoint held outside."""
    from ledger.app.backup import manifests, newest_outside, restore_backup
    from signing.x509.certs import load_certificates
    from signing.x509.pki import Pki

    data, key = _read_file(args.file), _backup_key(args)
    name = Path(args.file).name
    others = [m for m in manifests(_destinations(args.from_dirs)) if m.get("file") != name]
    documents = []
    for path in args.checkpoint or []:
        doc = json.loads(_read_file(path))
        documents += doc if isinstance(doc, list) else [doc]
    roots = load_certificates(Path(args.trust)) if args.trust else Pki(settings.pki_dir).roots()
    report = asyncio.run(restore_backup(data, key, args.into, roots, newest_outside(others, documents)))
    if args.json:
        _print_json(report)
    else:
        events = ", ".join(f"{log}: {v['events']} events" for log, v in report["verified"].items())
        print(f"restored {name} into the target database and verified it ({events}); "
              f"it extends {len(report['consistency'])} checkpoints held outside it")  # fmt: skip
    return EXIT_OK


def cmd_signing_submit(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.signatures import submit

    data = _read_file(args.file)

    async def work(ledger: Any, school: str, actor: Any) -> Any:
        from ledger.app.runtime import Runtime

        keys = Runtime(settings, "")
        return [await submit(ledger, school, actor, args.year, args.student, data, keys.trusted_roots(), keys.crls())]

    return _ledger_command(settings, args, "signing submit", work, role=args.role)


def _required_school(args: argparse.Namespace, settings: Settings) -> str:
    school = _school(args, settings)
    if not school:
        raise CliError("name the school with --school or HOCBA_SCHOOL")
    return school


async def _record_cli(
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


def _ledger_command(
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
    from ledger.log.append import Ledger
    from ledger.school.rules.roles import Role

    school = _required_school(args, settings)
    actor = Actor(getattr(args, "actor", None) or f"cli.{getpass.getuser()}", Role(role))

    async def body(runtime: Any) -> int:
        try:
            result = await work(Ledger(runtime.engine(), clock=runtime.clock), school, actor)
        except DomainError as refused:
            await _record_cli(runtime, school, str(actor.user), [role], command, refused)
            raise
        await _record_cli(runtime, school, str(actor.user), [role], command)
        doc = result.to_json() if hasattr(result, "to_json") else {"appended": len(result)}
        if args.json:
            _print_json(doc)
        else:
            print(" ".join(f"{k}={v}" for k, v in doc.items()))
        return EXIT_OK

    return _with_runtime(settings, body)


def cmd_school_register(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.schools import registration

    async def work(ledger: Any, school: str, actor: Any) -> Any:
        details = {"ministry_code": args.ministry_code, "province": args.province, "address": args.address}
        return await ledger.append(school, [registration(args.name, actor, **details)])

    return _ledger_command(settings, args, "school register", work)


def cmd_year_open(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.years import open_year

    return _ledger_command(
        settings, args, "year open", lambda ledger, school, actor: open_year(
            ledger, school, actor, args.year, args.starts, args.ends
        ),
    )  # fmt: skip


def cmd_catalogue_load(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.years import default_catalogue, define_subjects, parse_subject

    if args.file:
        doc = json.loads(Path(args.file).read_text(encoding="utf-8"))
        definitions = [parse_subject(item, f"{Path(args.file).name}[{i}]") for i, item in enumerate(doc)]
    else:
        definitions = default_catalogue()
    return _ledger_command(
        settings, args, "catalogue load",
        lambda ledger, school, actor: define_subjects(ledger, school, actor, args.year, definitions),
    )  # fmt: skip


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.imports import sector as importer

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"no such file: {path}")

    async def work(ledger: Any, school: str, actor: Any) -> Any:
        if args.kind == "students":
            return await importer.import_students(ledger, school, actor, path, args.year)
        run = importer.import_staff if args.kind == "staff" else importer.import_assignments
        return await run(ledger, school, actor, path)

    return _ledger_command(settings, args, f"import {args.kind}", work)


def _gradebook(args: argparse.Namespace) -> Any:
    from ledger.school.imports.gradebook import read_gradebook

    path = Path(args.file)
    return read_gradebook(_read_file(args.file), path.name, sheet=args.sheet, preset=args.preset)


class _Plan:
    """An import's plan: in full with --json, else its counts (the cells that change are listed first)."""

    def __init__(self, plan: dict[str, Any], full: bool) -> None:
        self.plan, self.full = plan, full

    def to_json(self) -> dict[str, Any]:
        if self.full:
            return self.plan
        p = self.plan
        return {**p["counts"], "proposals": len(p["proposals"]), "appended": p["appended"], "dry_run": p["dry_run"]}


def cmd_import_sheet(args: argparse.Namespace, settings: Settings) -> int:
    """One class × subject × term sheet from the school-management software: dry run, or commit."""
    from ledger.school.imports.gradebook import import_sheet
    from ledger.school.years import current_year

    book = _gradebook(args)

    async def work(ledger: Any, school: str, actor: Any) -> Any:
        async with ledger.engine.connect() as conn:
            year = args.year or await current_year(conn, school, ledger.clock.now().date())
        plan = await import_sheet(ledger, school, actor, book, year=year, class_id=args.class_id,
                                  subject=args.subject, term=args.term, dry_run=args.dry_run)  # fmt: skip
        if not args.json:
            for cell in plan["cells"]:
                if cell["status"] != "unchanged":
                    slot = f" {cell['slot']}" if cell["slot"] else ""
                    print(f"dòng {cell['row']} cột {cell['column']}  {cell['student']}  {cell['kind']}{slot}: "
                          f"{cell['status']} {cell['ledger'] or '-'} → {cell['file']}")  # fmt: skip
            if plan["deadline"]:
                print(f"{plan['deadline']['vi']} / {plan['deadline']['en']}")
        return _Plan(plan, args.json)

    return _ledger_command(settings, args, "import sheet", work, role="SUBJECT_TEACHER")


def cmd_import_reconcile(args: argparse.Namespace, settings: Settings) -> int:
    """The IT teacher's reconciliation of the ledger against the source file (Điều 18.2)."""
    from ledger.app.db import AUDITOR_ROLE
    from ledger.school.imports.gradebook import reconcile
    from ledger.school.years import current_year

    book = _gradebook(args)
    school = _required_school(args, settings)

    async def body(runtime: Any) -> int:
        async with runtime.engine(AUDITOR_ROLE).connect() as conn:
            year = args.year or await current_year(conn, school, runtime.clock.now().date())
            report = await reconcile(conn, school, book, year=year, class_id=args.class_id,
                                     subject=args.subject, term=args.term)  # fmt: skip
        if args.json:
            _print_json(report)
        else:
            print(f"{report['file']} ({report['class']} {report['subject']} HK{report['term']}): "
                  f"{'khớp / matches' if report['ok'] else 'có sai lệch / differences'}")  # fmt: skip
            print("  " + "  ".join(f"{k}={v}" for k, v in report["counts"].items()))
            for key in ("missing", "in_file_not_enrolled", "enrolled_not_in_file", "mismatches"):
                for item in report[key]:
                    print(f"  {key}: " + " ".join(f"{k}={v}" for k, v in item.items() if v is not None))
        return EXIT_OK if report["ok"] else EXIT_NOT_INTACT

    return _with_runtime(settings, body)


def cmd_calendar_set(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.calendar import calendar_from, set_calendar

    changes: dict[str, Any] = {}
    if args.file:
        try:
            changes = json.loads(Path(args.file).read_text(encoding="utf-8"))
        except ValueError as exc:
            raise CliError(f"{args.file} is not valid JSON: {exc}") from None
    return _ledger_command(
        settings, args, "calendar set",
        lambda ledger, school, actor: set_calendar(
            ledger, school, actor, calendar_from(args.year, args.order, changes)
        ),
        role="PRINCIPAL",
    )  # fmt: skip


def cmd_lock(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.calendar import ANY, LockScope, set_lock

    scope = LockScope(args.year, args.class_id or ANY, (args.subject or ANY).upper(), args.term or 0)
    return _ledger_command(
        settings, args, f"lock {args.state}",
        lambda ledger, school, actor: set_lock(
            ledger, school, actor, scope, closed=args.state == "close", order=args.order, ordered_by=args.ordered_by
        ),
    )  # fmt: skip


def cmd_jobs(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.app.jobs import deadline_transitions, nightly_verification

    schools = [args.school] if args.school else None

    async def body(runtime: Any) -> int:
        if args.job == "deadlines":
            events = await deadline_transitions(runtime, schools)
            _print_json([{"school": e.school, "seq": e.seq, "type": e.type, **e.payload} for e in events])
            return EXIT_OK
        results = await nightly_verification(runtime, schools)
        _print_json(results)
        return EXIT_OK if all(r["ok"] for r in results) else EXIT_NOT_INTACT

    return _with_runtime(settings, body)


def cmd_assess_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.rules.evaluation import evaluate

    try:
        doc = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except ValueError as exc:
        raise CliError(f"{args.file} is not valid JSON: {exc}") from None
    _print_json(evaluate(doc))
    return EXIT_OK


def cmd_transcript(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.app.db import AUDITOR_ROLE
    from ledger.school.transcripts import class_summary, load_student_year

    school = _required_school(args, settings)

    async def body(runtime: Any) -> int:
        async with runtime.engine(AUDITOR_ROLE).connect() as conn:
            if args.command == "transcript":
                view: Any = await load_student_year(conn, school, args.year, args.student, args.as_of)
            else:
                view = await class_summary(conn, school, args.year, args.class_id, args.as_of)
        _print_json(view.to_json())
        return EXIT_OK

    return _with_runtime(settings, body)


def cmd_account_create(args: argparse.Namespace, settings: Settings) -> int:
    from api.security import create_account
    from ledger.school.rules.policy import AccountKind

    school = _required_school(args, settings)
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None

    async def body(runtime: Any) -> int:
        made = await create_account(
            runtime.engine(), school, args.username, AccountKind(args.kind.upper()),
            staff_id=args.staff_id, student_id=args.student_id, password=password, now=runtime.clock.now(),
        )  # fmt: skip
        doc = {"username": made.username, "kind": made.kind.value}
        if made.password:
            doc["password"] = made.password
        if made.api_key:
            doc["api_key"] = made.api_key
        _print_json(doc)
        return EXIT_OK

    return _with_runtime(settings, body)


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    """Mint an access token for a script on the server machine; the minting is itself recorded."""
    from api.security import Tokens, load_principal, token_secret

    school = _required_school(args, settings)

    async def body(runtime: Any) -> int:
        from api.security import _account
        from ledger.school.rules.policy import AccountKind

        async with runtime.engine().connect() as conn:
            account = await _account(conn, school, args.username)
            if account is None or account["disabled"]:
                raise CliError(f"no active account {args.username!r} in school {school}")
            kind = AccountKind(account["kind"])
            principal = await load_principal(conn, school, args.username, kind, runtime.clock.now().date())
        token, expires = Tokens(token_secret(settings), runtime.clock).issue(args.username, school, kind)
        await _record_cli(runtime, school, args.username, sorted(r.value for r in principal.roles), "token")
        if args.json:
            _print_json({"access_token": token, "token_type": "Bearer", "expires_at": expires.isoformat()})
        else:
            print(token)
        return EXIT_OK

    return _with_runtime(settings, body)


# --- parser ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hocba", description="hocba-ledger: the học bạ số ledger service")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the HTTP service (migrates the database first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="service processes (one per core)")
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

    def school_option(parser: argparse.ArgumentParser, actor: str | None = None) -> None:
        parser.add_argument("--school", help="school id (default: HOCBA_SCHOOL)")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")
        if actor:
            parser.add_argument("--actor", required=True, help=f"the staff id of the {actor} acting")
        else:
            parser.add_argument("--actor", help="who is recorded as acting (default: cli.<login>)")

    school = commands.add_parser("school", help="the school").add_subparsers(dest="school_cmd", required=True)
    register = school.add_parser("register", help="register the school (or change its details)")
    school_option(register)
    register.add_argument("--name", required=True)
    register.add_argument("--ministry-code")
    register.add_argument("--province")
    register.add_argument("--address")
    register.set_defaults(handler=cmd_school_register)

    year = commands.add_parser("year", help="school years").add_subparsers(dest="year_cmd", required=True)
    open_year = year.add_parser("open", help="open a school year")
    school_option(open_year)
    open_year.add_argument("--year", required=True, help="e.g. 2025-2026")
    open_year.add_argument("--starts", required=True, help="first day, e.g. 2025-09-05")
    open_year.add_argument("--ends", required=True, help="last day, e.g. 2026-05-31")
    open_year.set_defaults(handler=cmd_year_open)

    catalogue = commands.add_parser("catalogue", help="the subject catalogue").add_subparsers(dest="cat", required=True)
    load = catalogue.add_parser("load", help="define the year's subjects (default: the GDPT 2018 catalogue)")
    school_option(load)
    load.add_argument("--year", required=True)
    load.add_argument("--file", help="a JSON catalogue (docs/IMPORT.md)")
    load.set_defaults(handler=cmd_catalogue_load)

    imports = commands.add_parser("import", help="bulk import: the sector database, gradebook sheets").add_subparsers(
        dest="imp", required=True
    )
    for kind, text in (
        ("staff", "staff"),
        ("students", "students (and enrolments with --year)"),
        ("assignments", "assignments"),
    ):
        command = imports.add_parser(kind, help=f"import {text} from CSV or JSON")
        school_option(command)
        command.add_argument("file", metavar="FILE")
        command.add_argument(
            "--year", help="school year of the class column" if kind == "students" else argparse.SUPPRESS
        )
        command.set_defaults(handler=cmd_import, kind=kind)
    for name, text, handler in (
        ("sheet", "import one class × subject × term sheet (XLSX, CSV, XML) from the school-management software",
         cmd_import_sheet),
        ("reconcile", "reconcile the ledger against a source sheet (Điều 18.2)", cmd_import_reconcile),
    ):  # fmt: skip
        command = imports.add_parser(name, help=text)
        school_option(command, "subject teacher" if name == "sheet" else None)
        command.add_argument("file", metavar="FILE")
        command.add_argument("--year", help="school year (default: the current one)")
        command.add_argument("--class", dest="class_id", required=True)
        command.add_argument("--subject", required=True, help="catalogue code, e.g. TOAN")
        command.add_argument("--term", required=True, type=int, choices=[1, 2])
        command.add_argument("--sheet", help="the workbook's sheet (default: the first)")
        command.add_argument("--preset", choices=["smas", "vnedu", "hocba"], help="column layout (default: detected)")
        if name == "sheet":
            command.add_argument("--dry-run", action="store_true", help="show what would change; append nothing")
        command.set_defaults(handler=handler)

    calendar = commands.add_parser("calendar", help="the school calendar").add_subparsers(dest="cal", required=True)
    set_cal = calendar.add_parser(
        "set", help="set a year's calendar: the usual one (close 31 May, final 30 August) or changes from a file"
    )
    school_option(set_cal, "principal")
    set_cal.add_argument("--year", required=True)
    set_cal.add_argument("--order", required=True, help="the principal's decision, e.g. 'Quyết định số 15/QĐ-THCS'")
    set_cal.add_argument("--file", help="JSON of the parts that differ: terms, entry, close, final (docs/DEADLINES.md)")
    set_cal.set_defaults(handler=cmd_calendar_set)

    lock = commands.add_parser("lock", help="close or open entry on the principal's order").add_subparsers(
        dest="state", required=True
    )
    for state in ("close", "open"):
        command = lock.add_parser(state, help=f"{state} entry for the school, a class, a subject or a term")
        school_option(command, "admin")
        command.add_argument("--year", required=True)
        command.add_argument("--class", dest="class_id", help="only this class")
        command.add_argument("--subject", help="only this subject")
        command.add_argument("--term", type=int, choices=[1, 2], help="only this term")
        command.add_argument("--order", required=True, help="the principal's written order")
        command.add_argument("--ordered-by", required=True, help="the principal's staff id")
        command.set_defaults(handler=cmd_lock)

    jobs = commands.add_parser("jobs", help="run a scheduled job now").add_subparsers(dest="job", required=True)
    for name, text in (
        ("deadlines", "record passed deadlines and expire pending correction requests"),
        ("verification", "verify ledgers and access trails, storing results and alerts"),
    ):
        command = jobs.add_parser(name, help=text)
        command.add_argument("--school", help="only this school (default: every school)")
        command.set_defaults(handler=cmd_jobs, job=name)

    assess = commands.add_parser("assess", help="the TT22 assessment rules").add_subparsers(
        dest="assess", required=True
    )
    evaluate = assess.add_parser("evaluate", help="evaluate one student's year from a JSON file (docs/ASSESSMENT.md)")
    evaluate.add_argument("file", metavar="FILE.json")
    evaluate.set_defaults(handler=cmd_assess_evaluate)

    transcript = commands.add_parser("transcript", help="one student's year, evaluated, as JSON")
    transcript.add_argument("--school")
    transcript.add_argument("--year", required=True)
    transcript.add_argument("--student", required=True, help="personal identifier")
    transcript.add_argument("--as-of", type=int, metavar="SEQ", help="as it stood at this seq")
    transcript.set_defaults(handler=cmd_transcript)

    summary = commands.add_parser("class-summary", help="a class's lists (Điều 33.6, 34.4), as JSON")
    summary.add_argument("--school")
    summary.add_argument("--year", required=True)
    summary.add_argument("--class", dest="class_id", required=True)
    summary.add_argument("--as-of", type=int, metavar="SEQ")
    summary.set_defaults(handler=cmd_transcript)

    account = commands.add_parser("account", help="accounts").add_subparsers(dest="account_cmd", required=True)
    create = account.add_parser("create", help="create an account; prints a generated password or API key once")
    school_option(create)
    create.add_argument("--username", required=True)
    create.add_argument("--kind", required=True, choices=["staff", "auditor", "integration", "guardian", "student"])
    create.add_argument("--staff-id", help="for staff: the staff id (default: the username)")
    create.add_argument("--student-id", help="for guardians and students: the personal identifier")
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    create.set_defaults(handler=cmd_account_create)

    token = commands.add_parser("token", help="mint a short-lived access token for a script on this machine")
    school_option(token)
    token.add_argument("--username", required=True)
    token.set_defaults(handler=cmd_token)

    sign = commands.add_parser(
        "sign", help="sign a prepared XML or PDF học bạ with a PKCS#12 file (the reference signer)"
    )
    sign.add_argument("file", metavar="FILE")
    sign.add_argument("--p12", required=True, help="the signer's certificate and key")
    sign.add_argument("--password-stdin", action="store_true", help="read the PKCS#12 password from standard input")
    sign.add_argument("-o", "--output", required=True, metavar="OUT")
    sign.add_argument("--role", choices=["PRINCIPAL", "ORGANISATION"], help="for a PDF: the principal or the seal")
    sign.add_argument("--tsa", metavar="URL", help="for a PDF: the RFC 3161 time-stamping authority")
    sign.set_defaults(handler=cmd_sign)

    verify_file = commands.add_parser("verify-file", help="verify a signed XML or PDF học bạ offline (Điều 15)")
    verify_file.add_argument("file", metavar="FILE")
    verify_file.add_argument("--trust", required=True, metavar="ROOT.pem", help="the trusted root certificate")
    verify_file.add_argument("--crl", metavar="CRL", help="the issuer's certificate revocation list (PEM or DER)")
    verify_file.add_argument("--json", action="store_true", help="print the report as JSON")
    verify_file.set_defaults(handler=cmd_verify_file)

    issue_cmd = commands.add_parser("issue", help="issue one student's signed học bạ for a year (the clerk)")
    school_option(issue_cmd, "clerk")
    issue_cmd.add_argument("--year", required=True)
    issue_cmd.add_argument("--student", required=True)
    issue_cmd.set_defaults(handler=cmd_issue)
    issued_cmd = commands.add_parser("issued", help="issued học bạ").add_subparsers(dest="issued", required=True)
    listing = issued_cmd.add_parser("list", help="id, personal identifier, year and status of each issued học bạ")
    listing.add_argument("--school")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_issued_list)
    export = issued_cmd.add_parser("export", help="write the exact stored bytes of an issued học bạ")
    export.add_argument("--school")
    export.add_argument("id", metavar="ID")
    export.add_argument("--format", required=True, choices=["xml", "pdf"])
    export.add_argument("-o", "--output", required=True)
    export.set_defaults(handler=cmd_issued_export)
    code = issued_cmd.add_parser("code", help="the verification code to give the family with the files")
    code.add_argument("--school")
    code.add_argument("id", metavar="ID")
    code.set_defaults(handler=cmd_issued_code)
    revoke_issued = issued_cmd.add_parser("revoke", help="revoke an issued học bạ before the close (Điều 25.3)")
    school_option(revoke_issued, "principal")
    revoke_issued.add_argument("id", metavar="ID")
    revoke_issued.add_argument("--reason", required=True)
    revoke_issued.set_defaults(handler=cmd_issued_revoke)

    backup_cmd = commands.add_parser("backup", help="an encrypted backup in every destination (Điều 20.4)")
    backup_cmd.add_argument(
        "--to", action="append", metavar="DIR", help="a destination; repeat (default: HOCBA_BACKUP_DIRS)"
    )
    backup_cmd.add_argument("--keep", type=int, default=14, help="backups kept per destination (default 14)")
    backup_cmd.add_argument("--json", action="store_true")
    key_cmd = commands.add_parser("backup-key", help="write a new random backup key")
    key_cmd.add_argument("-o", "--output", required=True)
    key_cmd.set_defaults(handler=cmd_backup_key)
    restore_cmd = commands.add_parser("restore", help="restore a backup into an empty database, verified")
    restore_cmd.add_argument("file", metavar="BACKUP.hbk")
    restore_cmd.add_argument("--into", required=True, metavar="URL", help="the empty target database")
    restore_cmd.add_argument(
        "--from", dest="from_dirs", action="append", metavar="DIR",
        help="destinations whose other backups' checkpoints it must extend (default: HOCBA_BACKUP_DIRS)",
    )  # fmt: skip
    restore_cmd.add_argument("--checkpoint", action="append", metavar="FILE", help="a checkpoint kept elsewhere (JSON)")
    restore_cmd.add_argument("--trust", help="trusted root certificates, PEM (default: this installation's)")
    restore_cmd.add_argument("--json", action="store_true")
    for command in (backup_cmd, restore_cmd):
        command.add_argument("--key-file", help="the backup key (default: HOCBA_BACKUP_KEY_FILE)")
        command.add_argument("--passphrase-env", metavar="VAR", help="read a passphrase from this variable instead")
    backup_cmd.set_defaults(handler=cmd_backup)
    restore_cmd.set_defaults(handler=cmd_restore)

    demo_cmd = commands.add_parser(
        "demo", help="load the complete demo school year of THCS Khánh Phú, signed and issued"
    )
    demo_cmd.add_argument("--school", help="school id (default: khanh-phu)")
    demo_cmd.add_argument("--classes-per-grade", type=int, default=1)
    demo_cmd.add_argument("--students-per-class", type=int, default=8)
    demo_cmd.add_argument("--workers", type=int, default=2, help="processes that sign (default 2)")
    demo_cmd.set_defaults(handler=cmd_demo)

    transfer = commands.add_parser("transfer", help="transfer records between schools (Điều 26)").add_subparsers(
        dest="transfer", required=True
    )
    opening = transfer.add_parser("open", help="open the record of a student leaving for another school")
    school_option(opening, "clerk or principal")
    opening.add_argument("--student", required=True, help="personal identifier")
    opening.add_argument("--year", help="mid-year: the current school year, whose results so far move too")
    opening.add_argument("--date", help="departure date (default: today)")
    opening.add_argument("--to-school", help="the receiving school")
    opening.set_defaults(handler=cmd_transfer_open)
    paper = transfer.add_parser("paper", help="open the record of a student arriving with a paper học bạ")
    school_option(paper, "clerk or principal")
    paper.add_argument("--student", required=True, help="personal identifier (registered here first)")
    paper.add_argument("--from-school", required=True, help="the school the student comes from")
    paper.add_argument("--scan", action="append", required=True, metavar="YEAR=FILE",
                       help="scanned pages of a school year (PDF, PNG or JPEG); repeat for more")  # fmt: skip
    paper.add_argument("--date", help="arrival date (default: today)")
    paper.set_defaults(handler=cmd_transfer_paper)
    prepare_record = transfer.add_parser("prepare", help="write the record with room for the next signature")
    prepare_record.add_argument("--school")
    prepare_record.add_argument("id", metavar="ID")
    prepare_record.add_argument("--role", required=True, choices=["PRINCIPAL", "ORGANISATION"])
    prepare_record.add_argument("-o", "--output", required=True)
    prepare_record.set_defaults(handler=cmd_transfer_prepare)
    submit_record = transfer.add_parser("submit", help="check a signed record and record its new signature")
    school_option(submit_record, "signer")
    submit_record.add_argument("id", metavar="ID")
    submit_record.add_argument("--role", required=True, choices=["PRINCIPAL", "CLERK"])
    submit_record.add_argument("file", metavar="SIGNED.xml")
    submit_record.set_defaults(handler=cmd_transfer_submit)
    export_record = transfer.add_parser("export", help="write the sealed record, byte for byte")
    export_record.add_argument("--school")
    export_record.add_argument("id", metavar="ID")
    export_record.add_argument("-o", "--output", required=True)
    export_record.set_defaults(handler=cmd_transfer_export)
    importing = transfer.add_parser("import", help="verify a sealed record and inherit what it carries")
    school_option(importing, "clerk or principal")
    importing.add_argument("file", metavar="RECORD.xml")
    importing.add_argument("--year", required=True, help="the school year the student joins")
    importing.add_argument("--class", dest="class_id", required=True, help="the class the student joins")
    importing.add_argument("--since", help="first day in the class (default: the record's date)")
    importing.add_argument("--trust", help="trusted root certificates, PEM (default: this installation's)")
    importing.set_defaults(handler=cmd_transfer_import)
    listing_transfers = transfer.add_parser("list", help="transfer records of the school")
    listing_transfers.add_argument("--school")
    listing_transfers.add_argument("--json", action="store_true")
    listing_transfers.set_defaults(handler=cmd_transfer_list)

    signing = commands.add_parser("signing", help="prepare and submit signatures").add_subparsers(
        dest="signing", required=True
    )
    prepare = signing.add_parser("prepare", help="write what a role signs next for one student's year")
    prepare.add_argument("--school")
    prepare.add_argument("--year", required=True)
    prepare.add_argument("--student", required=True)
    prepare.add_argument("--role", required=True, choices=["SUBJECT_TEACHER", "HOMEROOM_TEACHER", "PRINCIPAL",
                                                           "ORGANISATION"])  # fmt: skip
    prepare.add_argument("--subject", help="for a subject teacher: the subject code")
    prepare.add_argument("-o", "--output", required=True)
    prepare.set_defaults(handler=cmd_signing_prepare)
    submit = signing.add_parser("submit", help="check a signed document and record its new signature")
    school_option(submit, "signer")
    submit.add_argument("--year", required=True)
    submit.add_argument("--student", required=True)
    submit.add_argument("--role", required=True, choices=["SUBJECT_TEACHER", "HOMEROOM_TEACHER", "PRINCIPAL",
                                                          "CLERK"])  # fmt: skip
    submit.add_argument("file", metavar="SIGNED.xml")
    submit.set_defaults(handler=cmd_signing_submit)
    for name, text, handler in (
        ("prepare-sheet", "write a class sheet for its subject teacher to sign (Điều 18.3)", cmd_signing_prepare_sheet),
        ("submit-sheet", "check a signed class sheet and record the signature", cmd_signing_submit_sheet),
    ):
        command = signing.add_parser(name, help=text)
        school_option(command, "subject teacher" if name == "submit-sheet" else None)
        command.add_argument("--year", required=True)
        command.add_argument("--class", dest="class_id", required=True)
        command.add_argument("--subject", required=True)
        command.add_argument("--term", required=True, type=int, choices=[1, 2])
        if name == "prepare-sheet":
            command.add_argument("-o", "--output", required=True)
        else:
            command.add_argument("file", metavar="SIGNED.xml")
        command.set_defaults(handler=handler)

    pki = commands.add_parser("pki", help="certificates").add_subparsers(dest="pki", required=True)
    init_demo = pki.add_parser("init-demo", help="create the development PKI (offline)")
    init_demo.add_argument("--force", action="store_true", help="replace an existing PKI")
    init_demo.set_defaults(handler=cmd_pki_init_demo)
    issue = pki.add_parser("issue-demo", help="issue a demo personal or organisation certificate (PKCS#12)")
    issue.add_argument("--school")
    issue.add_argument("--holder", required=True, help="a staff id, or 'organisation'")
    issue.add_argument("--name", required=True, help="the holder's full name, or the school's name")
    issue.add_argument("--valid-from", help="first day of validity (default: now)")
    issue.set_defaults(handler=cmd_pki_issue_demo)
    register = pki.add_parser("register", help="register a certificate in the ledger (the principal, Điều 9.4)")
    school_option(register, "principal")
    register.add_argument("--cert", required=True, help="PEM, DER or PKCS#12 file")
    register.add_argument("--password-stdin", action="store_true")
    register.set_defaults(handler=cmd_pki_register)
    revoke = pki.add_parser("revoke", help="record a certificate's revocation (the principal)")
    school_option(revoke, "principal")
    revoke.add_argument("--fingerprint", required=True, help="SHA-256 of the certificate (hex)")
    revoke.add_argument("--reason", required=True)
    revoke.set_defaults(handler=cmd_pki_revoke)
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
        from ledger.app.db import DatabaseUnavailable
        from ledger.base.errors import DomainError

        known = (CliError, DatabaseUnavailable, DomainError, ValueError, OSError)
        prefix = "" if isinstance(exc, known) else f"{type(exc).__name__}: "
        print(f"hocba: {prefix}{exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
