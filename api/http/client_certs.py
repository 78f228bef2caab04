"""Integration clients that authenticate with a TLS client certificate (mutual TLS).

The certificate reaches a request in one of two ways:

- the service terminates TLS itself (`hocba serve --tls-cert … --client-ca …`): the connection's
  verified peer certificate is in the scope under the ASGI TLS extension
  (`scope["extensions"]["tls"]["client_cert_chain"]`, PEM), put there by api.http.tls;
- a TLS-terminating proxy verified it and passes it in the `X-SSL-Client-Cert` header (URL-encoded
  PEM, nginx's `$ssl_client_escaped_cert`). The header is believed only from a peer address in
  HOCBA_TRUSTED_PROXIES; from anyone else it is ignored, logged, and named in the access entry when
  the request is refused.

The certificate identifies the integration account that registered it in the school's ledger
(ledger.school.signatures.certificates.register_client_certificate), if it is not revoked there, is
valid now, is a client certificate, chains to the trust list and is not revoked by its CA (its CRL
or OCSP, signing.x509.validation). The CA's verdict is kept per fingerprint for a short while, never
past the CRLs' next update nor the certificate's expiry; the ledger is read at every request, so a
revocation in the ledger counts at once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Any
from urllib.parse import unquote

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from litestar.connection import ASGIConnection

from api.http.scope import entry_of
from api.http.tls import PEER
from ledger.app.runtime import Runtime
from ledger.base.errors import AuthenticationFailed
from ledger.base.logs import get_logger
from ledger.school.accounts.queries import account_by_client_certificate
from ledger.school.signatures.certificates import fingerprint
from signing.x509.certs import san_uris
from signing.x509.validation import validate_certificate

log = get_logger(__name__)

PROXY_HEADER = "x-ssl-client-cert"
VERDICT_SECONDS = 60.0  # how long the CA's verdict on one certificate is kept

# The reasons a client certificate is refused: the access entry's reason, the problem's code.
REFUSALS: dict[str, tuple[str, str]] = {
    "client_cert.unknown": (
        "Chứng thư số máy khách chưa được đăng ký cho tài khoản kết nối nào của trường.",
        "The client certificate is not registered for any integration account of the school.",
    ),
    "client_cert.revoked": (
        "Chứng thư số máy khách đã bị thu hồi trong sổ cái của trường.",
        "The client certificate was revoked in the school's ledger.",
    ),
    "client_cert.revoked_by_ca": (
        "Chứng thư số máy khách đã bị tổ chức cấp thu hồi (CRL/OCSP).",
        "The client certificate was revoked by its certification authority (CRL/OCSP).",
    ),
    "client_cert.revocation_unknown": (
        "Không xác định được tình trạng thu hồi của chứng thư số máy khách (CRL/OCSP không có hoặc quá hạn).",
        "The client certificate's revocation status cannot be established (no fresh CRL or OCSP response).",
    ),
    "client_cert.untrusted": (
        "Chứng thư số máy khách không do tổ chức được tin cậy cấp.",
        "The client certificate does not chain to the trust list.",
    ),
    "client_cert.expired": (
        "Chứng thư số máy khách chưa có hiệu lực hoặc đã hết hạn.",
        "The client certificate is not yet valid or has expired.",
    ),
    "client_cert.not_client": (
        "Chứng thư số không dùng để xác thực máy khách (thiếu clientAuth).",
        "The certificate is not a TLS client certificate (no clientAuth extended key usage).",
    ),
    "client_cert.malformed": (
        "Không đọc được chứng thư số máy khách.",
        "The client certificate cannot be read.",
    ),
    "client_cert.untrusted_proxy": (
        "Tiêu đề X-SSL-Client-Cert chỉ được chấp nhận từ proxy tin cậy; yêu cầu này không đến từ proxy đó.",
        "The X-SSL-Client-Cert header is believed only from a trusted proxy; this request did not come from one.",
    ),
}


def _from_pem(text: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(text.encode())
    except ValueError:
        raise AuthenticationFailed("client_cert.malformed") from None


def _peer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The address of the machine that opened the connection: the peer `hocba serve` recorded before
    any X-Forwarded-For (api.http.tls), else the scope's client (an ASGI server that rewrites no
    address)."""
    scope: dict[str, Any] = dict(connection.scope)
    client = scope.get(PEER) or scope.get("client")
    return str(client[0]) if client else None


def _from_proxy(connection: ASGIConnection[Any, Any, Any, Any], proxies: Sequence[IPv4Network | IPv6Network]) -> bool:
    """Whether the machine that opened the connection is a trusted proxy."""
    client = _peer(connection)
    if not client or not proxies:
        return False
    try:
        peer = ip_address(client)
    except ValueError:
        return False
    return any(peer in network for network in proxies)


def presented_certificate(
    connection: ASGIConnection[Any, Any, Any, Any], proxies: Sequence[IPv4Network | IPv6Network]
) -> x509.Certificate | None:
    """The client certificate this request presents: the TLS connection's own, else the one a
    trusted proxy passes on. A proxy header from an untrusted peer is ignored (and noted)."""
    extensions: dict[str, Any] = dict(connection.scope.get("extensions") or {})
    chain: list[str] = list((extensions.get("tls") or {}).get("client_cert_chain") or [])
    if chain:
        return _from_pem(chain[0])
    forwarded = connection.headers.get(PROXY_HEADER)
    if not forwarded:
        return None
    if not _from_proxy(connection, proxies):
        log.warning("X-SSL-Client-Cert from an untrusted address ignored", peer=_peer(connection))
        entry_of(connection).reason = "client_cert.untrusted_proxy"  # kept when nothing else authenticates
        return None
    return _from_pem(unquote(forwarded))


class ClientCertificates:
    """The CA's verdict on client certificates, kept per fingerprint for a short while."""

    def __init__(self, proxies: Sequence[IPv4Network | IPv6Network] = (), seconds: float = VERDICT_SECONDS) -> None:
        self.proxies = tuple(proxies)
        self.seconds = seconds
        self._verdicts: dict[str, tuple[float, str | None]] = {}

    async def registered(self, runtime: Runtime, cert: x509.Certificate) -> tuple[str, str, bool]:
        """The school and username of the integration account that registered this certificate in
        its school's ledger, and whether it was revoked there; AuthenticationFailed when none did."""
        return await account_by_client_certificate(runtime.engine(), san_uris(cert), fingerprint(cert))

    async def check(self, runtime: Runtime, cert: x509.Certificate, *, revoked: bool) -> None:
        """AuthenticationFailed (with the reason) when the ledger revoked the certificate, or it is
        outside its validity period, no client certificate, not chained to the trust list or revoked
        by its CA."""
        if revoked:
            raise AuthenticationFailed("client_cert.revoked")
        digest = fingerprint(cert)
        kept = self._verdicts.get(digest)
        if kept is None or kept[0] <= time.monotonic():
            kept = await self._judge(runtime, cert)
            self._verdicts[digest] = kept
        if kept[1] is not None:
            raise AuthenticationFailed(kept[1])

    async def _judge(self, runtime: Runtime, cert: x509.Certificate) -> tuple[float, str | None]:
        """(until when, on the monotonic clock, the verdict holds; the reason of a refusal or None)."""
        moment = runtime.clock.now()
        crls = runtime.crls()
        horizon = [self.seconds, (cert.not_valid_after_utc - moment).total_seconds()]
        horizon += [(c.next_update_utc - moment).total_seconds() for c in crls if c.next_update_utc is not None]
        until = time.monotonic() + max(0.0, min(horizon))
        return until, await self._reason(runtime, cert, crls, moment)

    @staticmethod
    async def _reason(
        runtime: Runtime, cert: x509.Certificate, crls: list[x509.CertificateRevocationList], moment: datetime
    ) -> str | None:
        if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
            return "client_cert.expired"
        try:
            usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            return "client_cert.not_client"
        if ExtendedKeyUsageOID.CLIENT_AUTH not in usages:
            return "client_cert.not_client"
        status = await validate_certificate(cert, runtime.trusted_roots(), crls, moment)
        if not status.chain_trusted:
            return "client_cert.untrusted"
        if status.revoked:
            return "client_cert.revoked_by_ca"
        if status.revoked is None:
            return "client_cert.revocation_unknown"
        return None
