"""Certificate checks and raw signatures shared by every signed artefact (checkpoints, receipts).

Signature algorithm follows the certificate's key: Ed25519 (RFC 8032, the ledger service's key), ECDSA
with SHA-256 (DER-encoded signature value) or RSA PKCS#1 v1.5 with SHA-256.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

DocumentKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey  # signs học bạ: XAdES and PAdES
PrivateKey = DocumentKey | ed25519.Ed25519PrivateKey


def asn1_certificate(cert: x509.Certificate) -> asn1_x509.Certificate:
    """The certificate as asn1crypto (pyHanko's) reads it, from its DER bytes."""
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def load_certificates(path: Path) -> list[x509.Certificate]:
    data = path.read_bytes()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificates(data)
    return [x509.load_der_x509_certificate(data)]


def sign_bytes(key: PrivateKey, message: bytes) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(message)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(message, ec.ECDSA(hashes.SHA256()))
    return key.sign(message, padding.PKCS1v15(), hashes.SHA256())


def signature_valid(cert: x509.Certificate, message: bytes, signature: bytes) -> bool:
    public = cert.public_key()
    try:
        if isinstance(public, ed25519.Ed25519PublicKey):
            public.verify(signature, message)
        elif isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except InvalidSignature:
        return False
    return True


def san_uris(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(uri) for uri in san.get_values_for_type(x509.UniformResourceIdentifier)]


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """`issuer` signed `cert` (names match and the signature verifies)."""
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def certificate_problems(
    cert: x509.Certificate,
    trusted_roots: Sequence[x509.Certificate],
    at: datetime,
    *,
    required_uri: str | None = None,
) -> list[str]:
    """Why `cert` cannot be relied on at time `at` (empty when it can).

    Checks: issued by (or equal to) a trusted root, within its validity period at `at`, carries the
    digitalSignature key usage, and names `required_uri` in its subjectAltName when one is required.
    """
    problems: list[str] = []
    if not trusted_roots:
        return ["no trusted root certificate was given"]
    if cert not in trusted_roots and not any(issued_by(cert, root) for root in trusted_roots):
        problems.append(f"not issued by a trusted root (issuer: {cert.issuer.rfc4514_string()})")
    if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
        problems.append(
            f"certificate valid {cert.not_valid_before_utc.isoformat()} to "
            f"{cert.not_valid_after_utc.isoformat()}, not at {at.isoformat()}"
        )
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        if not usage.digital_signature:
            problems.append("certificate key usage lacks digitalSignature")
    except x509.ExtensionNotFound:
        problems.append("certificate has no key usage extension")
    if required_uri is not None and required_uri not in san_uris(cert):
        problems.append(f"certificate is not issued for {required_uri}")
    return problems
