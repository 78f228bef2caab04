"""Settings, read once from the environment.

DATABASE_URL        PostgreSQL to use. Unset: an embedded PostgreSQL in HOCBA_HOME/pgdata.
HOCBA_HOME          Per-user data directory (embedded PostgreSQL, development PKI).
                    Default: /var/lib/hocba for root, else the platform's user data directory.
HOCBA_ENV           "development" (default) or "production". Production never issues demo
                    certificates and logs JSON lines.
HOCBA_LOG_FORMAT    "json" or "console"; default: console on a terminal, JSON otherwise.
HOCBA_SCHOOL        Default school id for commands that take --school.
HOCBA_CHECKPOINT_INTERVAL  Seconds between scheduled checkpoints (default 300).
HOCBA_TOKEN_SECRET  The key (hex) access tokens are signed with. Unset: a random key kept in
                    HOCBA_HOME/token.key, made on first use.
HOCBA_METRICS_TOKEN A bearer token that opens /metrics to other machines.
HOCBA_BACKUP_DIRS   Backup destinations (directories, separated by the path separator); set, the
                    service makes a backup every night.
HOCBA_BACKUP_KEY_FILE  The backup key file.
HOCBA_BACKUP_KEEP   Backups kept per destination (default 14).
HOCBA_PKCS11_MODULE The PKCS#11 library of the token that holds the ledger service's keys (an HSM's,
                    or SoftHSM2's). Development: SoftHSM2 when installed, its token in
                    HOCBA_HOME/softhsm; production: required.
HOCBA_PKCS11_TOKEN  The token's label (default "hocba").
HOCBA_PKCS11_PIN_FILE  A file holding the token's user PIN (development: a fixed demo PIN).
HOCBA_TSA_URL       The RFC 3161 time-stamping authority that timestamps checkpoints and signatures.
                    Development: the demo authority, in process; production: required.
HOCBA_REVOCATION    How a signer's certificate status is checked when the service accepts a signature:
                    "local" (default), with the revocation lists kept in HOCBA_HOME/pki; "online",
                    also asking the OCSP responder and the CRL distribution points the certificate
                    names, over HTTP. What was used is kept in the signature (XAdES-LT).
HOCBA_ARCHIVE_RENEWAL_DAYS  Days before the certificate of the authority that made an issued XML học bạ's
                    last archive timestamp expires when the nightly job adds a new one (default 365).
HOCBA_CSC_URL       The remote-signing service (Cloud Signature Consortium API v1, the base address before
                    /csc/v1) of the licensed CA where staff keep their keys: the pages then offer
                    "Ký bằng dịch vụ ký số từ xa". HOCBA_CSC_TOKEN_FILE: a file holding the
                    service's access token for the school, when the service asks for one.
HOCBA_TRUST_ROOTS   A PEM file of the trust list signatures are validated against: the national root
                    and the licensed CAs under it. Default: the PKI directory's root.pem (in
                    development, the demo root and its licensed CA).
HOCBA_WITNESSES_FILE  The witnesses a school publishes its checkpoints to: a file with one witness per
                    line, "<verifier key> <URL of its add-checkpoint service>" (`hocba witness key`
                    prints the key); empty lines and lines starting with # are skipped.
HOCBA_WITNESS_QUORUM  How many of them must cosign a checkpoint for it to count as published
                    (default: one when witnesses are named, none otherwise).
HOCBA_MAX_UNSIGNED  Seconds an event may wait for a checkpoint before `hocba verify` calls it unsigned
                    (default 3600).
HOCBA_DB_CONNECT_TIMEOUT    Seconds to wait for a connection to the database to open (default 10).
HOCBA_DB_STATEMENT_TIMEOUT  Seconds one statement of the service may run (default 60).
HOCBA_DB_LOCK_TIMEOUT       Seconds a statement may wait for a lock (default 20).
HOCBA_DB_POOL_TIMEOUT       Seconds a request may wait for a free connection of the pool (default 10).
HOCBA_DB_POOL_SIZE          Connections each service process keeps open per database role (default 10).
HOCBA_DB_POOL_OVERFLOW      Connections it may open beyond those under load, closed when returned
                            (default 10). Two workers use at most 2 × 2 roles × (size + overflow)
                            connections: keep that under the server's max_connections.
HOCBA_WITNESS_NAME  The name a witness (`hocba witness serve`) signs its cosignatures with
                    (default "hocba-witness"); a scheme-less URL of the witness's, such as
                    "witness.sogddt-ninhbinh.gov.vn", is best.
HOCBA_SMTP_HOST     The mail server that sends families their notices of issuance and revocation
                    (unset: notices are only logged). HOCBA_SMTP_PORT (default 587),
                    HOCBA_SMTP_FROM (the sender's address), HOCBA_SMTP_USER and
                    HOCBA_SMTP_PASSWORD_FILE (to sign in), HOCBA_SMTP_TLS ("starttls", the
                    default, "tls" or "none"; "none" only in development).
HOCBA_PUBLIC_URL    The service's address as families reach it (https://hocba.example.edu.vn): the
                    PDF học bạ prints its portal and a QR code of its lookup, and the families'
                    notices link to it. Development without it: http://localhost:8000 on the PDF and
                    no link in notices; production: required to render, sign and issue PDFs.
HOCBA_TRUSTED_PROXIES  The addresses (or networks, "10.0.0.0/24"), comma-separated, of TLS-terminating
                    proxies whose X-SSL-Client-Cert header (the client certificate they verified)
                    is believed. Default: none, so the header is never believed.
HOCBA_ORIGIN        The prefix of the logs' names in signed notes and to witnesses,
                    `<prefix>/<school>/<log>` (default "hocba-ledger"); a scheme-less URL of the
                    school's, such as "hocba.thcs-khanhphu.edu.vn", is best.

This is the only module that reads the environment: `variable` reads one a user names on the command
line (a passphrase kept in a variable of their choice).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any

import platformdirs

from ledger.base.errors import HocbaError


class SettingsError(HocbaError, ValueError):
    """An environment variable holds a value the service cannot use."""


def _default_home() -> Path:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # The embedded server runs as a separate system user when started by root and needs every
        # ancestor of its data directory to be traversable; /var/lib already is.
        return Path("/var/lib/hocba")
    return Path(platformdirs.user_data_dir("hocba", appauthor=False))


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    tls: str  # "starttls", "tls" or "none"
    user: str | None = None
    password_file: Path | None = None


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    home: Path
    environment: str
    log_format: str | None
    school: str | None
    checkpoint_interval: int
    token_secret: str | None = None
    metrics_token: str | None = None
    backup_dirs: tuple[Path, ...] = ()
    backup_key_file: Path | None = None
    backup_keep: int = 14
    pgbackrest_stanza: str | None = None  # point-in-time recovery: /metrics shows its last backups
    pgbackrest_config: Path | None = None
    pkcs11_module: str | None = None
    pkcs11_label: str = "hocba"
    pkcs11_pin_file: Path | None = None
    tsa_url: str | None = None
    csc_url: str | None = None  # the licensed CA's remote-signing service (CSC API v1)
    csc_token_file: Path | None = None
    trust_roots: Path | None = None  # the trust list (PEM): the national root and the licensed CAs
    origin_prefix: str = "hocba-ledger"
    witness_name: str = "hocba-witness"
    witnesses: tuple[tuple[str, str], ...] = ()  # (verifier key, URL)
    witness_quorum: int = 0
    max_unsigned_seconds: int = 3600
    db_connect_timeout: float = 10
    db_statement_timeout: float = 60
    db_lock_timeout: float = 20
    db_pool_timeout: float = 10
    db_pool_size: int = 10
    db_pool_overflow: int = 10
    smtp: SmtpSettings | None = None
    public_url: str | None = None  # where families reach the service, for links in notices
    revocation: str = "local"  # "online": also ask OCSP responders and CRL distribution points
    archive_renewal_days: int = 365  # renew archive timestamps this long before their authority expires
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()  # whose X-SSL-Client-Cert is believed

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def pki_dir(self) -> Path:
        return self.home / "pki"


def load_settings() -> Settings:
    environment = os.environ.get("HOCBA_ENV", "development").strip().lower()
    if environment not in {"development", "production"}:
        raise SettingsError(f"HOCBA_ENV must be 'development' or 'production', not {environment!r}")
    log_format = os.environ.get("HOCBA_LOG_FORMAT") or None
    if log_format not in {None, "json", "console"}:
        raise SettingsError(f"HOCBA_LOG_FORMAT must be 'json' or 'console', not {log_format!r}")
    interval = _positive("HOCBA_CHECKPOINT_INTERVAL", os.environ.get("HOCBA_CHECKPOINT_INTERVAL", "300"))
    keep = os.environ.get("HOCBA_BACKUP_KEEP", "14")
    if not keep.isdigit() or int(keep) < 1:
        raise SettingsError("HOCBA_BACKUP_KEEP must be a positive number of backups")
    key_file = os.environ.get("HOCBA_BACKUP_KEY_FILE")
    pin_file = os.environ.get("HOCBA_PKCS11_PIN_FILE")
    home = os.environ.get("HOCBA_HOME")
    return Settings(
        database_url=os.environ.get("DATABASE_URL") or None,
        home=Path(home).expanduser() if home else _default_home(),
        environment=environment,
        log_format=log_format,
        school=os.environ.get("HOCBA_SCHOOL") or None,
        checkpoint_interval=interval,
        token_secret=os.environ.get("HOCBA_TOKEN_SECRET") or None,
        metrics_token=os.environ.get("HOCBA_METRICS_TOKEN") or None,
        backup_dirs=tuple(Path(d) for d in os.environ.get("HOCBA_BACKUP_DIRS", "").split(os.pathsep) if d),
        backup_key_file=Path(key_file) if key_file else None,
        backup_keep=int(keep),
        pgbackrest_stanza=os.environ.get("HOCBA_PGBACKREST_STANZA") or None,
        pgbackrest_config=Path(os.environ["HOCBA_PGBACKREST_CONFIG"])
        if os.environ.get("HOCBA_PGBACKREST_CONFIG")
        else None,
        pkcs11_module=os.environ.get("HOCBA_PKCS11_MODULE") or None,
        pkcs11_label=os.environ.get("HOCBA_PKCS11_TOKEN") or "hocba",
        pkcs11_pin_file=Path(pin_file) if pin_file else None,
        tsa_url=os.environ.get("HOCBA_TSA_URL") or None,
        csc_url=(os.environ.get("HOCBA_CSC_URL") or "").rstrip("/") or None,
        csc_token_file=Path(os.environ["HOCBA_CSC_TOKEN_FILE"]) if os.environ.get("HOCBA_CSC_TOKEN_FILE") else None,
        trust_roots=Path(os.environ["HOCBA_TRUST_ROOTS"]).expanduser() if os.environ.get("HOCBA_TRUST_ROOTS") else None,
        origin_prefix=_origin_prefix(os.environ.get("HOCBA_ORIGIN") or "hocba-ledger"),
        witness_name=_origin_prefix(os.environ.get("HOCBA_WITNESS_NAME") or "hocba-witness"),
        **_witnesses(os.environ.get("HOCBA_WITNESSES_FILE"), os.environ.get("HOCBA_WITNESS_QUORUM")),
        max_unsigned_seconds=_positive("HOCBA_MAX_UNSIGNED", os.environ.get("HOCBA_MAX_UNSIGNED", "3600")),
        db_connect_timeout=_seconds("HOCBA_DB_CONNECT_TIMEOUT", "10"),
        db_statement_timeout=_seconds("HOCBA_DB_STATEMENT_TIMEOUT", "60"),
        db_lock_timeout=_seconds("HOCBA_DB_LOCK_TIMEOUT", "20"),
        db_pool_timeout=_seconds("HOCBA_DB_POOL_TIMEOUT", "10"),
        db_pool_size=_positive("HOCBA_DB_POOL_SIZE", os.environ.get("HOCBA_DB_POOL_SIZE", "10")),
        db_pool_overflow=_count("HOCBA_DB_POOL_OVERFLOW", os.environ.get("HOCBA_DB_POOL_OVERFLOW", "10")),
        smtp=_smtp(environment),
        public_url=(os.environ.get("HOCBA_PUBLIC_URL") or "").rstrip("/") or None,
        revocation=_revocation(os.environ.get("HOCBA_REVOCATION")),
        archive_renewal_days=_positive(
            "HOCBA_ARCHIVE_RENEWAL_DAYS", os.environ.get("HOCBA_ARCHIVE_RENEWAL_DAYS", "365")
        ),
        trusted_proxies=_networks("HOCBA_TRUSTED_PROXIES", os.environ.get("HOCBA_TRUSTED_PROXIES", "")),
    )


def _revocation(value: str | None) -> str:
    mode = (value or "local").strip().lower()
    if mode not in ("local", "online"):
        raise SettingsError(f"HOCBA_REVOCATION must be 'local' or 'online', not {value!r}")
    return mode


def _networks(name: str, value: str) -> tuple[IPv4Network | IPv6Network, ...]:
    try:
        return tuple(ip_network(part.strip()) for part in value.split(",") if part.strip())
    except ValueError:
        raise SettingsError(f"{name} lists addresses or networks (10.0.0.5, 10.0.0.0/24), not {value!r}") from None


def _smtp(environment: str) -> SmtpSettings | None:
    host = os.environ.get("HOCBA_SMTP_HOST") or None
    if host is None:
        return None
    tls = (os.environ.get("HOCBA_SMTP_TLS") or "starttls").strip().lower()
    if tls not in ("starttls", "tls", "none"):
        raise SettingsError(f"HOCBA_SMTP_TLS must be 'starttls', 'tls' or 'none', not {tls!r}")
    if tls == "none" and environment == "production":
        raise SettingsError("HOCBA_SMTP_TLS=none sends families' mail in clear text: not in production")
    sender = os.environ.get("HOCBA_SMTP_FROM") or ""
    if "@" not in sender:
        raise SettingsError("HOCBA_SMTP_FROM must be the address notices are sent from")
    password_file = os.environ.get("HOCBA_SMTP_PASSWORD_FILE")
    return SmtpSettings(
        host=host,
        port=_positive("HOCBA_SMTP_PORT", os.environ.get("HOCBA_SMTP_PORT", "587")),
        sender=sender,
        tls=tls,
        user=os.environ.get("HOCBA_SMTP_USER") or None,
        password_file=Path(password_file) if password_file else None,
    )


def _count(name: str, value: str) -> int:
    if not value.isdigit():
        raise SettingsError(f"{name} must be a whole number, not {value!r}")
    return int(value)


def _positive(name: str, value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise SettingsError(f"{name} must be a positive whole number, not {value!r}")
    return int(value)


def _seconds(name: str, default: str) -> float:
    """A positive number of seconds (fractions allowed) from the environment variable `name`."""
    value = os.environ.get(name) or default
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0
    if not 0 < seconds < 86400:
        raise SettingsError(f"{name} must be a positive number of seconds, not {value!r}")
    return seconds


def _witnesses(path: str | None, quorum: str | None) -> dict[str, Any]:
    """The witnesses of HOCBA_WITNESSES_FILE and the quorum of HOCBA_WITNESS_QUORUM."""
    witnesses: list[tuple[str, str]] = []
    if path:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise SettingsError(f"HOCBA_WITNESSES_FILE {path}: {exc.strerror}") from None
        for number, line in enumerate(lines, 1):
            if line.strip() and not line.lstrip().startswith("#"):
                parts = line.split()
                if len(parts) != 2 or not parts[1].startswith(("http://", "https://")):
                    raise SettingsError(f"{path}:{number}: a witness is '<verifier key> <URL>'")
                witnesses.append((parts[0], parts[1].rstrip("/")))
    count = _positive("HOCBA_WITNESS_QUORUM", quorum) if quorum else min(1, len(witnesses))
    if count > len(witnesses):
        raise SettingsError(f"HOCBA_WITNESS_QUORUM is {count}, but {len(witnesses)} witnesses are named")
    return {"witnesses": tuple(witnesses), "witness_quorum": count}


def _origin_prefix(value: str) -> str:
    """A name as signed notes allow: no space, no '+' (and no trailing '/')."""
    if "+" in value or any(ch.isspace() for ch in value) or value.endswith("/"):
        raise SettingsError(f"a log's or a witness's name has no space, '+' or trailing '/', not {value!r}")
    return value


def softhsm_configuration() -> str | None:
    """Where SoftHSM2 reads its configuration (SOFTHSM2_CONF), when set."""
    return os.environ.get("SOFTHSM2_CONF")


def use_softhsm_configuration(path: Path) -> None:
    """Point SoftHSM2, loaded later in this process, at a configuration file."""
    os.environ["SOFTHSM2_CONF"] = str(path)


def variable(name: str) -> str | None:
    """An environment variable the user named (for example with --passphrase-env)."""
    return os.environ.get(name)
