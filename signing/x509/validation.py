"""Validating a signer's certificate against the trust list (Điều 8, 12, 15), for XML and PDF alike.

The chain is built from the signer's certificate through the intermediate CAs the signature carries
(or the trust list names) to a trusted root: the national root and the licensed CAs in production,
the demo root in development. Each certificate of the chain is checked for revocation at the
signing time, by OCSP where the certificate names a responder and by the CRLs of its distribution
points; revocation information must be fresh (its nextUpdate not passed). The responses gathered
are returned, so that they can be kept with the signature.

Revocation information comes from the CRLs this installation keeps and, when fetching is allowed
(`OnlineRevocation`), from the responders and distribution points over HTTP; one `OnlineRevocation`
keeps what it fetched for the whole run, so a class of signatures by the same CA costs one fetch.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from asn1crypto import core as asn1_core
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    ExpiredError,
    InsufficientRevinfoError,
    InvalidCertificateError,
    NotYetValidError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
    StaleRevinfoError,
    ValidationError,
)
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from pyhanko_certvalidator.fetchers.api import Fetchers
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)

from signing.report import Finding

# A signer's certificate that names where its status is published must have that status proven
# (OCSP or CRL, fresh); an intermediate CA's status counts when its issuer's CRL or OCSP response is
# at hand (a revoked CA is refused), and is not required otherwise.
REVOCATION_POLICY = RevocationCheckingPolicy(
    ee_certificate_rule=RevocationCheckingRule.CHECK_IF_DECLARED,
    intermediate_ca_cert_rule=RevocationCheckingRule.CHECK_IF_DECLARED_SOFT,
)


class OnlineRevocation:
    """Fetching OCSP responses and CRLs over HTTP, each kept for the rest of the run."""

    def __init__(self, timeout: float = 10) -> None:
        self._backend = AIOHttpFetcherBackend(per_request_timeout=timeout)
        self._fetchers: Fetchers | None = None

    @property
    def fetchers(self) -> Fetchers:
        if self._fetchers is None:
            self._fetchers = self._backend.get_fetchers()
        return self._fetchers

    async def close(self) -> None:
        await self._backend.close()  # type: ignore[no-untyped-call]
        self._fetchers = None


@dataclass
class CertificateStatus:
    """The verdict on a signer's certificate at a moment, with the revocation information used."""

    chain_trusted: bool = False
    revoked: bool | None = None  # None: the status could not be established
    revoked_at: datetime | None = None
    findings: list[Finding] = field(default_factory=list)
    # what the status was established with (DER), to keep with the signature
    ocsp_responses: list[bytes] = field(default_factory=list)
    crls: list[bytes] = field(default_factory=list)
    # the chain it was validated along, from the issuer up to the root (DER), to keep with them
    chain: list[bytes] = field(default_factory=list)


@functools.lru_cache(maxsize=1024)
def _asn1_certificate(der: bytes) -> asn1_x509.Certificate:
    """The certificate as the validator reads it, one object per certificate for the run: the
    validator's work on names and keys is kept on it."""
    return asn1_x509.Certificate.load(der)


@functools.lru_cache(maxsize=64)
def _asn1_crl(der: bytes) -> asn1_crl.CertificateList:
    return asn1_crl.CertificateList.load(der)


def _asn1(cert: x509.Certificate | asn1_x509.Certificate) -> asn1_x509.Certificate:
    if isinstance(cert, asn1_x509.Certificate):
        return cert
    return _asn1_certificate(cert.public_bytes(serialization.Encoding.DER))


def _self_signed(cert: x509.Certificate) -> bool:
    return cert.issuer == cert.subject


def trust_list(
    roots: Sequence[x509.Certificate], others: Sequence[x509.Certificate | asn1_x509.Certificate] = ()
) -> tuple[list[asn1_x509.Certificate], list[asn1_x509.Certificate]]:
    """The trust anchors (the self-signed roots of the trust list) and the candidate intermediates:
    the trust list's CA certificates under a root (the licensed CAs), then `others`."""
    anchors = [_asn1(r) for r in roots if _self_signed(r)]
    intermediates = [_asn1(r) for r in roots if not _self_signed(r)]
    intermediates += [_asn1(c) for c in others]
    return anchors, intermediates


def validation_context(
    roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    moment: datetime | None,
    others: Sequence[x509.Certificate | asn1_x509.Certificate] = (),
    online: OnlineRevocation | None = None,
    kept: Sequence[bytes] = (),
    ocsps: Sequence[bytes] = (),
) -> ValidationContext:
    """The certificate validator's context at `moment` (now when None): the trust list's root
    certificates are anchors, its other CA certificates (the licensed CAs) are candidate
    intermediates like the ones a signature carries. `kept`: revocation values (CRLs and OCSP
    responses, DER) kept with a signature (XAdES-LT), used as if at hand. `ocsps`: OCSP responses
    (DER) at hand, such as a PDF's document security store keeps."""
    anchors, intermediates = trust_list(roots, others)
    kept_crls, kept_ocsps = _kept_revocation(kept)
    return ValidationContext(
        trust_roots=anchors,
        other_certs=intermediates,
        crls=[_asn1_crl(c.public_bytes(serialization.Encoding.DER)) for c in crls] + kept_crls,
        ocsps=[asn1_ocsp.OCSPResponse.load(der) for der in ocsps] + kept_ocsps,
        allow_fetching=online is not None,
        fetchers=online.fetchers if online is not None else None,
        revinfo_policy=CertRevTrustPolicy(REVOCATION_POLICY, retroactive_revinfo=True),
        moment=moment,
    )


def _kept_revocation(kept: Sequence[bytes]) -> tuple[list[asn1_crl.CertificateList], list[asn1_ocsp.OCSPResponse]]:
    """Revocation values kept with a signature, read as the validator reads them: an OCSPResponse
    starts with its status (ENUMERATED), a CRL with its to-be-signed list. An unreadable one is left
    out: it proves nothing."""
    crls, ocsps = [], []
    for der in kept:
        try:
            if is_ocsp_response(der):
                response = asn1_ocsp.OCSPResponse.load(der)
                if response["response_status"].native == "successful":
                    ocsps.append(response)
            else:
                crls.append(_asn1_crl(der))
        except (ValueError, TypeError, KeyError):
            continue
    return crls, ocsps


def is_ocsp_response(der: bytes) -> bool:
    """Whether DER revocation information is an OCSP response (else a CRL)."""
    try:
        first = asn1_core.Sequence.load(der)[0]
    except (ValueError, TypeError, KeyError, IndexError):
        return False
    return bool(first.tag == 10 and first.class_ == 0)


def chain_context(
    roots: Sequence[x509.Certificate],
    moment: datetime | None,
    others: Sequence[x509.Certificate | asn1_x509.Certificate] = (),
) -> ValidationContext:
    """A context for the chain alone, without revocation (pyHanko's checks of a PDF signature's
    integrity and timestamp; revocation is `validate_certificate`'s)."""
    anchors, intermediates = trust_list(roots, others)
    unchecked = RevocationCheckingPolicy(RevocationCheckingRule.NO_CHECK, RevocationCheckingRule.NO_CHECK)
    return ValidationContext(
        trust_roots=anchors,
        other_certs=intermediates,
        revinfo_policy=CertRevTrustPolicy(unchecked),
        moment=moment,
    )


def _untrusted(cert: x509.Certificate) -> Finding:
    issuer = cert.issuer.rfc4514_string()
    return Finding(
        "certificate.untrusted",
        f"Chứng thư số không do tổ chức được tin cậy cấp (bên cấp: {issuer}).",
        f"The certificate is not issued by a trusted root (issuer: {issuer}).",
    )


def _revoked(when: datetime) -> Finding:
    return Finding(
        "certificate.revoked",
        f"Chứng thư số đã bị thu hồi từ {when.isoformat()}, trước khi ký.",
        f"The certificate was revoked at {when.isoformat()}, before the signature.",
    )


def _stale(since: datetime | None) -> Finding:
    after = f" (hết hạn cập nhật lúc {since.isoformat()})" if since else ""
    after_en = f" (its next update was due at {since.isoformat()})" if since else ""
    return Finding(
        "certificate.revocation_stale",
        "Thông tin thu hồi chứng thư số (CRL/OCSP) đã quá hạn cập nhật, không dùng để kiểm tra được"
        f"{after}: cần danh sách thu hồi mới hơn.",
        f"The certificate's revocation information (CRL/OCSP) is past its next update{after_en}: "
        "a newer one is needed.",
    )


UNKNOWN = Finding(
    "certificate.revocation_unknown",
    "Không có danh sách thu hồi chứng thư số của bên cấp để kiểm tra.",
    "No revocation list of the issuer is available to check the certificate.",
)


async def validate_certificate(
    cert: x509.Certificate,
    roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    moment: datetime,
    *,
    intermediates: Sequence[x509.Certificate] = (),
    online: OnlineRevocation | None = None,
    kept: Sequence[bytes] = (),
    ocsps: Sequence[bytes] = (),
) -> CertificateStatus:
    """Whether `cert` chains to the trust list and was not revoked at `moment` (by `crls`, the OCSP
    responses `ocsps` and, with `online`, what the CAs publish). The validity period and the key
    usage are the caller's to judge (they are findings of their own). `kept`: the revocation values
    a signature carries (XAdES-LT), used when the information at hand does not establish the
    status: a list at hand that names the certificate revoked before `moment` prevails over an older
    one kept with the signature."""
    status = await _validate(cert, roots, crls, moment, intermediates, online, (), ocsps)
    if kept and status.chain_trusted and status.revoked is None:
        again = await _validate(cert, roots, crls, moment, intermediates, online, kept, ocsps)
        if again.revoked is not None:
            return again
    return status


async def _validate(
    cert: x509.Certificate,
    roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    moment: datetime,
    intermediates: Sequence[x509.Certificate],
    online: OnlineRevocation | None,
    kept: Sequence[bytes],
    ocsps: Sequence[bytes],
) -> CertificateStatus:
    status = CertificateStatus()
    if cert in roots:  # a trusted certificate itself: nothing above it to ask
        status.chain_trusted, status.revoked = True, False
        return status
    context = validation_context(roots, crls, moment, intermediates, online, kept, ocsps)
    validator = CertificateValidator(_asn1(cert), validation_context=context)
    try:
        path = await validator.async_validate_path()
        status.chain = [c.dump() for c in path.iter_certs(include_root=True)][:-1][::-1]
    except RevokedError as exc:
        status.chain_trusted = True
        status.revoked, status.revoked_at = True, exc.revocation_dt
        status.findings.append(_revoked(exc.revocation_dt))
    except StaleRevinfoError as exc:
        status.chain_trusted = True
        status.findings.append(_stale(exc.time_cutoff))
    except InsufficientRevinfoError:
        status.chain_trusted = True
        status.findings.append(UNKNOWN)
    except (ExpiredError, NotYetValidError):
        # outside the validity period at `moment`: the caller reports that; the chain is judged now
        status = CertificateStatus(chain_trusted=await chains_to_trust_list(cert, roots, intermediates))
        if not status.chain_trusted:
            status.findings.append(_untrusted(cert))
    except (PathBuildingError, InvalidCertificateError):
        status.findings.append(_untrusted(cert))
    except (PathValidationError, ValidationError):
        status.findings.append(_untrusted(cert))
    else:
        status.chain_trusted, status.revoked = True, False
    status.ocsp_responses = [r.dump() for r in context.ocsps]
    status.crls = [c.dump() for c in context.crls]
    return status


async def chains_to_trust_list(
    cert: x509.Certificate, roots: Sequence[x509.Certificate], intermediates: Sequence[x509.Certificate] = ()
) -> bool:
    """Whether a chain of CA signatures leads from `cert` to a root of the trust list (through the
    trust list's licensed CAs and `intermediates`), whatever the time and revocation status."""
    if cert in roots:
        return True
    context = validation_context(roots, [], None, intermediates)
    try:
        await context.path_builder.async_build_paths(_asn1(cert))
    except PathBuildingError:
        return False
    return True
