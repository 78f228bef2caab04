"""PAdES-B-LTA: the issued PDF học bạ carries what it takes to verify it decades later, offline.

One incremental revision after the last signature holds the Document Security Store (DSS: the
certificates of every signature's and every timestamp's chain, and the CRLs and OCSP responses
that show them not revoked) and a document timestamp from the school's time-stamping authority
over all of it, the authority's own chain and revocation information included. The timestamp
proves that the signatures and that validation material existed at its time; a later renewal adds
the same again before the authority's certificate expires (each renewal one more revision).

pyHanko collects the validation material with the same certificate validator and trust list the
service checks signatures with (signing.x509.validation); revocation information is read from the
CRLs this installation keeps and, with `online`, fetched from the CAs' responders.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper, TimestampDSSContentSettings
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.validation.dss import DocumentSecurityStore, collect_validation_info
from pyhanko_certvalidator.errors import ValidationError

from signing.pdf.layout import PdfError
from signing.x509.validation import OnlineRevocation, validation_context

ARCHIVE_FIELD = "LuuTru"  # the document timestamps' fields: LuuTru-1, LuuTru-2, …


def document_timestamps(pdf: bytes) -> list[datetime]:
    """The times of the document timestamps a PDF carries, oldest first."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    found = []
    for emb in reader.embedded_timestamp_signatures:
        tst = emb.signed_data["encap_content_info"]["content"].parsed
        found.append(tst["gen_time"].native)
    return found


async def archive_pdf(
    pdf: bytes,
    roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    time_stamper: TimeStamper,
    *,
    online: OnlineRevocation | None = None,
) -> bytes:
    """`pdf` with one more revision: the validation material of every signature and document
    timestamp it carries in its DSS, then a document timestamp of `time_stamper` over it (the
    authority's validation material in the same revision). The input stays a prefix of the result.
    Raises PdfError when a signature's certificate cannot be validated now (no chain to `roots`,
    revoked, or no revocation information): such a PDF is not archived."""
    context = validation_context(roots, crls, None, online=online)
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    signatures = [*reader.embedded_regular_signatures, *reader.embedded_timestamp_signatures]
    if not reader.embedded_regular_signatures:
        raise PdfError("the PDF has no signature to archive")
    paths = []
    try:
        for emb in signatures:
            paths += await collect_validation_info(emb, context)
    except ValidationError as exc:
        raise PdfError(f"the signatures' certificates cannot be validated for archiving: {exc}") from None
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    DocumentSecurityStore.supply_dss_in_writer(writer, None, paths=paths, validation_context=context)
    field = f"{ARCHIVE_FIELD}-{len(reader.embedded_timestamp_signatures) + 1}"
    stamper = PdfTimeStamper(time_stamper, field_name=field)
    try:
        out = await stamper.async_timestamp_pdf(
            writer,
            "sha256",
            validation_context=context,
            output=io.BytesIO(),
            # the authority's chain and revocation information go into the DSS before the timestamp,
            # so that the timestamp covers the whole file
            dss_settings=TimestampDSSContentSettings(update_before_ts=True, include_vri=False),
        )
    except (ValidationError, SigningError, TimestampRequestError) as exc:
        raise PdfError(f"no document timestamp from the time-stamping authority: {exc}") from None
    return bytes(out.getvalue())
