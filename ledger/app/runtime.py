"""What a running process needs, built once from Settings: the database URL (embedded or not),
engines per database role, the PKI and the clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.app import migrate
from ledger.app.db import APP_ROLE, create_engine, resolve_database_url
from ledger.base.clock import Clock, SystemClock
from ledger.base.settings import Settings
from signing.x509.pki import Pki, ServiceSigner


@dataclass
class Runtime:
    settings: Settings
    url: str
    clock: Clock = field(default_factory=SystemClock)
    _engines: dict[str, AsyncEngine] = field(default_factory=dict)

    @property
    def pki(self) -> Pki:
        return Pki(self.settings.pki_dir)

    def engine(self, role: str = APP_ROLE) -> AsyncEngine:
        if role not in self._engines:
            self._engines[role] = create_engine(self.url, role)
        return self._engines[role]

    def signer(self, school: str) -> ServiceSigner:
        return self.pki.service_signer(school, allow_demo=not self.settings.production)

    def trusted_roots(self) -> list[x509.Certificate]:
        return self.pki.roots()

    def crls(self) -> list[x509.CertificateRevocationList]:
        """The revocation lists of the trusted issuers that this installation keeps (HOCBA_HOME/pki)."""
        return [self.pki.crl()] if self.pki.crl_path.exists() else []

    async def close(self) -> None:
        for engine in self._engines.values():
            await engine.dispose()
        self._engines.clear()


def open_runtime(settings: Settings, *, upgrade: bool = False, clock: Clock | None = None) -> Runtime:
    """Resolve the database (starting the embedded one if needed) and optionally migrate it."""
    url = resolve_database_url(settings)
    if upgrade and not migrate.is_current(url):
        migrate.upgrade(url)
    return Runtime(settings, url, clock or SystemClock())
