"""The reference signer on the signer's machine, and the offline file verifier."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from ledger.base.settings import Settings
from ledger.cli.common import (
    EXIT_NOT_INTACT,
    EXIT_OK,
    CliError,
    print_json,
    read_file,
)


def _pin(args: argparse.Namespace) -> Any:
    """The token's PIN: from the file or the environment variable named, else asked once at the
    terminal when the token needs it. Never a command-line argument."""
    import getpass

    from ledger.base.settings import variable

    if args.pin_file:
        return Path(args.pin_file).read_text(encoding="utf-8").strip()
    if args.pin_env:
        value = variable(args.pin_env)
        if value is None:
            raise CliError(f"--pin-env names {args.pin_env}, which is not set")
        return value
    return lambda: getpass.getpass(f"Mã PIN của thiết bị ký {args.token_label} / PIN of token {args.token_label}: ")


def _csc_token(args: argparse.Namespace) -> str | None:
    from ledger.base.settings import variable

    if args.csc_token_file:
        return Path(args.csc_token_file).read_text(encoding="utf-8").strip()
    return variable(args.csc_token_env)


@asynccontextmanager
async def open_signer(args: argparse.Namespace, settings: Settings) -> AsyncIterator[Any]:
    """The key the signer chose: a PKCS#11 token, a CSC remote-signing credential, or (demo only) a
    PKCS#12 file; open for the whole batch, then closed."""
    from signing.x509.certs import load_certificates
    from signing.x509.signers import SignerError, read_pkcs12

    chosen = [name for name in ("p12", "pkcs11_module", "csc_url") if getattr(args, name)]
    if len(chosen) != 1:
        raise CliError("choose one key: --pkcs11-module (a USB token or HSM), --csc-url (remote signing) or --p12")
    if args.pkcs11_module:
        from signing.x509.pkcs11 import Token, TokenKey

        if not args.token_label or not args.key_label:
            raise CliError("--pkcs11-module needs --token-label and --key-label")
        token = Token(args.pkcs11_module, args.token_label, _pin(args))
        given = load_certificates(Path(args.certificate)) if args.certificate else []
        try:
            yield TokenKey(token, args.key_label, given[0] if given else None, tuple(given[1:]))
        finally:
            token.close()
    elif args.csc_url:
        from signing.x509.csc import CscKey

        if not args.credential:
            raise CliError("--csc-url needs --credential")
        async with CscKey(args.csc_url, args.credential, _csc_token(args)) as remote:
            yield remote
    else:
        from signing.x509.pki import DEMO_P12_PASSWORD
        from signing.x509.signers import PKCS12_IN_PRODUCTION

        if settings.production:
            raise CliError(PKCS12_IN_PRODUCTION)
        password = sys.stdin.readline().rstrip("\n").encode() if args.password_stdin else DEMO_P12_PASSWORD
        try:
            holder = read_pkcs12(Path(args.p12), password, production=settings.production)
        except SignerError as exc:
            raise CliError(str(exc)) from None
        yield holder


def _outputs(args: argparse.Namespace) -> list[Path]:
    sources = [Path(name) for name in args.files]
    if args.output_dir:
        directory = Path(args.output_dir)
        directory.mkdir(parents=True, exist_ok=True)
        return [directory / source.name for source in sources]
    if args.output and len(sources) == 1:
        return [Path(args.output)]
    raise CliError("give -o OUT for one file, or --output-dir DIR for several")


def cmd_sign(args: argparse.Namespace, settings: Settings) -> int:
    """The reference signer, on the signer's machine: signs prepared documents (a whole class at once)
    with a token, a remote-signing credential or, for the demo, a PKCS#12 file."""
    outputs = _outputs(args)
    documents = [read_file(name) for name in args.files]
    return asyncio.run(_sign_files(args, settings, documents, outputs))


async def _sign_files(args: argparse.Namespace, settings: Settings, documents: list[bytes], outputs: list[Path]) -> int:
    from datetime import datetime

    from ledger.base.clock import VN_TZ
    from signing.xml import xades

    pdfs = [data.lstrip().startswith(b"%PDF") for data in documents]
    if any(pdfs) and not all(pdfs):
        raise CliError("sign XML documents and PDF học bạ in separate runs")
    async with open_signer(args, settings) as holder:
        now = datetime.now(VN_TZ)
        who = holder.certificate.subject.rfc4514_string()
        if all(pdfs):
            signed = await _sign_pdfs(args, settings, documents, holder, now)
        else:
            try:
                signed = await xades.sign_all(documents, holder, signing_time=now)
            except ValueError as exc:
                raise CliError(f"not a document prepared for signing: {exc}") from None
    for source, output, data in zip(args.files, outputs, signed, strict=True):
        output.write_bytes(data)
        role = f" as {args.role}" if all(pdfs) else ""
        print(f"signed {source}{role} ({who}) at {now.isoformat(timespec='seconds')}: {output}")
    return EXIT_OK


async def _sign_pdfs(
    args: argparse.Namespace, settings: Settings, documents: list[bytes], holder: Any, now: Any
) -> list[bytes]:
    """Every PDF with the one key; at a remote-signing service, under one authorisation (or as few as
    the service's limit allows)."""
    from cryptography.x509.oid import NameOID
    from pyhanko.sign.general import SigningError
    from pyhanko.sign.timestamps import HTTPTimeStamper

    from ledger.app.runtime import demo_time_stamper
    from signing.pdf.layout import PdfError
    from signing.pdf.sign import sign_pdfs
    from signing.x509.pki import Pki
    from signing.x509.signers import SignerError

    if args.role not in ("PRINCIPAL", "ORGANISATION"):
        raise CliError("a PDF học bạ is signed with --role PRINCIPAL (the principal) or ORGANISATION (the seal)")
    if args.tsa:
        stamper: Any = HTTPTimeStamper(args.tsa)
    else:
        print("timestamps from the demo time-stamping authority in HOCBA_HOME/pki (use --tsa URL)", file=sys.stderr)
        stamper = demo_time_stamper(Pki(settings.pki_dir))
    cert = holder.certificate
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    try:
        signed = await sign_pdfs(
            documents,
            holder,
            chain=[c for c in holder.chain if c != cert],
            appearance="principal" if args.role == "PRINCIPAL" else "seal",
            role=args.role,
            signer_name=str(names[0].value) if names else "",
            signing_time=now,
            time_stamper=stamper,
            field_name="HieuTruong" if args.role == "PRINCIPAL" else "DongDau",
        )
    except (PdfError, SignerError, SigningError) as exc:
        raise CliError(f"the PDF học bạ could not be signed: {exc}") from None
    if args.csc_url:
        count = holder.authorisations
        print(
            f"{len(documents)} PDF signed under {count} authorisation(s) of the remote-signing service", file=sys.stderr
        )
    return signed


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
    report = asyncio.run(verify_file(data, roots, crls, at=args.at))
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
        "sign",
        help="sign prepared XML or PDF học bạ, a whole class at once, with a USB token or HSM, a remote-signing "
        "service, or a demo PKCS#12 file (the reference signer)",
    )
    sign.add_argument("files", nargs="+", metavar="FILE")
    sign.add_argument("-o", "--output", metavar="OUT", help="where the signed document goes (one FILE)")
    sign.add_argument("--output-dir", metavar="DIR", help="where the signed documents go, by name (several FILEs)")
    token = sign.add_argument_group("a key on a PKCS#11 token (USB token, HSM): one PIN entry for every FILE")
    token.add_argument("--pkcs11-module", metavar="PATH", help="the token's PKCS#11 library")
    token.add_argument("--token-label", metavar="LABEL")
    token.add_argument("--key-label", metavar="LABEL", help="the key's label; its certificate has the same label")
    token.add_argument("--certificate", metavar="CERT.pem", help="the certificate (and chain) when the token has none")
    token.add_argument("--pin-file", metavar="FILE", help="read the PIN from this file (default: asked once)")
    token.add_argument("--pin-env", metavar="VAR", help="read the PIN from this environment variable")
    remote = sign.add_argument_group("a key at a remote-signing service (CSC API): one authorisation for every FILE")
    remote.add_argument("--csc-url", metavar="URL", help="the service's base address, before /csc/v1")
    remote.add_argument("--credential", metavar="ID", help="the signer's credential at the service")
    remote.add_argument("--csc-token-file", metavar="FILE", help="read the service's access token from this file")
    remote.add_argument(
        "--csc-token-env", metavar="VAR", default="HOCBA_CSC_TOKEN", help="or from this variable (HOCBA_CSC_TOKEN)"
    )
    demo = sign.add_argument_group("a PKCS#12 file (demo only; refused when HOCBA_ENV=production)")
    demo.add_argument("--p12", metavar="FILE", help="the signer's certificate and key")
    demo.add_argument("--password-stdin", action="store_true", help="read the PKCS#12 password from standard input")
    sign.add_argument("--role", choices=["PRINCIPAL", "ORGANISATION"], help="for a PDF: the principal or the seal")
    sign.add_argument("--tsa", metavar="URL", help="for a PDF: the RFC 3161 time-stamping authority")
    sign.set_defaults(handler=cmd_sign)


def add_verify_file(commands: Any) -> None:
    verify_file = commands.add_parser("verify-file", help="verify a signed XML or PDF học bạ offline (Điều 15)")
    verify_file.add_argument("file", metavar="FILE")
    verify_file.add_argument("--trust", required=True, metavar="ROOT.pem", help="the trusted root certificate")
    verify_file.add_argument("--crl", metavar="CRL", help="the issuer's certificate revocation list (PEM or DER)")
    verify_file.add_argument(
        "--at",
        type=_moment,
        metavar="TIME",
        help="verify as of this time (ISO 8601 with its offset, 2036-06-01T00:00:00+07:00; default: now), "
        "with what the file carries: an issued học bạ stays valid after its signers' certificates expire",
    )
    verify_file.add_argument("--json", action="store_true", help="print the report as JSON")
    verify_file.set_defaults(handler=cmd_verify_file)


def _moment(text: str) -> datetime:
    """A time given on the command line: ISO 8601 with its offset (a time without one is ambiguous)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r} (e.g. 2036-06-01T00:00:00+07:00)") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give the time with its offset: {text!r} (e.g. 2036-06-01T00:00:00+07:00)")
    return moment
