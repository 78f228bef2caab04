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

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper, TimestampDSSContentSettings
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.validation import EmbeddedPdfSignature, async_validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore, collect_validation_info
from pyhanko_certvalidator.errors import ValidationError

from signing.pdf.layout import PdfError
from signing.pdf.sign import iso_time
from signing.report import Finding
from signing.x509.validation import OnlineRevocation, chain_context, validation_context

ARCHIVE_FIELD = "LuuTru"  # the document timestamps' fields: LuuTru-1, LuuTru-2, …


def newest_authority(pdf: bytes) -> x509.Certificate | None:
    """The certificate of the authority of the PDF's newest document timestamp (None without one)."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    stamps = _by_revision(reader)
    return x509.load_der_x509_certificate(stamps[-1].signer_cert.dump()) if stamps else None


def _by_revision(reader: PdfFileReader) -> list[EmbeddedPdfSignature]:
    """The document timestamps, oldest first."""
    return sorted(reader.embedded_timestamp_signatures, key=lambda e: int(e.signed_revision))


def document_timestamps(pdf: bytes) -> list[datetime]:
    """The times of the document timestamps a PDF carries, oldest first."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    found = []
    for emb in _by_revision(reader):
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
    renewal: bool = False,
) -> bytes:
    """`pdf` with one more revision: the validation material of every signature and document
    timestamp it carries in its DSS, then a document timestamp of `time_stamper` over it (the
    authority's validation material in the same revision). The input stays a prefix of the result.
    Raises PdfError when a signature's certificate cannot be validated now (no chain to `roots`,
    revoked, or no revocation information): such a PDF is not archived.

    A `renewal` (of a PDF archived before, whose newest document timestamp's authority certificate
    nears its end) adds the validation material of that newest document timestamp only: the
    signatures' own is in the DSS already, and their certificates may have expired since."""
    context = validation_context(roots, crls, None, online=online)
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    signatures = [*reader.embedded_regular_signatures, *reader.embedded_timestamp_signatures]
    if not reader.embedded_regular_signatures:
        raise PdfError("the PDF has no signature to archive")
    if renewal:
        if not reader.embedded_timestamp_signatures:
            raise PdfError("the PDF has no document timestamp to renew")
        signatures = [_by_revision(reader)[-1]]
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


# Verification


@dataclass
class ArchiveEvidence:
    """What a PDF's document timestamps prove at a validation time: when they form a chain that
    holds (the last one valid at that time, each earlier one valid at the time of the next), the
    oldest one's time, and the validation material of the DSS they cover."""

    time: datetime | None = None  # the oldest document timestamp's time, when the chain holds
    stamps: int = 0
    crls: list[x509.CertificateRevocationList] = field(default_factory=list)
    ocsps: list[bytes] = field(default_factory=list)
    certs: list[x509.Certificate] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def _dss(pdf: bytes) -> tuple[list[x509.Certificate], list[bytes], list[x509.CertificateRevocationList]]:
    """The certificates, OCSP responses (DER) and CRLs of a PDF's DSS."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    try:
        dss = reader.root["/DSS"]
    except KeyError:
        return [], [], []

    def streams(key: str) -> list[bytes]:
        try:
            return [bytes(ref.get_object().data) for ref in dss.get(key, [])]
        except Exception:  # an unreadable entry: nothing from this DSS counts
            return []

    certs = []
    for der in streams("/Certs"):
        with contextlib.suppress(ValueError):
            certs.append(x509.load_der_x509_certificate(der))
    crls = []
    for der in streams("/CRLs"):
        with contextlib.suppress(ValueError):
            crls.append(x509.load_der_x509_crl(der))
    return certs, streams("/OCSPs"), crls


async def archive_evidence(pdf: bytes, roots: Sequence[x509.Certificate], at: datetime) -> ArchiveEvidence:
    """Check the document timestamps of `pdf` as of `at`, the newest first: the newest must be
    valid at `at`, each earlier one at the time of the one after it (which proves it existed then,
    while its authority's certificate was valid). When they all hold, the DSS as of the newest one
    is validation material proven to exist at the oldest one's time."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    stamps = _by_revision(reader)
    evidence = ArchiveEvidence(stamps=len(stamps))
    if not stamps:
        return evidence
    moment = at
    for emb in reversed(stamps):
        others = list(emb.other_embedded_certs)
        try:
            status = await async_validate_pdf_timestamp(emb, validation_context=chain_context(roots, moment, others))
            held = bool(status.intact and status.valid and status.trusted)
        except Exception:  # a damaged timestamp is reported, never raised
            held = False
        if not held:
            evidence.findings.append(_archive_broken(moment, at))
            return evidence
        moment = status.timestamp
    end = int(stamps[-1].byte_range[2]) + int(stamps[-1].byte_range[3])
    evidence.certs, evidence.ocsps, evidence.crls = _dss(pdf[:end])
    evidence.time = moment
    return evidence


def _archive_broken(moment: datetime, at: datetime) -> Finding:
    when = iso_time(moment)
    if moment == at:
        return Finding(
            "pdf.archive_timestamp_invalid",
            f"Dấu thời gian lưu trữ mới nhất của tệp không xác thực được vào thời điểm kiểm tra ({when}): "
            "tệp bị sửa, hoặc chứng thư của đơn vị cấp dấu thời gian đã hết hạn mà chưa được gia hạn.",
            f"The file's newest archive timestamp cannot be validated at the validation time ({when}): the "
            "file was changed, or the time-stamping authority's certificate expired before a renewal.",
        )
    return Finding(
        "pdf.archive_timestamp_invalid",
        f"Một dấu thời gian lưu trữ của tệp không xác thực được vào thời điểm của dấu thời gian sau nó ({when}).",
        f"An archive timestamp of the file cannot be validated at the time of the one after it ({when}).",
    )
