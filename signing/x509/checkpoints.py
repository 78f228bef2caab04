"""Whether a signed checkpoint can be trusted: its signature verifies with the embedded certificate,
which chains to a trusted root, was valid at the checkpoint's time, and serves that school's ledger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cryptography import x509

from ledger.format.checkpoint import Checkpoint
from signing.x509.certs import certificate_problems, signature_valid
from signing.x509.names import service_uri
from signing.x509.revocation import revoked_at


def checkpoint_problems(
    checkpoint: Checkpoint,
    trusted_roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList] = (),
) -> list[str]:
    """Why a checkpoint cannot be trusted (empty when it can): signature, certificate chain,
    validity at the checkpoint's time, that the certificate serves this school, and that its issuer's
    revocation list (when given) did not revoke it before the checkpoint's time."""
    try:
        cert = checkpoint.x509()
    except ValueError:
        return ["embedded certificate is not valid DER"]
    problems = []
    if not signature_valid(cert, checkpoint.message, checkpoint.signature):
        problems.append("signature does not verify with the embedded certificate")
    problems += certificate_problems(cert, trusted_roots, checkpoint.time, required_uri=service_uri(checkpoint.school))
    issuer = next((root for root in trusted_roots if root.subject == cert.issuer), None)
    revoked = revoked_at(cert, crls, issuer)
    if isinstance(revoked, datetime) and revoked <= checkpoint.time:
        problems.append(f"the service certificate was revoked on {revoked.isoformat()}, before this checkpoint")
    return problems
