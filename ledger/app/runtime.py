"""What a running process needs, built once from Settings: the database URL (embedded or not),
engines per database role, the PKI and the clock."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from cryptography import x509
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.timestamps.api import TimeStamper
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.app import migrate
from ledger.app.db import APP_ROLE, create_engine, resolve_database_url, timeouts_of
from ledger.app.service_keys import ServiceKeys
from ledger.app.tokens import token_secret
from ledger.app.workers import WorkerPool
from ledger.base.clock import Clock, SystemClock
from ledger.base.errors import NotFound, Refused
from ledger.base.settings import Settings
from ledger.format.checkpoint import Checkpoint
from ledger.log.checkpointing import CheckpointPolicy, Stamp, make_checkpoint
from ledger.log.schema import EVENTS, Chain
from ledger.school.transcripts.verification import Verification
from signing.pdf.timestamp import LocalTimeStamper
from signing.x509.certs import load_certificates
from signing.x509.keys import DocumentSigner, Signer
from signing.x509.pki import Pki, PkiError
from signing.x509.validation import OnlineRevocation


def demo_time_stamper(pki: Pki, clock: Clock | None = None) -> LocalTimeStamper:
    """The development PKI's time-stamping authority, in process, on `clock` (the host's by default)."""
    key, cert = pki.time_stamper_key()
    return LocalTimeStamper(key, cert, now=clock.now if clock else None)


def time_stamper_for(settings: Settings, pki: Pki, clock: Clock | None = None) -> TimeStamper:
    """The school's time-stamping authority (HOCBA_TSA_URL); in development without one, the demo
    authority, in process (on `clock`, so that a demo or a test on a clock of its own gets tokens of
    that time)."""
    if settings.tsa_url:
        return HTTPTimeStamper(settings.tsa_url)
    if settings.production:
        raise NotFound(
            "signing.no_tsa",
            "Chưa cấu hình đơn vị cấp dấu thời gian (HOCBA_TSA_URL).",
            "No time-stamping authority is configured (HOCBA_TSA_URL).",
        )
    try:
        return demo_time_stamper(pki, clock)
    except (OSError, PkiError):
        raise NotFound(
            "signing.no_tsa",
            "Không có đơn vị cấp dấu thời gian thử nghiệm.",
            "There is no demo time-stamping authority.",
        ) from None


def stamp_with(stamper: TimeStamper) -> Stamp:
    """An RFC 3161 token over the SHA-256 of some bytes, from `stamper`."""

    async def stamp(data: bytes) -> bytes:
        token = await stamper.async_timestamp(hashlib.sha256(data).digest(), "sha256")
        return bytes(token.dump())

    return stamp


def stamp_for(settings: Settings, pki: Pki, clock: Clock | None = None) -> Stamp:
    """Tokens of the school's time-stamping authority (see `time_stamper_for`)."""
    return stamp_with(time_stamper_for(settings, pki, clock))


def checkpoint_policy_for(settings: Settings, pki: Pki, clock: Clock | None = None) -> CheckpointPolicy:
    """Checkpoints name the configured origin, and the school's authority timestamps each one."""
    return CheckpointPolicy(settings.origin_prefix, stamp_for(settings, pki, clock))


DEVELOPMENT_URL = "http://localhost:8000"  # `hocba serve` on this machine, its default port


def verification_for(settings: Settings) -> Verification:
    """What the PDF học bạ prints for checking it: its verification code, derived from the service's
    secret (HOCBA_TOKEN_SECRET), and the portal's address at HOCBA_PUBLIC_URL (in development
    without one, `hocba serve` on this machine). Production has no default: a printed address
    must be the one families reach."""
    url = settings.public_url
    if url is None:
        if settings.production:
            raise NotFound(
                "issuance.no_public_url",
                "Chưa cấu hình địa chỉ công khai của dịch vụ (HOCBA_PUBLIC_URL) để in trên học bạ.",
                "The service's public address (HOCBA_PUBLIC_URL), which the học bạ prints, is not configured.",
            )
        url = DEVELOPMENT_URL
    return Verification(token_secret(settings), url)


@dataclass
class Runtime:
    settings: Settings
    url: str
    clock: Clock = field(default_factory=SystemClock)
    _engines: dict[str, AsyncEngine] = field(default_factory=dict)
    _service_keys: ServiceKeys | None = field(default=None, repr=False)
    _workers: WorkerPool | None = field(default=None, repr=False)

    @property
    def pki(self) -> Pki:
        return Pki(self.settings.pki_dir)

    @property
    def service_keys(self) -> ServiceKeys:
        if self._service_keys is None:
            self._service_keys = ServiceKeys(self.settings, self.pki)
        return self._service_keys

    @property
    def workers(self) -> WorkerPool:
        """The worker processes for heavy work on uploads, started when first used."""
        if self._workers is None:
            self._workers = WorkerPool()
        return self._workers

    def engine(self, role: str = APP_ROLE) -> AsyncEngine:
        if role not in self._engines:
            self._engines[role] = create_engine(self.url, role, timeouts_of(self.settings))
        return self._engines[role]

    def signer(self, school: str) -> Signer:
        """The school's ledger service signer (checkpoints, signed projections): its key on a token."""
        return self.service_keys.signer(school)

    def trusted_roots(self) -> list[x509.Certificate]:
        """The trust list signatures are validated against (signing.x509.validation): the file
        HOCBA_TRUST_ROOTS names (the national root and the licensed CAs), else the PKI directory's
        root.pem (in development, the demo root and its licensed CA)."""
        if self.settings.trust_roots is not None:
            try:
                return load_certificates(self.settings.trust_roots)
            except (OSError, ValueError):
                raise PkiError(
                    f"HOCBA_TRUST_ROOTS: no certificates can be read from {self.settings.trust_roots}"
                ) from None
        return self.pki.roots()

    def crls(self) -> list[x509.CertificateRevocationList]:
        """The revocation lists of the trusted issuers that this installation keeps (HOCBA_HOME/pki):
        the issuing CA's first, then the root's."""
        return self.pki.crls()

    @asynccontextmanager
    async def revocation(self) -> AsyncIterator[OnlineRevocation | None]:
        """How a signature's certificate status is checked when it is accepted: with
        HOCBA_REVOCATION=online, also by its OCSP responder and CRL distribution points, fetched
        afresh for each submission (a batch shares them); otherwise None, the CRLs kept here only."""
        if self.settings.revocation != "online":
            yield None
            return
        online = OnlineRevocation()
        try:
            yield online
        finally:
            await online.close()

    def time_stamper(self) -> TimeStamper:
        """The school's time-stamping authority (see `time_stamper_for`)."""
        return time_stamper_for(self.settings, self.pki)

    def stamp(self) -> Stamp:
        """The school's time-stamping authority, on this runtime's clock (signatures' trusted time)."""
        return stamp_for(self.settings, self.pki, self.clock)

    def verification(self) -> Verification:
        """What the PDF học bạ prints for checking it (see `verification_for`)."""
        return verification_for(self.settings)

    def checkpoint_policy(self, clock: Clock | None = None) -> CheckpointPolicy:
        return checkpoint_policy_for(self.settings, self.pki, clock or self.clock)

    async def checkpoint(self, school: str, chain: Chain = EVENTS, clock: Clock | None = None) -> Checkpoint | None:
        """Sign a checkpoint of the school's log now (on `clock`, the service's by default), with the
        school's service key, timestamped by its authority."""
        clock = clock or self.clock
        signer = self.signer(school)
        return await make_checkpoint(self.engine(), school, signer, clock, chain, self.checkpoint_policy(clock))

    def demo_signer(self, school: str, holder: str | None) -> DocumentSigner:
        """A signer's demo key and certificate (`hocba demo` writes one for every signer). A school in
        production signs on the signer's own token (`hocba signing prepare/submit`), never on the
        server."""
        if self.settings.production:
            raise Refused(
                "signing.demo_only",
                "Ký trên trang chỉ dùng trong bản thử nghiệm; hãy ký bằng thiết bị ký số của bạn (hocba signing).",
                "Signing on the page is for the demo only; sign with your own token (hocba signing).",
                rule="Điều 8",
            )
        try:
            return self.pki.load_holder(school, holder or "")
        except (OSError, ValueError, PkiError):
            raise NotFound(
                "signing.no_demo_key",
                f"Không có khóa ký thử nghiệm của {holder}.",
                f"There is no demo signing key for {holder}.",
            ) from None

    async def close(self) -> None:
        if self._workers is not None:
            await self._workers.close()
            self._workers = None
        for engine in self._engines.values():
            await engine.dispose()
        self._engines.clear()


def open_runtime(settings: Settings, *, upgrade: bool = False, clock: Clock | None = None) -> Runtime:
    """Resolve the database (starting the embedded one if needed) and optionally migrate it."""
    url = resolve_database_url(settings)
    if upgrade and not migrate.is_current(url):
        migrate.upgrade(url)
    return Runtime(settings, url, clock or SystemClock())
