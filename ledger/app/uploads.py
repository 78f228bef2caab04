"""Uploads read in the worker processes (ledger.app.workers), within limits (Điều 20: one hostile
file never stops the service): a học bạ sent to the public portal to verify, a gradebook file to
import or reconcile.

The limits, checked before the expensive work:

- MAX_SIGNATURES signatures in one XML or PDF (ds:Signature elements, or PDF signature fields),
  counted after a safe parse and before any signature is verified: `upload.too_many_signatures`;
- MAX_PDF_PAGES pages in one PDF: `upload.too_many_pages`;
- the gradebook's own bytes, rows and cells (ledger.school.imports.tables);
- and every job within the pool's time limit (`upload.timeout`) and memory (`upload.too_large`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ledger.app.runtime import Runtime
from ledger.base.errors import TooLarge
from ledger.school.imports.sheets import Gradebook, read_gradebook
from signing.verify_file import census, verify_file

MAX_SIGNATURES = 50  # signatures in one document: a học bạ has one per subject teacher and a few more
MAX_PDF_PAGES = 200  # a four-year học bạ is a few dozen pages


def _too_large(code: str, vi: str, en: str) -> TooLarge:
    return TooLarge(code, vi, en, field="body", rule="Điều 20")


def check_shape(data: bytes) -> None:
    """Refuse a document with more signatures or pages than a học bạ ever has, before verifying it."""
    counted = census(data, MAX_SIGNATURES)
    if counted.signatures > MAX_SIGNATURES:
        raise _too_large(
            "upload.too_many_signatures",
            f"Tệp có hơn {MAX_SIGNATURES} chữ ký; học bạ không có nhiều chữ ký như vậy.",
            f"The file holds more than {MAX_SIGNATURES} signatures; a học bạ never has that many.",
        )
    if counted.pages > MAX_PDF_PAGES:
        raise _too_large(
            "upload.too_many_pages",
            f"Tệp PDF có hơn {MAX_PDF_PAGES} trang.",
            f"The PDF holds more than {MAX_PDF_PAGES} pages.",
        )


async def within_limits(runtime: Runtime, data: bytes) -> None:
    """`check_shape` in a worker process: a signed file a signer submits is refused there before the
    command verifies its signatures."""
    await runtime.workers.run(check_shape, data)


def verify_upload(data: bytes, roots: list[bytes], crls: list[bytes]) -> dict[str, Any]:
    """In a worker process: the verification report of an uploaded file, as JSON, against the
    trusted roots and revocation lists given as DER."""
    check_shape(data)
    trusted = [x509.load_der_x509_certificate(der) for der in roots]
    revoked = [x509.load_der_x509_crl(der) for der in crls]
    return asyncio.run(verify_file(data, trusted, revoked)).to_json()


async def verified(runtime: Runtime, data: bytes) -> dict[str, Any]:
    """The report of an uploaded XML or PDF học bạ, verified in a worker process."""
    roots = [cert.public_bytes(Encoding.DER) for cert in runtime.trusted_roots()]
    crls = [crl.public_bytes(Encoding.DER) for crl in runtime.crls()]
    return await runtime.workers.run(verify_upload, data, roots, crls)


def read_upload(data: bytes, file: str, sheet: str | None, preset: str | None) -> Gradebook:
    """In a worker process: a gradebook file, read."""
    return read_gradebook(data, file, sheet=sheet, preset=preset)


async def gradebook(
    runtime: Runtime, data: bytes, file: str, *, sheet: str | None = None, preset: str | None = None
) -> Gradebook:
    """A gradebook file read in a worker process (ledger.school.imports.sheets.read_gradebook)."""
    return await runtime.workers.run(read_upload, data, file, sheet, preset)
