"""The reference signer on the signer's machine, and the offline file verifier."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from ledger.base.settings import Settings
from ledger.cli.common import (
    EXIT_NOT_INTACT,
    EXIT_OK,
    CliError,
    load_p12,
    print_json,
    read_file,
)


def cmd_sign(args: argparse.Namespace, settings: Settings) -> int:
    """The reference signer: signs a prepared document with a PKCS#12 file, on the signer's machine."""
    from datetime import datetime

    from ledger.base.clock import VN_TZ
    from signing.xml import xades

    source, data = Path(args.file), read_file(args.file)
    key, cert, chain = load_p12(args.p12, args.password_stdin)
    now = datetime.now(VN_TZ)
    if data.lstrip().startswith(b"%PDF"):
        signed_pdf = asyncio.run(_sign_pdf(args, settings, data, key, cert, chain, now))
        Path(args.output).write_bytes(signed_pdf)
        who = cert.subject.rfc4514_string()
        print(f"signed {source} as {args.role} ({who}) at {now.isoformat(timespec='seconds')}: {args.output}")
        return EXIT_OK
    try:
        signed = xades.sign_prepared(data, key, cert, signing_time=now, chain=[c for c in chain if c != cert])
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

    from ledger.app.runtime import demo_time_stamper
    from signing.pdf.sign import sign_pdf
    from signing.x509.pki import Pki

    if args.role not in ("PRINCIPAL", "ORGANISATION"):
        raise CliError("a PDF học bạ is signed with --role PRINCIPAL (the principal) or ORGANISATION (the seal)")
    if args.tsa:
        stamper: Any = HTTPTimeStamper(args.tsa)
    else:
        print("timestamps from the demo time-stamping authority in HOCBA_HOME/pki (use --tsa URL)", file=sys.stderr)
        stamper = demo_time_stamper(Pki(settings.pki_dir))
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return await sign_pdf(
        data,
        key,
        cert,
        chain=[c for c in chain if c != cert],
        appearance="principal" if args.role == "PRINCIPAL" else "seal",
        role=args.role,
        signer_name=str(names[0].value) if names else "",
        signing_time=now,
        time_stamper=stamper,
        field_name="HieuTruong" if args.role == "PRINCIPAL" else "DongDau",
    )


def cmd_verify_file(args: argparse.Namespace, settings: Settings) -> int:
    from cryptography import x509

    from signing.verify_file import verify_file
    from signing.x509.certs import load_certificates

    source, data = Path(args.file), read_file(args.file)
    roots = load_certificates(Path(args.trust))
    crls = []
    if args.crl:
        raw = Path(args.crl).read_bytes()
        crls = [x509.load_pem_x509_crl(raw) if b"-----BEGIN" in raw else x509.load_der_x509_crl(raw)]
    report = asyncio.run(verify_file(data, roots, crls))
    if args.json:
        print_json(report.to_json())
    else:
        doc = report.to_json()
        print(f"{source}: {doc['result_vi']} / {doc['result_en']}")
        for s in report.signatures:
            mark = "OK " if s.ok else "BAD"
            print(f"  {mark} {s.role or '?'} {s.signer} {s.signing_time or '?'} covers {', '.join(s.parts)}")
            for note in s.notes_vi():  # the trusted signing time; signed in another's place (Điều 18.5, 18.7)
                print(f"      {note}")
            for finding in s.findings:
                print(f"      {finding.vi} / {finding.en}")
        for finding in report.findings:
            print(f"  {finding.vi} / {finding.en}")
    return EXIT_OK if report.ok else EXIT_NOT_INTACT


def add_sign(commands: Any) -> None:
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


def add_verify_file(commands: Any) -> None:
    verify_file = commands.add_parser("verify-file", help="verify a signed XML or PDF học bạ offline (Điều 15)")
    verify_file.add_argument("file", metavar="FILE")
    verify_file.add_argument("--trust", required=True, metavar="ROOT.pem", help="the trusted root certificate")
    verify_file.add_argument("--crl", metavar="CRL", help="the issuer's certificate revocation list (PEM or DER)")
    verify_file.add_argument("--json", action="store_true", help="print the report as JSON")
    verify_file.set_defaults(handler=cmd_verify_file)
