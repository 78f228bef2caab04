"""What issuance checks of a học bạ's signatures, each verified once when it was submitted
(docs/SIGNATURES.md, "Verified once"): that every signature the documents carry is the one its
`signature.added` event in the school's hash-chained log recorded, that nothing it signed changed
since, and that its certificate still stands at the time it signed. No signature's cryptography is
verified again; what was verified is bound, byte for byte, to what is issued."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs7
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base.clock import parse_time
from ledger.format.envelope import Event
from ledger.log import store
from ledger.log.projection import read
from ledger.school.signatures.certificates import fingerprint
from ledger.school.signatures.queries import Documents
from ledger.school.signatures.tables import SIGNATURE_ADDED, certificates
from signing.report import Finding, SignatureReport
from signing.x509.revocation import certificate_checks
from signing.xml import document as hocba_xml

_RECORDED = ("year", "student", "wrapper_id", "role", "subject", "format", "element", "fingerprint")


class Kept:
    """The signature events and registered certificates that a batch of học bạ is checked against,
    read in two queries for the batch."""

    def __init__(self, events: dict[int, Event], registered: dict[str, dict[str, Any]]) -> None:
        self.events = events
        self.registered = registered

    @classmethod
    async def load(cls, conn: AsyncConnection, school: str, documents: Documents) -> Kept:
        seqs = [int(row["position"]) for rows in documents.rows.values() for row in rows]
        events = await store.events_at(conn, school, seqs)
        registered = {row["fingerprint"]: row for row in await read(conn, certificates, school)}
        return cls(events, registered)

    async def problems(
        self,
        documents: Documents,
        student: str,
        root: Any,
        pdf: bytes,
        roots: Sequence[x509.Certificate],
        crls: Sequence[x509.CertificateRevocationList],
    ) -> list[Finding]:
        """Why the XML `root` and the PDF `pdf` of `student`, as built from `documents`, cannot be
        issued on the strength of their recorded signatures (an empty list: they can)."""
        found: list[Finding] = []
        if not hocba_xml.schema().validate(root):
            error = hocba_xml.schema().error_log.last_error
            return [
                _finding("xml.schema", f"Văn bản không đúng lược đồ học bạ: {error}", f"Not of the schema: {error}")
            ]
        digests = hocba_xml.part_digests(root)
        covered: set[str] = set()
        placed = [w.get("Id") for w in hocba_xml.wrappers(root)]
        xml_rows = documents.signatures(student)
        if placed != [row["wrapper_id"] for row in xml_rows]:
            found.append(
                _finding("signature.recorded", "Chữ ký không khớp sổ cái.", "Signatures differ from the ledger.")
            )
        for row in xml_rows:
            payload = self._recorded(row, found)
            if payload is None:
                continue
            changed = [p for p, d in payload["digests"].items() if digests.get(p) != d]
            if changed:
                found.append(
                    _finding(
                        "signature.stale",
                        f"Phần {', '.join(changed)} đã thay đổi sau khi được ký.",
                        f"Part {', '.join(changed)} changed after it was signed.",
                    )
                )
            covered.update(payload["parts"])
            found += await self._certificate(
                payload, payload.get("trusted_time") or payload["signing_time"], roots, crls
            )
        for part in sorted(set(digests) - covered):
            found.append(
                _finding(
                    "part.unsigned",
                    f"Phần {part} chưa có chữ ký hợp lệ của người có trách nhiệm.",
                    f"Part {part} has no valid signature of the person responsible.",
                )
            )
        base = pdf
        for row in reversed(documents.signatures(student, "pdf")):
            payload = self._recorded(row, found)
            revision = base64.b64decode(row["element"])
            if payload is None:
                continue
            if not base.endswith(revision):
                found.append(
                    _finding("signature.recorded", "Bản PDF không khớp sổ cái.", "The PDF differs from the ledger.")
                )
                break
            base = base[: len(base) - len(revision)]
            if hashlib.sha256(base).hexdigest() != payload["digests"]["pdf"]:
                found.append(
                    _finding(
                        "signature.stale",
                        "Bản PDF đã thay đổi sau khi được ký.",
                        "The PDF changed after it was signed.",
                    )
                )
            found += await self._certificate(payload, payload["signing_time"], roots, crls, _signer_of(revision))
        return found

    def _recorded(self, row: dict[str, Any], found: list[Finding]) -> dict[str, Any] | None:
        """The payload of the `signature.added` event a signature's row stands for, when the log
        holds that very event at its position (a row the log does not back counts for nothing)."""
        event = self.events.get(int(row["position"]))
        payload = event.payload if event is not None and event.type == SIGNATURE_ADDED else None
        ours = {"year": row["year"], "student": row["student_id"], **{k: row.get(k) for k in _RECORDED[2:]}}
        if payload is None or any(payload.get(k, "xml" if k == "format" else None) != v for k, v in ours.items()):
            found.append(
                _finding(
                    "signature.recorded",
                    f"Chữ ký {row['wrapper_id']} không có trong sổ cái như đã ghi nhận.",
                    f"Signature {row['wrapper_id']} is not in the ledger as it was recorded.",
                )
            )
            return None
        return dict(payload)

    async def _certificate(
        self,
        payload: dict[str, Any],
        at: str,
        roots: Sequence[x509.Certificate],
        crls: Sequence[x509.CertificateRevocationList],
        candidates: Sequence[x509.Certificate] | None = None,
    ) -> list[Finding]:
        """The certificate of a recorded signature, judged again at the time it signed: registered
        and not revoked then, chained to a root trusted now, not on a CRL at hand. An XML signature's
        event names its certificate; a PDF signature's is the registered one its revision carries."""
        moment: datetime = parse_time(at)
        fingerprints = [fingerprint(c) for c in candidates] if candidates is not None else [payload["fingerprint"]]
        registered = next((self.registered[f] for f in fingerprints if f in self.registered), None)
        if registered is None or (registered["revoked_at"] and parse_time(registered["revoked_at"]) <= moment):
            return [_finding("certificate.revoked", "Chứng thư số đã bị thu hồi.", "The certificate was revoked.")]
        report = SignatureReport(signer=payload["signer"])
        cert = x509.load_der_x509_certificate(base64.b64decode(registered["der"]))
        await certificate_checks(report, cert, roots, crls, moment)
        return report.findings


def _signer_of(revision: bytes) -> list[x509.Certificate]:
    """The certificates of the CMS signature a PDF revision carries (its /Contents)."""
    found = re.search(rb"/Contents\s*<([0-9A-Fa-f]+)>", revision)
    if found is None:
        return []
    der = bytes.fromhex(found.group(1).decode())
    if len(der) < 2 or der[0] != 0x30:
        return []
    size, start = der[1], 2
    if size & 0x80:
        count = size & 0x7F
        size, start = int.from_bytes(der[2 : 2 + count], "big"), 2 + count
    try:
        return pkcs7.load_der_pkcs7_certificates(der[: start + size])
    except ValueError:
        return []


def _finding(code: str, vi: str, en: str) -> Finding:
    return Finding(code, vi, en)
