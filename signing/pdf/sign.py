"""PAdES signatures on the học bạ: each an incremental revision (the signed bytes stay a prefix of the
file), with its visible stamp: the principal's signature image, or the school's seal over a third of
it, and the signing time in Vietnam's time, day first (Điều 13)."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pyhanko.pdf_utils import images, layout
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.stamp import TextStampStyle

from ledger.base import vietnamese
from ledger.base.clock import VN_TZ
from signing.pdf.layout import (
    LAYOUT,
    MM,
    SEAL_IMAGE,
    SIGNATURE_IMAGE,
    STAMP_FONT,
    STAMP_TEXT_SIZE,
    PdfError,
    principal_layout,
    seal_box,
    signature_box,
)
from signing.x509.certs import DocumentKey, asn1_certificate
from signing.x509.signers import KeyHolder, MemoryKey

# Signing


def _signer(
    key: DocumentKey | KeyHolder,
    certificate: x509.Certificate | None,
    chain: Sequence[x509.Certificate],
    batch_size: int = 1,
) -> signers.Signer:
    """pyHanko's signer over the key: in memory, on a token, or at a remote-signing service; it signs
    the PDF's signed attributes (of `batch_size` PDFs under one authorisation, where the key needs one)."""
    if isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        if certificate is None:
            raise PdfError("a key in memory signs with its certificate")
        return MemoryKey(key, certificate, tuple(chain)).pdf_signer()
    signer = key.pdf_signer(batch_size=batch_size)
    if chain:
        signer.cert_registry.register_multiple([asn1_certificate(c) for c in chain])
    return signer


class _TimedPdfSigner(signers.PdfSigner):
    """Signs with a given signing time (the signingTime attribute, /M and the appearance) instead of
    the host clock."""

    def __init__(self, *args: Any, signing_time: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._signing_time = signing_time

    def init_signing_session(self, *args: Any, **kwargs: Any) -> Any:
        session = super().init_signing_session(*args, **kwargs)
        session.system_time = self._signing_time
        return session


def iso_time(moment: datetime) -> str:
    """ISO 8601 in Vietnam time, to the second: 2026-05-31T10:15:00+07:00."""
    return moment.astimezone(VN_TZ).isoformat(timespec="seconds")


ROLE_REASONS = {
    "PRINCIPAL": "Hiệu trưởng phê duyệt học bạ",
    "ORGANISATION": "Nhà trường đóng dấu học bạ",
}


def _reason(role: str) -> str:
    """The signature's /Reason: the role code, then its description for people reading the PDF."""
    description = ROLE_REASONS.get(role)
    return f"{role}: {description}" if description else role


def role_from_reason(reason: str | None) -> str | None:
    if not reason:
        return None
    code = reason.split(":", 1)[0].strip()
    return code if re.fullmatch(r"[A-Z_]+", code) else None


def _rule(x: layout.AxisAlignment, y: layout.AxisAlignment, margins: layout.Margins) -> layout.SimpleBoxLayoutRule:
    return layout.SimpleBoxLayoutRule(
        x_align=x, y_align=y, margins=margins, inner_content_scaling=layout.InnerScaling.NO_SCALING
    )


def _stamp_style(appearance: Literal["principal", "seal"], signed_at: str) -> TextStampStyle:
    text_style = TextBoxStyle(
        font=GlyphAccumulatorFactory(str(STAMP_FONT)),
        font_size=STAMP_TEXT_SIZE,
        border_width=0,
    )
    align, none = layout.AxisAlignment, layout.Margins(0, 0, 0, 0)
    if appearance == "principal":
        _, width, height = principal_layout()
        background = images.PdfImage(str(SIGNATURE_IMAGE), box=layout.BoxConstraints(width, height))
        background_layout = _rule(align.ALIGN_MID, align.ALIGN_MAX, none)
        # the time goes under the right part of the image, clear of the seal over its left third
        text_layout = _rule(align.ALIGN_MAX, align.ALIGN_MIN, layout.Margins(0, 2, 0, 2))
    else:
        diameter = LAYOUT.seal_diameter * MM
        background = images.PdfImage(str(SEAL_IMAGE), box=layout.BoxConstraints(diameter, diameter))
        background_layout = _rule(align.ALIGN_MAX, align.ALIGN_MID, none)
        text_layout = _rule(align.ALIGN_MIN, align.ALIGN_MIN, layout.Margins(0, 0, 0, 4))
    return TextStampStyle(
        stamp_text=signed_at.replace("%", "%%"),
        text_box_style=text_style,
        inner_content_layout=text_layout,
        background=background,
        background_layout=background_layout,
        background_opacity=1.0,
        border_width=0,
    )


async def sign_pdf(
    pdf: bytes,
    key: DocumentKey | KeyHolder,
    certificate: x509.Certificate | None,
    *,
    chain: Sequence[x509.Certificate],
    appearance: Literal["principal", "seal"],
    role: str,
    signer_name: str,
    signing_time: datetime,
    time_stamper: Any | None,
    field_name: str,
    year_index: int | None = None,
    doc: Mapping[str, Any] | None = None,
    signer: signers.Signer | None = None,
) -> bytes:
    """Add one PAdES signature as a new revision of `pdf` (the input stays a prefix of the result),
    with a key in memory and its `certificate`, or any signer (a token, a remote-signing service).

    `appearance` "principal" shows the signature image in the principal's signature space of the year
    page; "seal" shows the school's seal at actual size over the left third of it. Both show the
    signing time as a school writes it (12/08/2026 09:00, in Vietnam's time). Without `year_index`
    the last school year's page is used (`doc` gives the number of years; without it, the last page
    of the PDF). `role` is recorded in the signature's /Reason. `signer`: pyHanko's signer over the
    key, when several PDFs share one (`sign_pdfs`).
    """
    if signing_time.tzinfo is None:
        raise PdfError("the signing time needs a timezone")
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    pages = int(reader.root["/Pages"]["/Count"])
    if year_index is None:
        year_index = len(doc.get("years") or []) - 1 if doc is not None else pages - 2
    placement = seal_box if appearance == "seal" else signature_box
    page, box = placement({"years": [{}] * (year_index + 1)}, year_index)
    if not 0 <= page < pages:
        raise PdfError(f"the PDF has no page {page + 1} for school year {year_index}")
    signed_at = vietnamese.moment(signing_time)
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        reason=_reason(role),
        name=signer_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
    )
    pdf_signer = _TimedPdfSigner(
        meta,
        signer or _signer(key, certificate, chain),
        timestamper=time_stamper,
        stamp_style=_stamp_style(appearance, signed_at),
        new_field_spec=fields.SigFieldSpec(
            sig_field_name=field_name,
            on_page=page,
            box=(round(box[0]), round(box[1]), round(box[2]), round(box[3])),
        ),
        signing_time=signing_time,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    out = await pdf_signer.async_sign_pdf(writer, output=io.BytesIO())
    return bytes(out.getvalue())


async def sign_pdfs(
    pdfs: Sequence[bytes],
    key: KeyHolder,
    *,
    chain: Sequence[x509.Certificate],
    appearance: Literal["principal", "seal"],
    role: str,
    signer_name: str,
    signing_time: datetime,
    time_stamper: Any | None,
    field_name: str,
) -> list[bytes]:
    """`sign_pdf` over several PDFs (a class's học bạ) with one key. A key at a remote-signing service
    signs them under one authorisation over all their hashes (CSC `numSignatures`), or as few as the
    service's limit per authorisation allows (`batch_limit`): the PDFs of a batch are signed together,
    each waiting for the others' hashes before the service is asked. Other keys sign one after the
    other (a token's PIN is asked once anyway)."""
    limiter = getattr(key, "batch_limit", None)
    limit = limiter(len(pdfs)) if limiter is not None else 1
    signed: list[bytes] = []
    for start in range(0, len(pdfs), limit):
        batch = pdfs[start : start + limit]
        shared = _signer(key, None, chain, batch_size=len(batch)) if limit > 1 else None

        async def one(pdf: bytes, signer: signers.Signer | None = shared) -> bytes:
            return await sign_pdf(
                pdf,
                key,
                None,
                chain=chain,
                appearance=appearance,
                role=role,
                signer_name=signer_name,
                signing_time=signing_time,
                time_stamper=time_stamper,
                field_name=field_name,
                signer=signer,
            )

        if shared is None:
            signed += [await one(pdf) for pdf in batch]
        else:
            signed += await asyncio.gather(*(one(pdf) for pdf in batch))
    return signed
