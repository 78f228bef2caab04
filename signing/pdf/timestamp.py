"""RFC 3161 time-stamping: an authority in process, for development and tests, whose tokens pyHanko and
the verifiers read like any other."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute
from pyhanko.sign.timestamps.api import TimeStamper

from signing.x509.certs import PrivateKey, asn1_certificate, sign_bytes

# the demo TSA's policy (an arbitrary private OID: demo tokens promise nothing)
DEMO_TSA_POLICY = "1.3.6.1.4.1.55555.1.1"


class LocalTimeStamper(TimeStamper):
    """An in-process RFC 3161 time-stamping authority: answers each request with a token signed by
    the given TSA key (EC or RSA, SHA-256) at the time `now` gives (the host clock by default)."""

    def __init__(
        self,
        key: PrivateKey,
        certificate: x509.Certificate,
        chain: Sequence[x509.Certificate] = (),
        *,
        policy: str = DEMO_TSA_POLICY,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(include_nonce=True)  # type: ignore[no-untyped-call]
        self.key = key
        self.certificate = asn1_certificate(certificate)
        self.chain = [asn1_certificate(c) for c in chain]
        # Parts of every token, encoded once: asn1crypto re-encodes a parsed value placed in a new
        # structure, which made each token cost tens of milliseconds.
        self._cert_der = [c.dump() for c in (self.certificate, *self.chain)]
        self._subject_der = self.certificate.subject.dump()
        self._issuer_der = self.certificate.issuer.dump()
        # The TSA certificate is named by its SHA-512 hash, not SHA-256: SHA-256 is ESSCertIDv2's
        # default, which DER leaves out, and asn1crypto (1.5.1) rebuilds an absent default as a value
        # that counts as changed for ever. When pyHanko dumps a signature one of whose lengths ends in
        # byte 0x80, asn1crypto takes it for an indefinite length and re-encodes everything under it
        # (https://github.com/wbond/asn1crypto/issues/249); the ~16 levels above that default are then
        # re-encoded twice each per dump (https://github.com/wbond/asn1crypto/issues/256): 20-45 s of
        # CPU for one signature in four of some signers. Fixed upstream after 1.5.1, not yet released.
        self._signing_certificate_der = as_signing_certificate_v2(self.certificate, "sha512").dump()
        self.policy = policy
        self.now = now or (lambda: datetime.now(UTC))

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
                "time_stamp_token": self.token(req, self.now()),
            }
        )
