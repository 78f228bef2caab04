"""Verifying a signed PDF học bạ offline (Điều 15): for each signature, the content unchanged, the
certificate chained to the trusted root and not revoked at signing time, and the timestamp."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel

from signing.pdf.archive import ArchiveEvidence, archive_evidence
from signing.pdf.sign import iso_time, role_from_reason
from signing.report import FileReport, Finding, SignatureReport
from signing.x509.certs import san_uris
from signing.x509.validation import CertificateStatus, OnlineRevocation, chain_context, validate_certificate

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
    at: datetime | None = None,
    expected: Sequence[str] | None = None,
    online: OnlineRevocation | None = None,
) -> FileReport:
    """Check every signature of a PDF học bạ offline against `roots` (and `crls`, when given), each at
    its signing time, as a verifier would at `at` (now by default). A PDF archived for the long term
    (PAdES-B-LTA, signing.pdf.archive) carries the revocation information of its signatures in its
    DSS, and document timestamps that prove it existed: when the newest is valid at `at`, the
    signatures are judged with that material, as of the oldest one's time, without --crl or network,
    long after the signers' certificates expired. `expected` lists roles that must each have signed
    (e.g. PRINCIPAL, ORGANISATION). Never raises on a malformed file: the report says what is wrong."""
    at = at or datetime.now(UTC)
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
    evidence = await archive_evidence(pdf, roots, at)
    report.findings += evidence.findings
    for emb in embedded:
        try:
            sig = await _verify_one(emb, reader, roots, crls, online, at, evidence)
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
    online: OnlineRevocation | None,
    at: datetime,
    evidence: ArchiveEvidence,
) -> SignatureReport:
    cert = x509.load_der_x509_certificate(emb.signer_cert.dump())
    staff_id, organisation = _identity(cert)
    reason = emb.sig_object.get("/Reason")
    role = "ORGANISATION" if organisation else role_from_reason(str(reason) if reason is not None else None)
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
        signer_validation_context=chain_context(roots, claimed, others),
        # the signature's timestamp, at the time the archive proves it existed (else at `at`)
        ts_validation_context=chain_context(roots, evidence.time or at, others),
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
    embedded_certs = [x509.load_der_x509_certificate(c.dump()) for c in others] + evidence.certs
    ts = status.timestamp_validity
    stamped = (
        ts is not None
        and bool(ts.intact and ts.valid and ts.trusted)
        and cert.not_valid_before_utc <= ts.timestamp <= cert.not_valid_after_utc
    )
    # the certificate is judged at the timestamp's time when there is a valid one within its
    # validity, else at the claimed time (a revocation after it is reported below as not disproved)
    moment = ts.timestamp if ts is not None and stamped else claimed or datetime.now(UTC)
    crls = [*crls, *evidence.crls]
    checked = await validate_certificate(
        cert, roots, crls, moment, intermediates=embedded_certs, online=online, ocsps=evidence.ocsps
    )
    sig.revocation_values = checked.ocsp_responses + checked.crls
    sig.chain_trusted = (
        status.validation_path is not None
        and (indication is None or indication in _TIME_OR_REVOCATION)
        and checked.chain_trusted
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
    if checked.revoked is None and evidence.time is None and at > cert.not_valid_after_utc:
        # what the verifier lacks: revocation information kept with the file while it could be had
        sig.findings.append(_NOT_ARCHIVED)
    if sig.chain_trusted:
        await _revocation(sig, cert, checked, stamped, roots, crls, embedded_certs, online, at)
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


_NOT_ARCHIVED = _finding(
    "pdf.no_long_term_validation",
    "Chứng thư số của người ký đã hết hạn và tệp không có dữ liệu xác thực dài hạn (DSS và dấu thời gian "
    "lưu trữ còn hiệu lực): không còn chứng minh được chữ ký hợp lệ tại thời điểm ký.",
    "The signer's certificate has expired and the file carries no long-term validation material (a DSS "
    "and a valid archive timestamp): the signature can no longer be shown valid at its signing time.",
)

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


async def _revocation(
    sig: SignatureReport,
    cert: x509.Certificate,
    checked: CertificateStatus,
    stamped: bool,
    roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    intermediates: Sequence[x509.Certificate],
    online: OnlineRevocation | None,
    at: datetime,
) -> None:
    """The revocation status at the trusted (or claimed) time; without a valid timestamp, a
    revocation after the claimed time (and before `at`) is not disproved either."""
    sig.revoked = checked.revoked
    if checked.revoked:
        sig.findings.append(
            _finding(
                "pdf.revoked",
                "Chứng thư số của người ký đã bị thu hồi tại thời điểm ký.",
                "The signer's certificate was revoked at the signing time.",
            )
        )
        sig.findings += checked.findings
        return
    if checked.revoked is None:
        sig.findings += checked.findings or [
            _finding(
                "pdf.revocation_unknown",
                "Không xác định được tình trạng thu hồi của chứng thư số.",
                "The certificate's revocation status could not be determined.",
            )
        ]
        return
    if stamped or not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
        return
    later = await validate_certificate(cert, roots, crls, at, intermediates=intermediates, online=online)
    if later.revoked:
        sig.revoked = True
        sig.findings.append(
            _finding(
                "pdf.revoked_later_unproven",
                "Chứng thư số đã bị thu hồi và không có dấu thời gian chứng minh chữ ký có trước khi thu hồi.",
                "The certificate was revoked and no timestamp proves the signature was made before that.",
            )
        )
