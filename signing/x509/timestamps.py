"""RFC 3161 timestamp tokens: whether a token is a valid timestamp of given bytes by a trusted
time-stamping authority, and the time it states (pyHanko's validator checks the CMS signature, the
authority's chain to the trusted roots and its time-stamping key usage)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from asn1crypto import cms
from asn1crypto import crl as asn1_crl
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko.sign.validation.status import TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.policy_decl import CertRevTrustPolicy

from signing.x509.validation import REVOCATION_POLICY, trust_list


@dataclass
class TimestampCheck:
    time: datetime | None = None
    problems: list[str] = field(default_factory=list)
    intact: bool | None = None  # the token's imprint is of the stamped bytes (None: the token was unreadable)

    @property
    def ok(self) -> bool:
        return not self.problems


async def check_timestamp(
    token: bytes,
    stamped: bytes,
    roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList] = (),
    *,
    moment: datetime | None = None,
) -> TimestampCheck:
    """Whether `token` timestamps `stamped` (its SHA-256 or SHA-512 imprint), signed by a
    time-stamping authority that chains to `roots`; and when. The authority's certificate is judged
    at `moment` (now when None): a later archive timestamp that proves the token existed at its
    own time lets it be judged then, after the authority's certificate has expired."""
    try:
        content = cms.ContentInfo.load(token)
        signed = content["content"]
        if content["content_type"].native != "signed_data" or not isinstance(signed, cms.SignedData):
            return TimestampCheck(None, ["the timestamp token is not CMS SignedData"])
    except ValueError as exc:
        return TimestampCheck(None, [f"the timestamp token cannot be read: {exc}"])
    anchors, intermediates = trust_list(roots)
    context = ValidationContext(
        trust_roots=anchors,
        other_certs=intermediates,
        crls=[asn1_crl.CertificateList.load(c.public_bytes(serialization.Encoding.DER)) for c in crls],
        allow_fetching=False,
        # with revocation lists at hand, the authority's status must be established from them (as
        # a signer's, signing.x509.validation); without, it is not required
        revocation_mode="soft-fail",
        # (judged at a past `moment`, a list issued since still tells whether it was revoked then)
        revinfo_policy=CertRevTrustPolicy(REVOCATION_POLICY, retroactive_revinfo=True) if crls else None,
        moment=moment,
    )
    try:
        status = TimestampSignatureStatus(
            **await validate_tst_signed_data(signed, context, lambda name: hashlib.new(name, stamped).digest())
        )
    except Exception as exc:  # pyHanko reports a malformed token in several ways
        return TimestampCheck(None, [f"the timestamp token does not validate: {exc}"])
    problems = []
    if not status.intact:
        problems.append("the timestamp token is not over these bytes")
    if not status.valid:
        problems.append("the timestamp token's signature does not verify")
    if not status.trusted:
        problems.append("the time-stamping authority does not chain to a trusted root")
    return TimestampCheck(status.timestamp, problems, status.intact)
