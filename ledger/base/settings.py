"""Settings, read once from the environment.

DATABASE_URL        PostgreSQL to use. Unset: an embedded PostgreSQL in HOCBA_HOME/pgdata.
HOCBA_HOME          Per-user data directory (embedded PostgreSQL, development PKI).
                    Default: /var/lib/hocba for root, else the platform's user data directory.
HOCBA_ENV           "development" (default) or "production". Production never issues demo
                    certificates and logs JSON lines.
HOCBA_LOG_FORMAT    "json" or "console"; default: console on a terminal, JSON otherwise.
HOCBA_SCHOOL        Default school id for commands that take --school.
HOCBA_CHECKPOINT_INTERVAL  Seconds between scheduled checkpoints (default 300).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs


def _default_home() -> Path:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # The embedded server runs as a separate system user when started by root and needs every
        # ancestor of its data directory to be traversable; /var/lib already is.
        return Path("/var/lib/hocba")
    return Path(platformdirs.user_data_dir("hocba", appauthor=False))


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    home: Path
    environment: str
    log_format: str | None
    school: str | None
    checkpoint_interval: int

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def pki_dir(self) -> Path:
        return self.home / "pki"


def load_settings() -> Settings:
    environment = os.environ.get("HOCBA_ENV", "development").strip().lower()
    if environment not in {"development", "production"}:
        raise ValueError(f"HOCBA_ENV must be 'development' or 'production', not {environment!r}")
    log_format = os.environ.get("HOCBA_LOG_FORMAT") or None
    if log_format not in {None, "json", "console"}:
        raise ValueError(f"HOCBA_LOG_FORMAT must be 'json' or 'console', not {log_format!r}")
    interval = os.environ.get("HOCBA_CHECKPOINT_INTERVAL", "300")
    if not interval.isdigit() or int(interval) < 1:
        raise ValueError("HOCBA_CHECKPOINT_INTERVAL must be a positive number of seconds")
    home = os.environ.get("HOCBA_HOME")
    return Settings(
        database_url=os.environ.get("DATABASE_URL") or None,
        home=Path(home).expanduser() if home else _default_home(),
        environment=environment,
        log_format=log_format,
        school=os.environ.get("HOCBA_SCHOOL") or None,
        checkpoint_interval=int(interval),
    )
