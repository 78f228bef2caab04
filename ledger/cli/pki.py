"""Certificates: the development PKI, and registering or revoking a certificate in the ledger (Điều 9.4)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ledger.base.settings import Settings
from ledger.cli.common import (
    EXIT_OK,
    CliError,
    load_p12,
    required_school,
    school_option,
)
from ledger.cli.session import ledger_command


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


def cmd_pki_issue_demo(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import datetime

    from ledger.base.clock import VN_TZ
    from signing.x509.pki import Pki

    if settings.production:
        raise CliError("demo certificates are for development only; HOCBA_ENV is production")
    pki = Pki(settings.pki_dir)
    school = required_school(args, settings)
    since = datetime.fromisoformat(args.valid_from).replace(tzinfo=VN_TZ) if args.valid_from else None
    if args.holder == "organisation":
        holder = pki.issue_demo_organisation(school, args.name, valid_from=since)
    else:
        holder = pki.issue_demo_personal(school, args.holder, args.name, valid_from=since)
    path = pki.save_holder(school, args.holder, holder)
    print(f"wrote {path} (PKCS#12; a demo certificate with no legal value)")
    return EXIT_OK


def cmd_pki_issue_demo_client(args: argparse.Namespace, settings: Settings) -> int:
    from cryptography.hazmat.primitives import serialization

    from signing.x509.pki import Pki

    if settings.production:
        raise CliError("demo certificates are for development only; HOCBA_ENV is production")
    school = required_school(args, settings)
    client = Pki(settings.pki_dir).issue_demo_client(school, args.account)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = out / f"{args.account}.pem", out / f"{args.account}.key.pem"
    cert_path.write_bytes(client.certificate.public_bytes(serialization.Encoding.PEM))
    key = client.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_path.touch(mode=0o600)
    key_path.write_bytes(key)
    print(f"wrote {cert_path} and {key_path} (a demo TLS client certificate with no legal value)")
    return EXIT_OK


def cmd_pki_register(args: argparse.Namespace, settings: Settings) -> int:
    from cryptography import x509

    from ledger.school.signatures.certificates import register_certificate
    from signing.x509.certs import load_certificates
    from signing.x509.pki import Pki

    path = Path(args.cert)
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    if path.suffix.lower() in (".p12", ".pfx"):
        cert: x509.Certificate = load_p12(str(path), args.password_stdin)[1]
    else:
        cert = load_certificates(path)[0]
    roots = Pki(settings.pki_dir).roots()
    return ledger_command(
        settings,
        args,
        "pki register",
        lambda ledger, school, actor: register_certificate(ledger, school, actor, cert, roots),
        role="PRINCIPAL",
        action="certificate.manage",
    )


def cmd_pki_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.school.signatures.certificates import revoke_certificate

    return ledger_command(
        settings,
        args,
        "pki revoke",
        lambda ledger, school, actor: revoke_certificate(ledger, school, actor, args.fingerprint, args.reason),
        role="PRINCIPAL",
        action="certificate.manage",
    )


def add_pki(commands: Any) -> None:
    pki = commands.add_parser("pki", help="certificates").add_subparsers(dest="pki", required=True)
    init_demo = pki.add_parser("init-demo", help="create the development PKI (offline)")
    init_demo.add_argument("--force", action="store_true", help="replace an existing PKI")
    init_demo.set_defaults(handler=cmd_pki_init_demo)
    issue_hocba = pki.add_parser("issue-demo", help="issue a demo personal or organisation certificate (PKCS#12)")
    issue_hocba.add_argument("--school")
    issue_hocba.add_argument("--holder", required=True, help="a staff id, or 'organisation'")
    issue_hocba.add_argument("--name", required=True, help="the holder's full name, or the school's name")
    issue_hocba.add_argument("--valid-from", help="first day of validity (default: now)")
    issue_hocba.set_defaults(handler=cmd_pki_issue_demo)
    client = pki.add_parser(
        "issue-demo-client", help="issue a demo TLS client certificate for an integration account (PEM files)"
    )
    client.add_argument("--school")
    client.add_argument("--account", required=True, help="the integration account's username")
    client.add_argument("-o", "--output", default=".", metavar="DIR", help="where to write <account>.pem and .key.pem")
    client.set_defaults(handler=cmd_pki_issue_demo_client)
    register = pki.add_parser("register", help="register a certificate in the ledger (the principal, Điều 9.4)")
    school_option(register, "principal")
    register.add_argument("--cert", required=True, help="PEM, DER or PKCS#12 file")
    register.add_argument("--password-stdin", action="store_true")
    register.set_defaults(handler=cmd_pki_register)
    revoke_hocba = pki.add_parser("revoke", help="record a certificate's revocation (the principal)")
    school_option(revoke_hocba, "principal")
    revoke_hocba.add_argument("--fingerprint", required=True, help="SHA-256 of the certificate (hex)")
    revoke_hocba.add_argument("--reason", required=True)
    revoke_hocba.set_defaults(handler=cmd_pki_revoke)
    export_root = pki.add_parser("export-root", help="write the trusted root certificate")
    export_root.add_argument("-o", "--output", required=True, metavar="FILE")
    export_root.set_defaults(handler=cmd_pki_export_root)
