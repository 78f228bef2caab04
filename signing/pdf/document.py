"""The PDF học bạ: rendering, PAdES signatures and their verification (Điều 15).

The form follows the official học bạ THCS: page 1 identifies the student, then one page per school
year with the subjects, the learning and conduct results, the homeroom teacher's comment and, at the
bottom right, the principal's approval. The principal's signature block sits at a fixed position on
each year page, so a signature can be placed exactly between the title line and the name.

Each signature is an incremental revision (the signed bytes stay a prefix of the file): the principal
signs with a personal certificate, then the school seals with its organisation certificate. Both
carry an RFC 3161 timestamp when a time-stamping authority is available. Text is set in Liberation
Serif (metric-compatible with Times New Roman, full Vietnamese coverage), shipped in signing/fonts.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import math
import re
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import typst
from asn1crypto import algos, cms, core, tsp
from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from pyhanko.pdf_utils import images, layout
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from ledger.base.clock import VN_TZ
from signing.report import FileReport, Finding, SignatureReport
from signing.x509.certs import PrivateKey, issued_by, san_uris, sign_bytes
from signing.x509.pki import Pki

PACKAGE_DIR = Path(__file__).resolve().parent
FONTS_DIR = PACKAGE_DIR / "fonts"
TEMPLATE = PACKAGE_DIR / "templates" / "hocba.typ"
ASSETS_DIR = PACKAGE_DIR / "assets"
SIGNATURE_IMAGE = ASSETS_DIR / "signature-demo.png"
SEAL_IMAGE = ASSETS_DIR / "seal-demo.png"
FONT_FAMILY = "Liberation Serif"
# Liberation Serif Regular rescaled to 1000 units per em (pyHanko lays out stamp text in that unit),
# renamed as the SIL OFL requires of a modified font; the glyphs and metrics are unchanged.
STAMP_FONT = FONTS_DIR / "HocbaStampSerif-Regular.ttf"
STAMP_FONT_FAMILY = "Hocba Stamp Serif"
STAMP_TEXT_SIZE = 10
# the demo TSA's policy (an arbitrary private OID: demo tokens promise nothing)
DEMO_TSA_POLICY = "1.3.6.1.4.1.55555.1.1"

MM = 72 / 25.4  # PDF points per millimetre


@dataclass(frozen=True)
class Layout:
    """The fixed geometry of the form, in millimetres from the page's top-left corner. The Typst
    template draws with these numbers and the signature boxes are computed from them."""

    page_width: float = 210.0
    page_height: float = 297.0
    margin_left: float = 20.0
    margin_right: float = 15.0
    margin_top: float = 15.0
    margin_bottom: float = 10.0
    # the principal's block: place and date, title line, note, signature space, name
    block_left: float = 105.0
    block_width: float = 90.0
    place_date_top: float = 229.0
    title_top: float = 235.0
    note_top: float = 240.5
    signature_top: float = 245.0
    signature_bottom: float = 275.0
    name_top: float = 276.0
    signature_width: float = 72.0
    # the organisation seal: its diameter, and how much of the signature image it covers
    seal_diameter: float = 36.0
    seal_overlap: float = 1 / 3
    # room left of the seal for its signing-time line
    seal_text_width: float = 48.0

    def to_json(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


LAYOUT = Layout()
Rect = tuple[float, float, float, float]


class PdfError(RuntimeError):
    """The học bạ could not be rendered or signed."""


# ---------------------------------------------------------------------------------------------
# Rendering


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value)


def _date_vi(value: Any) -> str:
    """'2026-05-31' → '31/05/2026'; anything else as given."""
    try:
        return date.fromisoformat(str(value)).strftime("%d/%m/%Y")
    except ValueError:
        return _text(value)


_ADMIN_PREFIX = re.compile(r"^(huyện|quận|thị xã|thành phố|tỉnh|xã|phường|thị trấn)\s+", re.IGNORECASE)


def _place_date(school: Mapping[str, Any], principal: Mapping[str, Any]) -> str:
    """The place and date line above the principal's title, e.g. 'Yên Khánh, ngày 31 tháng 05 năm 2026'."""
    place = _ADMIN_PREFIX.sub("", _text(school.get("district")).strip()) or _text(school.get("province")).strip()
    try:
        when = date.fromisoformat(_text(principal.get("date")))
        day = f"ngày {when.day:02d} tháng {when.month:02d} năm {when.year}"
    except ValueError:
        day = "ngày ..... tháng ..... năm ........"
    return f"{place}, {day}" if place else day


def corrections_line(corrections: Mapping[str, Any] | None) -> str:
    """The form's corrections line under the subjects table."""
    corrections = corrections or {}
    total = corrections.get("total") or 0
    subjects = ", ".join(_text(s) for s in corrections.get("subjects") or []) if total else ""
    return f"Trong bảng này có sửa chữa ở: {total} chỗ, thuộc các môn: {subjects}"


def _year_view(year: Mapping[str, Any], school: Mapping[str, Any]) -> dict[str, Any]:
    def results(value: Mapping[str, Any] | None) -> list[str]:
        value = value or {}
        return [_text(value.get(k)) for k in ("1", "2", "year", "after_summer")]

    absences = year.get("absences") or {}
    principal = year.get("principal") or {}
    return {
        "year": _text(year.get("year")),
        "class": _text(year.get("class")),
        "grade": _text(year.get("grade")),
        "school_name": _text(year.get("school_name") or school.get("name")),
        "subjects": [
            [_text(s.get(k)) for k in ("name", "term1", "term2", "year", "reassessment", "comment")]
            for s in year.get("subjects") or []
        ],
        "learning": results(year.get("learning")),
        "conduct": results(year.get("conduct")),
        "excused": _text(absences.get("excused")),
        "unexcused": _text(absences.get("unexcused")),
        "homeroom_comment": _text(year.get("homeroom_comment")),
        "homeroom_teacher": _text(year.get("homeroom_teacher")),
        "promotion": _text(year.get("promotion")),
        "award": _text(year.get("award")),
        "corrections": corrections_line(year.get("corrections")),
        "place_date": _place_date(school, principal),
        "principal": _text(principal.get("name")),
    }


def _view(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the template prints, as strings (an absent value prints as an empty cell)."""
    school = doc.get("school") or {}
    student = doc.get("student") or {}
    years = doc.get("years") or []
    return {
        "hocba_id": _text(doc.get("hocba_id")),
        "school": {k: _text(school.get(k)) for k in ("id", "name", "province", "district")},
        "student": {
            **{
                k: _text(student.get(k))
                for k in ("student_id", "full_name", "gender", "ethnicity", "birth_place", "address", "guardian")
            },
            "birth_date": _date_vi(student.get("birth_date")),
        },
        "years": [_year_view(y, school) for y in years],
        "layout": LAYOUT.to_json(),
    }


def render_hocba(doc: Mapping[str, Any]) -> bytes:
    """The học bạ as PDF: the identity page, then one page per school year. The same document gives
    the same bytes (no creation date is embedded)."""
    data = json.dumps(_view(doc), ensure_ascii=False, sort_keys=True)
    try:
        pdf = typst.compile(
            str(TEMPLATE),
            root=str(TEMPLATE.parent),
            font_paths=[str(FONTS_DIR)],
            ignore_system_fonts=True,
            sys_inputs={"data": data},
            format="pdf",
        )
    except RuntimeError as exc:
        if "hocba-overflow" in str(exc):
            raise PdfError(
                "a school year's page is too long for the form (too many subjects or long comments)"
            ) from exc
        raise PdfError(f"the học bạ template did not compile: {exc}") from exc
    if not isinstance(pdf, bytes):
        raise PdfError("the học bạ template produced no PDF")
    return pdf


def _mm_rect(left: float, top: float, right: float, bottom: float) -> Rect:
    """A rectangle given in millimetres from the top-left, as PDF points (x1, y1, x2, y2)."""
    height = LAYOUT.page_height
    return (left * MM, (height - bottom) * MM, right * MM, (height - top) * MM)


def signature_box(doc: Mapping[str, Any], year_index: int) -> tuple[int, Rect]:
    """The principal's signature space on a year page: (page index, (x1, y1, x2, y2) in PDF points),
    between the title line and the principal's name."""
    years = doc.get("years") or []
    if not 0 <= year_index < len(years):
        raise PdfError(f"the học bạ has no school year {year_index}")
    centre = LAYOUT.block_left + LAYOUT.block_width / 2
    half = LAYOUT.signature_width / 2
    return 1 + year_index, _mm_rect(centre - half, LAYOUT.signature_top, centre + half, LAYOUT.signature_bottom)


def _image_extent(path: Path, box_width: float, box_height: float) -> tuple[float, float]:
    """Width and height (same unit as the box) of an image fitted into a box, keeping its aspect."""
    with Image.open(path) as img:
        ratio = img.width / img.height
    width = min(box_width, box_height * ratio)
    return width, width / ratio


def _principal_layout() -> tuple[Rect, float, float]:
    """The principal's stamp box in points and the size of the signature image inside it: the image
    takes the box above one line of signing-time text."""
    _, box = signature_box({"years": [{}]}, 0)
    x1, y1, x2, y2 = box
    text_band = STAMP_TEXT_SIZE * 1.6
    width, height = _image_extent(SIGNATURE_IMAGE, x2 - x1, y2 - y1 - text_band)
    return box, width, height


def seal_box(doc: Mapping[str, Any], year_index: int) -> tuple[int, Rect]:
    """The organisation seal's widget on a year page: the seal at actual size over the left third of
    the principal's signature image, with room on its left for the signing-time line."""
    page, _ = signature_box(doc, year_index)
    (x1, y1, x2, _), width, height = _principal_layout()
    text_band = STAMP_TEXT_SIZE * 1.6
    image_left = (x1 + x2) / 2 - width / 2
    image_middle = y1 + text_band + height / 2
    diameter = LAYOUT.seal_diameter * MM
    seal_right = image_left + width * LAYOUT.seal_overlap
    seal_left = seal_right - diameter
    return page, (
        seal_left - LAYOUT.seal_text_width * MM,
        image_middle - diameter / 2,
        seal_right,
        image_middle + diameter / 2,
    )


# ---------------------------------------------------------------------------------------------
# Signing


def _signer(key: PrivateKey, certificate: x509.Certificate, chain: Sequence[x509.Certificate]) -> signers.Signer:
    key_der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return signers.SimpleSigner(
        signing_cert=_asn1_cert(certificate),
        signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
            [_asn1_cert(c) for c in chain]
        ),
    )


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


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


def _role_from_reason(reason: str | None) -> str | None:
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
        _, width, height = _principal_layout()
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
    key: PrivateKey,
    certificate: x509.Certificate,
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
) -> bytes:
    """Add one PAdES signature as a new revision of `pdf` (the input stays a prefix of the result).

    `appearance` "principal" shows the signature image in the principal's signature space of the year
    page; "seal" shows the school's seal at actual size over the left third of it. Both show the
    signing time. Without `year_index` the last school year's page is used (`doc` gives the number of
    years; without it, the last page of the PDF). `role` is recorded in the signature's /Reason.
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
    signed_at = iso_time(signing_time)
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        reason=_reason(role),
        name=signer_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
    )
    pdf_signer = _TimedPdfSigner(
        meta,
        _signer(key, certificate, chain),
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


class LocalTimeStamper(TimeStamper):
    """An in-process RFC 3161 time-stamping authority: answers each request with a token signed by
    the given TSA key (EC or RSA, SHA-256) at the current time of the host clock."""

    def __init__(
        self,
        key: PrivateKey,
        certificate: x509.Certificate,
        chain: Sequence[x509.Certificate] = (),
        *,
        policy: str = DEMO_TSA_POLICY,
    ) -> None:
        super().__init__(include_nonce=True)  # type: ignore[no-untyped-call]
        self.key = key
        self.certificate = _asn1_cert(certificate)
        self.chain = [_asn1_cert(c) for c in chain]
        # Parts of every token, encoded once: asn1crypto re-encodes a parsed value placed in a new
        # structure, which made each token cost tens of milliseconds.
        self._cert_der = [c.dump() for c in (self.certificate, *self.chain)]
        self._subject_der = self.certificate.subject.dump()
        self._issuer_der = self.certificate.issuer.dump()
        self._signing_certificate_der = as_signing_certificate_v2(self.certificate).dump()
        self.policy = policy

    def token(self, req: tsp.TimeStampReq, at: datetime) -> cms.ContentInfo:
        """The timestamp token for a request, as of `at`."""
        tst_info = {
            "version": "v1",
            "policy": self.policy,
            "message_imprint": req["message_imprint"],
            "serial_number": secrets.randbits(64),
            "gen_time": at.astimezone(UTC),
            "tsa": asn1_x509.GeneralName(name="directory_name", value=asn1_x509.Name.load(self._subject_der)),
        }
        if req["nonce"].native is not None:
            tst_info["nonce"] = req["nonce"]
        content = tsp.TSTInfo(tst_info).dump()
        attributes = [
            ("content_type", "tst_info"),
            ("signing_time", cms.Time({"utc_time": core.UTCTime(at.astimezone(UTC))})),
            ("signing_certificate_v2", tsp.SigningCertificateV2.load(self._signing_certificate_der)),
            ("message_digest", hashlib.sha256(content).digest()),
        ]
        signed_attrs = cms.CMSAttributes(
            [simple_cms_attribute(name, value) for name, value in attributes]  # type: ignore[no-untyped-call]
        )
        ecdsa = isinstance(self.key, ec.EllipticCurvePrivateKey)
        digest = algos.DigestAlgorithm({"algorithm": "sha256"})
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier(
                    {
                        "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                            {
                                "issuer": asn1_x509.Name.load(self._issuer_der),
                                "serial_number": self.certificate.serial_number,
                            }
                        )
                    }
                ),
                "digest_algorithm": digest,
                "signature_algorithm": algos.SignedDigestAlgorithm(
                    {"algorithm": "sha256_ecdsa" if ecdsa else "sha256_rsa"}
                ),
                "signed_attrs": signed_attrs,
                "signature": sign_bytes(self.key, signed_attrs.dump()),
            }
        )
        signed_data = cms.SignedData(
            {
                "version": "v3",
                "digest_algorithms": cms.DigestAlgorithms([digest]),
                "encap_content_info": cms.EncapsulatedContentInfo(
                    {"content_type": "tst_info", "content": cms.ParsableOctetString(content)}
                ),
                "certificates": [cms.CertificateChoices.load(der) for der in self._cert_der],
                "signer_infos": [signer_info],
            }
        )
        return cms.ContentInfo({"content_type": "signed_data", "content": signed_data})

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return tsp.TimeStampResp(
            {
                "status": tsp.PKIStatusInfo({"status": "granted"}),
                "time_stamp_token": self.token(req, datetime.now(UTC)),
            }
        )


def local_time_stamper(pki: Pki) -> LocalTimeStamper:
    """The PKI's demo time-stamping authority, in process."""
    key, cert = pki.time_stamper_key()
    return LocalTimeStamper(key, cert)


# ---------------------------------------------------------------------------------------------
# Verification


def _finding(code: str, vi: str, en: str) -> Finding:
    return Finding(code, vi, en)


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


def _identity(cert: x509.Certificate) -> tuple[str | None, bool]:
    """(staff id, is an organisation certificate) from the certificate's urn:hocba names."""
    staff_id = None
    organisation = False
    for uri in san_uris(cert):
        parts = uri.split(":")
        if uri.startswith("urn:hocba:staff:") and len(parts) >= 5:
            staff_id = parts[-1]
        elif uri.startswith("urn:hocba:organisation:"):
            organisation = True
    return staff_id, organisation


def _revocation_date(
    cert: x509.Certificate, crls: Sequence[x509.CertificateRevocationList], issuers: Sequence[x509.Certificate]
) -> datetime | None:
    """When `cert` was revoked according to a CRL signed by its issuer, or None."""
    for crl in crls:
        if crl.issuer != cert.issuer:
            continue
        if not any(i.subject == crl.issuer and crl.is_signature_valid(i.public_key()) for i in issuers):  # type: ignore[arg-type]
            continue
        entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if entry is not None:
            return entry.revocation_date_utc
    return None


def _validation_context(
    roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    moment: datetime | None,
    others: Sequence[asn1_x509.Certificate] = (),
) -> ValidationContext:
    return ValidationContext(
        trust_roots=[_asn1_cert(r) for r in roots],
        other_certs=list(others),
        crls=[asn1_crl.CertificateList.load(c.public_bytes(serialization.Encoding.DER)) for c in crls],
        allow_fetching=False,
        revocation_mode="hard-fail" if crls else "soft-fail",
        retroactive_revinfo=True,
        moment=moment,
    )


UNREADABLE = _finding(
    "pdf.unreadable",
    "Không đọc được tệp PDF hoặc chữ ký trong tệp.",
    "The PDF file or a signature in it cannot be read.",
)


async def verify_pdf(
    pdf: bytes,
    roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList] = (),
    *,
    expected: Sequence[str] | None = None,
) -> FileReport:
    """Check every signature of a PDF học bạ offline against `roots` (and `crls`, when given), each at
    its signing time. `expected` lists roles that must each have signed (e.g. PRINCIPAL, ORGANISATION).
    Never raises on a malformed file: the report says what is wrong."""
    report = FileReport(kind="pdf")
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = list(reader.embedded_regular_signatures)
    except Exception:  # a damaged file is reported, never raised
        report.findings.append(UNREADABLE)
        return report
    if not embedded:
        report.findings.append(
            _finding("pdf.unsigned", "Tệp PDF không có chữ ký số nào.", "The PDF file has no digital signature.")
        )
    for emb in embedded:
        try:
            sig = await _verify_one(emb, reader, roots, crls)
        except Exception:  # a damaged signature is reported, never raised
            sig = SignatureReport(signer="?", findings=[UNREADABLE])
        report.signatures.append(sig)
    # every byte of the file must be covered by a signature (or a document timestamp)
    ends = [_covered_end(emb) for emb in embedded]
    try:
        covered = max([0, *ends, *(_covered_end(t) for t in reader.embedded_timestamp_signatures)])
    except Exception:
        covered = max([0, *ends])
    if embedded and covered < len(pdf.rstrip(b"\r\n\x00 ")):
        finding = _finding(
            "pdf.modified_after_signing",
            "Tệp đã bị thêm hoặc sửa nội dung sau chữ ký cuối cùng.",
            "Content was added or changed after the last signature.",
        )
        report.findings.append(finding)
        last = report.signatures[ends.index(max(ends))]
        last.intact = False
        last.findings.append(finding)
    for role in expected or ():
        if not any(s.role == role for s in report.signatures):
            report.findings.append(
                _finding(
                    "pdf.signature_missing",
                    f"Thiếu chữ ký với vai trò {role}.",
                    f"No signature in the role {role}.",
                )
            )
    return report


def _covered_end(emb: Any) -> int:
    """The offset just past the last byte a signature covers."""
    try:
        return int(emb.byte_range[2]) + int(emb.byte_range[3])
    except (TypeError, ValueError, IndexError):
        return 0


async def _verify_one(
    emb: Any,
    reader: PdfFileReader,
    roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
) -> SignatureReport:
    cert = x509.load_der_x509_certificate(emb.signer_cert.dump())
    staff_id, organisation = _identity(cert)
    reason = emb.sig_object.get("/Reason")
    role = "ORGANISATION" if organisation else _role_from_reason(str(reason) if reason is not None else None)
    claimed = emb.self_reported_timestamp
    sig = SignatureReport(signer=_common_name(cert), staff_id=staff_id, role=role)
    revision = int(emb.signed_revision)  # the unsigned document is revision 0
    pages = int(reader.root["/Pages"]["/Count"])
    sig.parts = [f"revision {revision}", f"pages 1-{pages}" if pages > 1 else "page 1"]
    if claimed is None:
        sig.findings.append(
            _finding(
                "pdf.no_signing_time",
                "Chữ ký không ghi thời điểm ký.",
                "The signature does not state its signing time.",
            )
        )
    else:
        sig.signing_time = iso_time(claimed)
    others = list(emb.other_embedded_certs)
    status: PdfSignatureStatus = await async_validate_pdf_signature(
        emb,
        signer_validation_context=_validation_context(roots, crls, claimed, others),
        ts_validation_context=_validation_context(roots, crls, None, others),
    )
    coverage_ok = status.coverage is not None and status.coverage >= SignatureCoverageLevel.ENTIRE_REVISION
    sig.intact = bool(status.intact and status.valid and coverage_ok)
    if not sig.intact:
        sig.findings.append(
            _finding(
                "pdf.not_intact",
                "Nội dung được ký đã bị thay đổi hoặc chữ ký bị hỏng.",
                "The signed content was changed or the signature is damaged.",
            )
        )
    if status.modification_level is not None and status.docmdp_ok is False:
        sig.findings.append(
            _finding(
                "pdf.disallowed_changes",
                "Tệp có thay đổi không được phép sau chữ ký này.",
                "The file has changes after this signature that are not allowed.",
            )
        )
    problem = status.trust_problem_indic
    indication: str | None = str(getattr(problem, "name", problem)) if problem is not None else None
    embedded_certs = [x509.load_der_x509_certificate(c.dump()) for c in others]
    sig.chain_trusted = (
        status.validation_path is not None
        and (indication is None or indication in _TIME_OR_REVOCATION)
        and _chains_to_root(cert, roots, embedded_certs)
    )
    if not sig.chain_trusted:
        sig.findings.append(
            _finding(
                "pdf.untrusted",
                "Chứng thư số của người ký không được cấp bởi tổ chức chứng thực tin cậy.",
                "The signer's certificate does not chain to a trusted root.",
            )
        )
    in_period = claimed is not None and cert.not_valid_before_utc <= claimed <= cert.not_valid_after_utc
    sig.valid_at_signing = in_period and indication not in {"EXPIRED", "NOT_YET_VALID", "OUT_OF_BOUNDS_NO_POE"}
    if not sig.valid_at_signing:
        sig.findings.append(
            _finding(
                "pdf.certificate_not_valid_at_signing",
                "Chứng thư số không còn hiệu lực (hoặc chưa có hiệu lực) tại thời điểm ký.",
                "The certificate was not within its validity period at the signing time.",
            )
        )
    ts = status.timestamp_validity
    if ts is not None:
        sig.timestamp = iso_time(ts.timestamp)
        sig.timestamp_valid = bool(ts.intact and ts.valid and ts.trusted)
        if not sig.timestamp_valid:
            sig.findings.append(
                _finding(
                    "pdf.timestamp_invalid",
                    "Dấu thời gian của chữ ký không hợp lệ.",
                    "The signature's timestamp is not valid.",
                )
            )
        elif claimed is not None and (claimed - ts.timestamp).total_seconds() > 300:
            sig.findings.append(
                _finding(
                    "pdf.signing_time_after_timestamp",
                    "Thời điểm ký ghi trong chữ ký muộn hơn dấu thời gian.",
                    "The stated signing time is later than the timestamp.",
                )
            )
    if crls:
        revoked_at = _revocation_date(cert, crls, [*roots, *embedded_certs])
        proven_before = (
            revoked_at is not None and sig.timestamp_valid is True and ts is not None and ts.timestamp < revoked_at
        )
        if (
            indication == "REVOKED"
            or status.revocation_details is not None
            or (revoked_at is not None and not proven_before and (claimed is None or revoked_at <= claimed))
        ):
            sig.revoked = True
            sig.findings.append(
                _finding(
                    "pdf.revoked",
                    "Chứng thư số của người ký đã bị thu hồi tại thời điểm ký.",
                    "The signer's certificate was revoked at the signing time.",
                )
            )
        elif revoked_at is not None and not proven_before:
            sig.revoked = True
            sig.findings.append(
                _finding(
                    "pdf.revoked_later_unproven",
                    "Chứng thư số đã bị thu hồi và không có dấu thời gian chứng minh chữ ký có trước khi thu hồi.",
                    "The certificate was revoked and no timestamp proves the signature was made before that.",
                )
            )
        elif indication in {"TRY_LATER", "REVOCATION_OUT_OF_BOUNDS_NO_POE"}:
            sig.revoked = None
            sig.findings.append(
                _finding(
                    "pdf.revocation_unknown",
                    "Không xác định được tình trạng thu hồi của chứng thư số.",
                    "The certificate's revocation status could not be determined.",
                )
            )
        else:
            sig.revoked = False
    if indication is not None and not sig.findings:
        # a problem none of the checks above names (a key usage the signature does not allow, …)
        sig.findings.append(
            _finding(
                "pdf.validation_failed",
                f"Không xác thực được chữ ký ({indication}).",
                f"The signature could not be validated ({indication}).",
            )
        )
    return sig


# pyHanko's indications that concern the time or the revocation status, not the chain itself
_TIME_OR_REVOCATION = {
    "EXPIRED",
    "NOT_YET_VALID",
    "OUT_OF_BOUNDS_NO_POE",
    "OUT_OF_BOUNDS_NOT_REVOKED",
    "REVOKED",
    "REVOKED_NO_POE",
    "REVOKED_CA_NO_POE",
    "REVOCATION_OUT_OF_BOUNDS_NO_POE",
    "TRY_LATER",
    "NO_POE",
}


def _chains_to_root(
    cert: x509.Certificate, roots: Sequence[x509.Certificate], intermediates: Sequence[x509.Certificate]
) -> bool:
    """Whether each certificate from `cert` up is signed by the next, ending at one of `roots`."""
    current = cert
    for _ in range(8):
        for root in roots:
            if current == root or issued_by(current, root):
                return True
        issuer = next((c for c in intermediates if c != current and issued_by(current, c)), None)
        if issuer is None:
            return False
        current = issuer
    return False


# ---------------------------------------------------------------------------------------------
# Demo images and the stamp font


def _supersample(size: tuple[int, int], scale: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = Image.new("RGBA", (size[0] * scale, size[1] * scale), (0, 0, 0, 0))
    return img, ImageDraw.Draw(img)


def _signature_image() -> Image.Image:
    """A blue, cursive-looking signature stroke on a transparent background."""
    width, height, scale = 720, 280, 3
    img, draw = _supersample((width, height), scale)
    blue = (18, 42, 160, 255)
    points: list[tuple[float, float, float]] = []
    steps = 900
    for i in range(steps + 1):
        t = i / steps
        angle = t * 2 * math.pi * 4.5
        # a run of slanted loops, rising at the start and falling into the flourish
        x = 60 + 520 * t - 38 * math.sin(angle) + 25 * math.sin(angle / 3)
        y = 140 - 60 * math.cos(angle) * (0.6 + 0.5 * math.sin(math.pi * t)) + 40 * (t - 0.5) ** 2 * 4
        pressure = 3.2 + 2.4 * math.sin(angle + 0.6) ** 2 * (1 - 0.6 * t)
        points.append((x, y, pressure))
    for i in range(120):
        t = i / 119
        x = 120 + 560 * t
        y = 225 - 35 * math.sin(math.pi * t) + 10 * t
        points.append((x, y, 2.6 + 2.0 * math.sin(math.pi * t)))
    for (x0, y0, p0), (x1, y1, _p1) in itertools.pairwise(points):
        if math.hypot(x1 - x0, y1 - y0) > 40:
            continue
        draw.line([(x0 * scale, y0 * scale), (x1 * scale, y1 * scale)], fill=blue, width=max(1, int(p0 * scale)))
        r = p0 * scale / 2
        draw.ellipse([x1 * scale - r, y1 * scale - r, x1 * scale + r, y1 * scale + r], fill=blue)
    img = img.resize((width, height), Image.Resampling.LANCZOS)
    left, top, right, bottom = img.getbbox() or (0, 0, width, height)
    return img.crop((max(0, left - 6), max(0, top - 6), min(width, right + 6), min(height, bottom + 6)))


def _star(cx: float, cy: float, outer: float, inner: float) -> list[tuple[float, float]]:
    points = []
    for i in range(10):
        radius = outer if i % 2 == 0 else inner
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


def _seal_image(top_text: str, bottom_text: str, centre_text: str, dpi: int = 300) -> Image.Image:
    """A red round seal, 36 mm across at `dpi`: two rings with the school's name around the top, its
    district around the bottom, and a star in the middle."""
    size = round(LAYOUT.seal_diameter / 25.4 * dpi)
    scale = 2
    img, draw = _supersample((size, size), scale)
    red = (205, 22, 30, 255)
    full = size * scale
    c = full / 2
    outer = c - 6 * scale
    draw.ellipse([c - outer, c - outer, c + outer, c + outer], outline=red, width=11 * scale)
    inner = outer * 0.66
    draw.ellipse([c - inner, c - inner, c + inner, c + inner], outline=red, width=5 * scale)
    draw.polygon(_star(c, c - inner * 0.18, inner * 0.42, inner * 0.17), fill=red)
    bold = ImageFont.truetype(str(FONTS_DIR / "LiberationSerif-Bold.ttf"), int(full * 0.072))
    small = ImageFont.truetype(str(FONTS_DIR / "LiberationSerif-Bold.ttf"), int(full * 0.06))
    draw.text((c, c + inner * 0.5), centre_text, font=small, fill=red, anchor="mm")
    text_radius = (outer + inner) / 2

    def arc(text: str, middle: float, span: float, font: ImageFont.FreeTypeFont, top: bool) -> None:
        text = unicodedata.normalize("NFC", text)
        widths = [font.getlength(ch) for ch in text]
        total = sum(widths)
        angle_per_px = span / total
        angle = middle - span / 2 if top else middle + span / 2
        for ch, w in zip(text, widths, strict=True):
            step = w * angle_per_px
            mid = angle + step / 2 if top else angle - step / 2
            x = c + text_radius * math.cos(mid)
            y = c + text_radius * math.sin(mid)
            glyph = Image.new("RGBA", (int(font.size * 2), int(font.size * 2)), (0, 0, 0, 0))
            ImageDraw.Draw(glyph).text((font.size, font.size), ch, font=font, fill=red, anchor="mm")
            rotation = -math.degrees(mid) - 90 if top else -math.degrees(mid) + 90
            glyph = glyph.rotate(rotation, resample=Image.Resampling.BICUBIC)
            img.alpha_composite(glyph, (int(x - glyph.width / 2), int(y - glyph.height / 2)))
            angle = angle + step if top else angle - step
        return None

    arc(top_text, -math.pi / 2, math.radians(230), bold, top=True)
    arc(bottom_text, math.pi / 2, math.radians(95), small, top=False)
    img = img.filter(ImageFilter.GaussianBlur(0.6))
    return img.resize((size, size), Image.Resampling.LANCZOS)


def demo_images(directory: Path = ASSETS_DIR) -> tuple[Path, Path]:
    """Draw the demo principal's signature and the demo school's seal as transparent PNGs."""
    directory.mkdir(parents=True, exist_ok=True)
    signature = directory / "signature-demo.png"
    seal = directory / "seal-demo.png"
    _signature_image().save(signature, optimize=True)
    _seal_image("TRƯỜNG THCS KHÁNH PHÚ", "YÊN KHÁNH", "MẪU").save(seal, dpi=(300, 300), optimize=True)
    return signature, seal


STAMP_CHARACTERS = "0123456789-:+TZ. "  # an ISO 8601 time is all a stamp writes


def stamp_font(directory: Path = FONTS_DIR) -> Path:
    """Write the stamp font: Liberation Serif Regular at 1000 units per em, under its own name,
    reduced to the characters of an ISO 8601 time (embedding a subset of a small font into each
    signature's appearance is then quick)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.scaleUpem import scale_upem

    font = TTFont(str(directory / "LiberationSerif-Regular.ttf"), recalcTimestamp=False)
    options = subset.Options()
    options.layout_features = []
    options.hinting = False
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    reducer = subset.Subsetter(options)
    reducer.populate(text=STAMP_CHARACTERS)
    reducer.subset(font)
    scale_upem(font, 1000)
    if "FFTM" in font:  # a font editor's timestamp, which the PDF subsetter cannot keep
        del font["FFTM"]
    names = font["name"]
    postscript = STAMP_FONT_FAMILY.replace(" ", "") + "-Regular"
    replacements = {
        1: STAMP_FONT_FAMILY,
        3: f"{postscript};rescaled to 1000 units per em",
        4: f"{STAMP_FONT_FAMILY} Regular",
        6: postscript,
        16: STAMP_FONT_FAMILY,
        21: STAMP_FONT_FAMILY,
    }
    for record in list(names.names):
        if record.nameID in replacements:
            record.string = replacements[record.nameID]
    target = directory / STAMP_FONT.name
    font.save(str(target))
    return target
