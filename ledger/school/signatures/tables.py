"""The certificate and signature events and their read models."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Text
from sqlalchemy.dialects.postgresql import JSONB

from ledger.log.schema import projection_table

CERTIFICATE_REGISTERED = "certificate.registered"
CERTIFICATE_REVOKED = "certificate.revoked"
SIGNATURE_ADDED = "signature.added"
CLIENT_HOLDER = "account:"  # a TLS client certificate's holder is "account:<username>", an integration account

certificates = projection_table(
    "certificates",
    keys=[Column("fingerprint", Text)],
    values=[
        Column("holder", Text),  # a staff id, "organisation", or "account:<username>" (a TLS client)
        Column("serial", Text),
        Column("subject", Text),
        Column("not_before", Text),
        Column("not_after", Text),
        Column("der", Text),
        Column("approved_by", Text),
        Column("revoked_at", Text),
        Column("revocation_reason", Text),
    ],
)
signatures = projection_table(
    "signatures",
    keys=[Column("year", Text), Column("student_id", Text), Column("wrapper_id", Text)],
    values=[
        Column("position", BigInteger),  # the seq of the signature.added event: signing order
        Column("format", Text),  # "xml", or "pdf" (whose element is the revision the signature added)
        Column("role", Text),
        Column("subject", Text),
        Column("parts", JSONB),
        Column("digests", JSONB),
        Column("signer", Text),
        Column("fingerprint", Text),
        Column("signing_time", Text),
        Column("issued_on", Text),
        Column("element", Text),  # base64 of the canonical ChuKy element
        Column("stale", Boolean),
    ],
)
