"""The ledger service's keys, which sign checkpoints and signed projections: Ed25519 keys on a PKCS#11
token, one per school (label `hocba-service-<school>`), each under a service certificate (Điều 9.5).

Production names the token (HOCBA_PKCS11_MODULE, HOCBA_PKCS11_TOKEN, HOCBA_PKCS11_PIN_FILE) and
installs each school's certificate in the PKI directory; nothing is generated. Development uses
SoftHSM2 when it is installed: a token of its own in HOCBA_HOME/softhsm, keys made on first use and
certified by the demo root. Without SoftHSM2, development falls back to a key in a file, and says so.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from ledger.base.logs import get_logger
from ledger.base.settings import Settings, softhsm_configuration, use_softhsm_configuration
from ledger.witness.state import WitnessKey
from signing.x509.keys import Signer, raw_public_key
from signing.x509.pkcs11 import Token, TokenSigner
from signing.x509.pki import Pki, PkiError

log = get_logger(__name__)
SOFTHSM_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)
DEMO_PIN = "hocba-demo-pin"


WITNESS_KEY_LABEL = "hocba-witness"


def service_key_label(school: str) -> str:
    return f"hocba-service-{school}"


def _development_token(settings: Settings) -> Token | None:
    """SoftHSM2's token in HOCBA_HOME/softhsm, made on first use; None when SoftHSM2 is not installed."""
    module = next((m for m in SOFTHSM_MODULES if Path(m).exists()), None)
    util = shutil.which("softhsm2-util")
    if module is None or util is None:
        return None
    if softhsm_configuration() is None:
        directory = settings.home / "softhsm"
        (directory / "tokens").mkdir(parents=True, exist_ok=True)
        conf = directory / "softhsm2.conf"
        if not conf.exists():
            conf.write_text(
                f"directories.tokendir = {directory / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
            )
        use_softhsm_configuration(conf)
    listing = subprocess.run([util, "--show-slots"], capture_output=True, text=True, check=False)  # noqa: S603
    if f"Label:            {settings.pkcs11_label}" not in listing.stdout:
        subprocess.run(  # noqa: S603
            [
                util,
                "--init-token",
                "--free",
                "--label",
                settings.pkcs11_label,
                "--pin",
                DEMO_PIN,
                "--so-pin",
                DEMO_PIN,
            ],
            capture_output=True,
            check=True,
        )
    return Token(module, settings.pkcs11_label, DEMO_PIN)


@dataclass
class ServiceKeys:
    """The service signer of each school, from the configured token (or the development fallback)."""

    settings: Settings
    pki: Pki
    _token: Token | None = field(default=None, init=False)
    _resolved: bool = field(default=False, init=False)
    _signers: dict[str, Signer] = field(default_factory=dict, init=False)

    def token(self) -> Token | None:
        if not self._resolved:
            settings = self.settings
            if settings.pkcs11_module:
                if settings.pkcs11_pin_file is None:
                    raise PkiError("HOCBA_PKCS11_MODULE is set: give the token's PIN in HOCBA_PKCS11_PIN_FILE")
                pin = settings.pkcs11_pin_file.read_text(encoding="utf-8").strip()
                self._token = Token(settings.pkcs11_module, settings.pkcs11_label, pin)
            elif settings.production:
                raise PkiError("production keeps the service keys on a token: set HOCBA_PKCS11_MODULE")
            else:
                self._token = _development_token(settings)
                if self._token is None:
                    log.warning("SoftHSM2 is not installed: the service keys are kept in files (development only)")
            self._resolved = True
        return self._token

    def signer(self, school: str) -> Signer:
        if school not in self._signers:
            token = self.token()
            self._signers[school] = self._on_token(token, school) if token else self.pki.demo_service_key(school)
        return self._signers[school]

    def _on_token(self, token: Token, school: str) -> Signer:
        # Several processes of one installation may meet a new school at once: one makes its key.
        self.settings.home.mkdir(parents=True, exist_ok=True)
        with (self.settings.home / "service-keys.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return self._on_token_locked(token, school)

    def _on_token_locked(self, token: Token, school: str) -> Signer:
        label = service_key_label(school)
        public = token.ed25519_public_key(label)
        if public is None:
            if self.settings.production:
                raise PkiError(f"the token {token.label!r} holds no service key {label!r} for school {school!r}")
            public = token.generate_ed25519(label)
        certificate = self.pki.service_certificate(school)
        if certificate is None or raw_public_key(certificate) != public:
            if self.settings.production:
                raise PkiError(f"no service certificate for the key {label!r} of school {school!r}")
            if not self.pki.exists():
                self.pki.init_demo()
            certificate = self.pki.issue_demo_service_certificate(
                school, ed25519.Ed25519PublicKey.from_public_bytes(public)
            )
        return TokenSigner(token, label, certificate)

    def witness_key(self, name: str) -> WitnessKey:
        """The witness's Ed25519 key (label `hocba-witness` on the token; made on first use in
        development), named `name` in its cosignatures."""
        token = self.token()
        if token is None:
            return _file_witness_key(self.settings.home / "witness" / "witness.key.pem", name)
        public = token.ed25519_public_key(WITNESS_KEY_LABEL)
        if public is None:
            if self.settings.production:
                raise PkiError(f"the token {token.label!r} holds no witness key {WITNESS_KEY_LABEL!r}")
            public = token.generate_ed25519(WITNESS_KEY_LABEL)
        return WitnessKey(name, public, lambda message: token.sign_ed25519(WITNESS_KEY_LABEL, message))


def _file_witness_key(path: Path, name: str) -> WitnessKey:
    """Development without a token: the witness's key in a file (made on first use)."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise PkiError(f"{path} does not hold an Ed25519 key")
    else:
        key = ed25519.Ed25519PrivateKey.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return WitnessKey(name, public, key.sign)
