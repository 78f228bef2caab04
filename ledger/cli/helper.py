"""The local signing helper (`hocba signing helper`): a small HTTP server on the signer's own computer,
on loopback only, through which the pages sign a class's học bạ with the signer's USB token.

The page hands it a batch the service prepared (with the batch's nonce) and the token's PIN the signer
typed into the page; the helper logs in to the token once, signs every document of the batch in that
one session (`TokenKey`, one PIN entry), logs out, and hands the signed documents back to the page,
which submits them to the service. The helper holds no credential of the service and never talks to
it; it answers only the service's own origin (`--origin`): any other page's request, or a request
with no Origin, is refused before anything is read, so another web site open in the browser can
neither sign through it nor try PINs. A nonce is signed once: a batch handed again is refused."""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import json
import re
import sys
from pathlib import Path
from typing import Any

from ledger.base.settings import Settings
from ledger.cli.common import EXIT_OK, CliError

PATH = "/ky"
MAX_BODY = 64 * 1024 * 1024  # a class of học bạ, base64
MAX_DOCUMENTS = 60
NONCE = re.compile(r"^[A-Za-z0-9_.-]{16,200}$")


def _origin(value: str) -> str:
    """The service's origin as a browser sends it: scheme://host[:port], nothing after."""
    found = re.fullmatch(r"(https?://[A-Za-z0-9.-]+(?::\d{1,5})?)/?", value.strip())
    if found is None:
        raise CliError(f"--origin must be the service's address as the browser shows it (https://host[:port]): {value}")
    return found.group(1).lower()


class _Helper:
    def __init__(self, args: argparse.Namespace, origin: str) -> None:
        self.args = args
        self.origin = origin
        self.used: set[str] = set()
        self.lock = asyncio.Lock()  # one batch at a time: one login to the token

    def _headers(self) -> dict[str, str]:
        return {
            "Access-Control-Allow-Origin": self.origin,
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Allow-Private-Network": "true",
            "Access-Control-Max-Age": "60",
            "Vary": "Origin",
            "Cache-Control": "no-store",
        }

    def _answer(self, status: int, body: dict[str, Any], *, allowed: bool = True) -> Any:
        from aiohttp import web

        headers = self._headers() if allowed else {"Cache-Control": "no-store"}
        return web.json_response(body, status=status, headers=headers)

    def _refusal(self, status: int, vi: str, en: str) -> Any:
        return self._answer(status, {"message_vi": vi, "message": en})

    def _foreign(self, request: Any) -> Any | None:
        """Refuse any request that is not from the service's own pages."""
        origin = (request.headers.get("Origin") or "").lower()
        if origin != self.origin:
            print(f"refused a request from {origin or 'no origin'}", file=sys.stderr, flush=True)
            body = {
                "message_vi": "Chương trình ký chỉ nhận yêu cầu từ trang của hệ thống học bạ số.",
                "message": "The signing helper answers the học bạ service's pages only.",
            }
            return self._answer(403, body, allowed=False)
        return None

    async def preflight(self, request: Any) -> Any:
        from aiohttp import web

        refused = self._foreign(request)
        if refused is not None:
            return refused
        return web.Response(status=204, headers=self._headers())

    async def sign(self, request: Any) -> Any:
        refused = self._foreign(request)
        if refused is not None:
            return refused
        if request.content_type != "application/json":
            return self._refusal(415, "Yêu cầu phải là JSON.", "The request must be JSON.")
        try:
            batch = json.loads(await request.read())
            nonce, pin, items = batch["nonce"], batch["pin"], batch["documents"]
            documents = [(str(i["student"]), base64.b64decode(i["document"], validate=True)) for i in items]
        except (ValueError, KeyError, TypeError, binascii.Error):
            return self._refusal(400, "Lô ký không đọc được.", "The batch cannot be read.")
        if not isinstance(nonce, str) or not NONCE.match(nonce) or not 1 <= len(documents) <= MAX_DOCUMENTS:
            return self._refusal(400, "Lô ký không hợp lệ.", "The batch is not valid.")
        if not isinstance(pin, str) or not pin:
            return self._refusal(400, "Hãy nhập mã PIN của USB token.", "Type the USB token's PIN.")
        async with self.lock:
            if nonce in self.used:
                return self._refusal(409, "Lô ký này đã được ký một lần.", "This batch was signed already.")
            self.used.add(nonce)
            try:
                signed, logins, who = await self._signed([d for _, d in documents], pin)
            except CliError as exc:
                return self._refusal(401, "USB token từ chối: mã PIN sai hoặc token bị khóa.", str(exc))
        print(
            f"signed {len(signed)} documents for {self.origin} with one PIN entry ({who}); batch {nonce[:12]}…",
            flush=True,
        )
        return self._answer(
            200,
            {
                "nonce": nonce,
                "logins": logins,
                "signer": who,
                "documents": [
                    {"student": student, "document": base64.b64encode(data).decode()}
                    for (student, _), data in zip(documents, signed, strict=True)
                ],
            },
        )

    async def _signed(self, documents: list[bytes], pin: str) -> tuple[list[bytes], int, str]:
        """Every document signed in one logged-in session of the token; the PIN is asked of it once."""
        from datetime import datetime

        from pkcs11.exceptions import PKCS11Error

        from ledger.base.clock import VN_TZ
        from signing.x509.certs import load_certificates
        from signing.x509.pkcs11 import Token, TokenError, TokenKey
        from signing.x509.signers import SignerError
        from signing.xml import xades

        args = self.args
        logins = 0

        def once() -> str:
            nonlocal logins
            logins += 1
            return pin

        token = Token(args.pkcs11_module, args.token_label, once)
        given = load_certificates(Path(args.certificate)) if args.certificate else []
        try:
            key = TokenKey(token, args.key_label, given[0] if given else None, tuple(given[1:]))
            signed = await xades.sign_all(documents, key, signing_time=datetime.now(VN_TZ))
            return signed, logins, key.certificate.subject.rfc4514_string()
        except (PKCS11Error, TokenError, SignerError) as exc:
            raise CliError(f"the token did not sign: {type(exc).__name__}") from None
        except ValueError as exc:
            raise CliError(f"not a document prepared for signing: {exc}") from None
        finally:
            token.close()


def cmd_signing_helper(args: argparse.Namespace, settings: Settings) -> int:
    if not args.token_label or not args.key_label:
        raise CliError("--pkcs11-module needs --token-label and --key-label")
    return asyncio.run(_serve(args, _origin(args.origin)))


async def _serve(args: argparse.Namespace, origin: str) -> int:
    from aiohttp import web

    helper = _Helper(args, origin)
    app = web.Application(client_max_size=MAX_BODY)
    app.add_routes([web.options(PATH, helper.preflight), web.post(PATH, helper.sign)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port)  # loopback only, never another interface
    await site.start()
    port = runner.addresses[0][1]
    print(f"signing helper for {origin} listening on http://127.0.0.1:{port}{PATH}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
    return EXIT_OK


def add_helper(signing: Any) -> None:
    helper = signing.add_parser(
        "helper",
        help="the local signing helper: the pages sign a class with your USB token through it (loopback only)",
    )
    helper.add_argument("--pkcs11-module", required=True, metavar="PATH", help="the token's PKCS#11 library")
    helper.add_argument("--token-label", required=True, metavar="LABEL")
    helper.add_argument("--key-label", required=True, metavar="LABEL", help="the key's label (its certificate's too)")
    helper.add_argument("--certificate", metavar="CERT.pem", help="the certificate (and chain) when the token has none")
    helper.add_argument(
        "--origin", required=True, metavar="URL", help="the học bạ service's address, as the browser shows it"
    )
    helper.add_argument("--port", type=int, default=47470, help="the loopback port (default 47470; 0: any free one)")
    helper.set_defaults(handler=cmd_signing_helper)
