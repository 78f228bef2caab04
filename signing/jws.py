"""Signed JSON projections for integration clients: a JWS in compact serialisation (RFC 7515),
EdDSA with Ed25519 (RFC 8037; ES256 or RS256 for an older ECDSA or RSA service key), signed with the
school's ledger-service key, with the certificate in the `x5c` header so that a client checks it with
only the trusted root. The payload names the ledger checkpoint the projection was read at."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding

from ledger.base.errors import HocbaError
from signing.x509.certs import certificate_problems, signature_valid
from signing.x509.keys import Signer, algorithm_of
from signing.x509.names import service_uri


class JwsError(HocbaError, ValueError):
    """A signed projection that does not verify."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(payload: Mapping[str, Any], signer: Signer) -> str:
    algorithm = algorithm_of(signer.certificate)
    ecdsa = algorithm == "ES256"
    header = {
        "alg": "EdDSA" if algorithm == "Ed25519" else algorithm,
        "typ": "JWT",
        "x5c": [base64.b64encode(signer.certificate.public_bytes(Encoding.DER)).decode()],
    }
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload, ensure_ascii=False).encode())}"
    signature = signer.sign(signing_input.encode())
    if ecdsa:  # JWS carries r || s, not DER
        r, s = decode_dss_signature(signature)
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return f"{signing_input}.{_b64(signature)}"


def verify(token: str, roots: Sequence[x509.Certificate], school: str, at: datetime) -> dict[str, Any]:
    """The payload of a signed projection of `school`, if its signature and certificate check out."""
    try:
        head, body, signature = token.split(".")
        header = json.loads(_unb64(head))
        cert = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
        raw = _unb64(signature)
        payload = json.loads(_unb64(body))
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise JwsError(f"not a signed projection: {exc}") from None
    if header.get("alg") == "ES256":
        if len(raw) != 64:
            raise JwsError("an ES256 signature is 64 bytes")
        raw = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    elif header.get("alg") not in ("RS256", "EdDSA"):
        raise JwsError(f"unsupported algorithm {header.get('alg')!r}")
    if not signature_valid(cert, f"{head}.{body}".encode(), raw):
        raise JwsError("the signature does not verify")
    problems = certificate_problems(cert, roots, at, required_uri=service_uri(school))
    if problems:
        raise JwsError(problems[0])
    if not isinstance(payload, dict):
        raise JwsError("the payload is not a JSON object")
    return payload
