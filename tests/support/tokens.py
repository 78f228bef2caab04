"""A staff member's USB token for the tests: a fresh SoftHSM2 token holding their key (not
extractable) and its certificate, with its own copy of SoftHSM2's PKCS#11 library, as a CA hands a
teacher a token with its vendor's library."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pkcs11 import Attribute, CertificateType, ObjectClass

from ledger.app.service_keys import SOFTHSM_MODULES
from signing.x509.pkcs11 import Token

PIN = "2468"


def softhsm_module() -> str:
    module = next((m for m in SOFTHSM_MODULES if Path(m).exists()), None)
    if module is None or shutil.which("softhsm2-util") is None:
        pytest.fail("SoftHSM2 is needed: run ops/dev.py setup")
    return module


def token_with(key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate, label: str, tmp: Path) -> Token:
    """A fresh token holding the key (not extractable) and its certificate, both labelled `label`, as a
    CA hands a teacher their USB token; the setup's own session is closed afterwards. The token comes
    with its own PKCS#11 module, as a vendor's does: a copy of SoftHSM2's library, loaded afresh, so it
    finds the token made after SoftHSM2 was first loaded in this process."""
    module = str(shutil.copy(softhsm_module(), tmp / "vendor-pkcs11.so"))
    util = ["softhsm2-util"]
    subprocess.run(
        [*util, "--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", PIN],
        capture_output=True,
        check=True,
    )
    pem = tmp / f"{label}.key.pem"
    pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    subprocess.run(
        [*util, "--import", str(pem), "--token", label, "--label", label, "--id", "01", "--pin", PIN],
        capture_output=True,
        check=True,
    )
    pem.unlink()
    setup = Token(module, label, PIN)
    setup._open().create_object(
        {
            Attribute.CLASS: ObjectClass.CERTIFICATE,
            Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
            Attribute.TOKEN: True,
            Attribute.LABEL: label,
            Attribute.ID: b"\x01",
            Attribute.SUBJECT: certificate.subject.public_bytes(),
            Attribute.VALUE: certificate.public_bytes(serialization.Encoding.DER),
        }
    )
    setup.close()
    return Token(module, label, PIN)


@contextmanager
def signing_helper(token: Token, origin: str, env: dict[str, str]) -> Iterator[str]:
    """`hocba signing helper` for the token (its key and certificate under the token's label), a real
    process answering the pages of `origin` on a free loopback port; its address, until the end."""
    script = Path(sys.executable).with_name("hocba")
    command = [str(script), "signing", "helper", "--pkcs11-module", token.module, "--token-label", token.label]
    command += ["--key-label", token.label, "--origin", origin, "--port", "0"]
    helper = subprocess.Popen(
        command,
        env={**env, "SOFTHSM2_CONF": os.environ["SOFTHSM2_CONF"]},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = helper.stdout.readline() if helper.stdout else ""
        assert "listening on http://127.0.0.1:" in line, (line, helper.stderr.read() if helper.stderr else "")
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        helper.terminate()
        helper.wait(timeout=10)
