"""The verification report of a signed file (XML or PDF học bạ), the same shape for both (Điều 15):
for each signature, who signed it and in which role, what it covers, when, whether the content is
intact, whether the certificate chained to the trusted root, was valid at the signing time and not
revoked, and the timestamp; then an overall result. Every finding is in Vietnamese and English."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ledger.base import vietnamese


@dataclass(frozen=True)
class Finding:
    code: str
    vi: str
    en: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "vi": self.vi, "en": self.en}


@dataclass
class SignatureReport:
    """One signature. `None` for a check that does not apply (a signature without a timestamp)."""

    signer: str  # the certificate subject's common name
    staff_id: str | None = None  # from the certificate's urn:hocba:staff:<school>:<id> name
    role: str | None = None  # the role the signature was made in (SUBJECT_TEACHER, …, ORGANISATION)
    parts: list[str] = field(default_factory=list)  # the Ids (XML) or page ranges (PDF) it covers
    signing_time: str | None = None  # ISO 8601 with +07:00
    timestamp: str | None = None  # the RFC 3161 timestamp's time, ISO 8601 with +07:00
    intact: bool = False  # the covered content is unchanged
    chain_trusted: bool = False  # the certificate chains to the trusted root
    valid_at_signing: bool = False  # signed within the certificate's validity period
    revoked: bool | None = None  # revoked at or before the signing time (None: no revocation data)
    timestamp_valid: bool | None = None
    # XML: "XAdES-LTA" in a document with archive timestamps, "XAdES-LT" with the certificates and
    # revocation values kept, "XAdES-T" with an embedded timestamp, "XAdES-B" without (issued before)
    profile: str | None = None
    # signed in a departed teacher's place (Điều 18.5, 18.7), as the signature's signed KyThay names it:
    # NguoiKy/NguoiKyHoTen (who signs), ThayMat/ThayMatHoTen (in whose place), QuyetDinh (the decision)
    on_behalf_of: dict[str, str] | None = None
    findings: list[Finding] = field(default_factory=list)
    # the OCSP responses and CRLs (DER) the certificate's chain was checked with, kept with the
    # signature; not part of the report's JSON
    revocation_values: list[bytes] = field(default_factory=list, repr=False)
    # the CA certificates of the chain it was validated along (DER), kept with it likewise
    validation_chain: list[bytes] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return (
            self.intact
            and self.chain_trusted
            and self.valid_at_signing
            and self.revoked is False
            and self.timestamp_valid is not False
            and not self.findings
        )

    @property
    def trusted_time_vi(self) -> str:
        """The trusted signing time as the report states it (the timestamp's time, Điều 12, 15)."""
        if self.timestamp is None:
            return "Không có thời điểm ký tin cậy (chữ ký không kèm dấu thời gian)"
        try:
            shown = vietnamese.moment(datetime.fromisoformat(self.timestamp))
        except (TypeError, ValueError):
            shown = str(self.timestamp)
        return f"Thời điểm ký tin cậy: {shown}"

    @property
    def substitution_vi(self) -> str | None:
        """'Ký thay: <người ký> thay mặt <người được thay>, theo <quyết định>' (Điều 18.5, 18.7)."""
        s = self.on_behalf_of
        return f"Ký thay: {s['NguoiKyHoTen']} thay mặt {s['ThayMatHoTen']}, theo {s['QuyetDinh']}" if s else None

    @property
    def substitution_en(self) -> str | None:
        s = self.on_behalf_of
        return f"Signed by {s['NguoiKyHoTen']} on behalf of {s['ThayMatHoTen']}, under {s['QuyetDinh']}" if s else None

    def notes_vi(self) -> list[str]:
        """What a reader is told of the signature beyond the checks: its trusted time (XML), and
        who signed in whose place."""
        notes = [self.trusted_time_vi] if self.profile else []
        return notes + ([self.substitution_vi] if self.substitution_vi else [])

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "signer": self.signer,
            "staff_id": self.staff_id,
            "role": self.role,
            "parts": self.parts,
            "signing_time": self.signing_time,
            "timestamp": self.timestamp,
            "intact": self.intact,
            "chain_trusted": self.chain_trusted,
            "valid_at_signing": self.valid_at_signing,
            "revoked": self.revoked,
            "timestamp_valid": self.timestamp_valid,
            "profile": self.profile,
            "trusted_time_vi": self.trusted_time_vi,
            "on_behalf_of": self.on_behalf_of,
            "substitution_vi": self.substitution_vi,
            "substitution_en": self.substitution_en,
            "findings": [f.to_json() for f in self.findings],
        }


@dataclass
class FileReport:
    """A whole file: valid only when it has signatures, every one is valid, and nothing else is wrong
    (the document does not match its schema, a required signature is missing, …)."""

    kind: str  # "xml" or "pdf"
    signatures: list[SignatureReport] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    receipt: dict[str, Any] | None = None  # the checked ledger receipt of an issued XML

    @property
    def ok(self) -> bool:
        return bool(self.signatures) and all(s.ok for s in self.signatures) and not self.findings

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "kind": self.kind,
            "result_vi": "Hợp lệ" if self.ok else "Không hợp lệ: văn bản không có giá trị (Điều 15)",
            "result_en": "Valid" if self.ok else "Not valid: the document has no legal value (Điều 15)",
            "signatures": [s.to_json() for s in self.signatures],
            "receipt": self.receipt,
            "findings": [f.to_json() for f in self.findings],
        }
