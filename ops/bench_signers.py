"""Benchmark of signing a class's học bạ through each kind of key, as a ratio to a key in memory
measured in the same run.

    .venv/bin/python ops/bench_signers.py [--students 45] [--rounds 5]

A subject teacher signs their subject in every học bạ of a class (`xades.sign_all`: every document
made ready, then one authorisation of the key over all of them):

- in memory (the demo's PKCS#12 key): the baseline;
- PKCS#11: the same key on a SoftHSM2 token, one login (PIN) and one signature per document on the
  token, the digest made here;
- CSC: the key at certomancer's CSC test server on loopback (same process, aiohttp), one
  `credentials/authorize` over every hash and one `signatures/signHash`.

Each round's time includes opening the key (the token's login, the CSC credential's information). The
signatures are then verified as the service verifies them (signing.xml.verify.verify_signature), once
per kind, outside the timing; the verification's time, the same for every kind of key, is printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ops.bench_signing import WHEN, model
from signing.x509.names import staff_uri
from signing.x509.pki import Pki
from signing.x509.signers import MemoryKey
from signing.xml import document as hocba_xml
from signing.xml import verify as xml_verify
from signing.xml import xades

SCHOOL, TEACHER, PIN = "kp", "gv.toan01", "2468"
SOFTHSM_MODULES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")


def prepared_class(students: int) -> list[bytes]:
    """A class's học bạ, each prepared for the mathematics teacher's signature."""
    documents = []
    for serial in range(1, students + 1):
        root = hocba_xml.build(model(serial), signatures=[])
        references = hocba_xml.references_for(root, "SUBJECT_TEACHER", "TOAN")
        hocba_xml.add_placeholder(root, f"ck-{serial}", "SUBJECT_TEACHER", references)
        documents.append(hocba_xml.to_bytes(root))
    return documents


def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def token_key(work: Path, teacher: MemoryKey) -> Any:
    """The teacher's key and certificate on a fresh SoftHSM2 token of its own."""
    module = next((m for m in SOFTHSM_MODULES if Path(m).exists()), None)
    if module is None or shutil.which("softhsm2-util") is None:
        raise SystemExit("SoftHSM2 is needed: apt-get install softhsm2")
    (work / "tokens").mkdir()
    (work / "softhsm2.conf").write_text(f"directories.tokendir = {work / 'tokens'}\nobjectstore.backend = file\n")
    os.environ["SOFTHSM2_CONF"] = str(work / "softhsm2.conf")
    label = "gv-toan"
    util = shutil.which("softhsm2-util") or "softhsm2-util"
    subprocess.run(
        [util, "--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", PIN],
        check=True,
        capture_output=True,
    )
    assert isinstance(teacher.key, ec.EllipticCurvePrivateKey)
    (work / "key.pem").write_bytes(_pem(teacher.key))
    subprocess.run(
        [util, "--import", str(work / "key.pem"), "--token", label, "--label", label, "--id", "01", "--pin", PIN],
        check=True,
        capture_output=True,
    )
    from pkcs11 import Attribute, CertificateType, ObjectClass

    from signing.x509.pkcs11 import Token, TokenKey

    setup = Token(module, label, PIN)
    setup._open().create_object(
        {
            Attribute.CLASS: ObjectClass.CERTIFICATE,
            Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
            Attribute.TOKEN: True,
            Attribute.LABEL: label,
            Attribute.SUBJECT: teacher.certificate.subject.public_bytes(),
            Attribute.VALUE: teacher.certificate.public_bytes(serialization.Encoding.DER),
        }
    )
    setup.close()
    return lambda: TokenKey(Token(module, label, PIN), label)


def certomancer_config(pki: Pki, work: Path) -> Path:
    """A CSC service holding a teacher's key under a certificate of the demo root."""
    root = pki.roots()[0]

    def attribute(oid: Any) -> str:
        return str(root.subject.get_attributes_for_oid(oid)[0].value)

    (work / "remote.key.pem").write_bytes(_pem(ec.generate_private_key(ec.SECP256R1())))
    shutil.copy(pki.root_key_path, work / "root.key.pem")
    (work / "certomancer.yml").write_text(
        f"""
external-url-prefix: "http://csc.bench.invalid"
keysets:
  school: {{path-prefix: "{work}", keys: {{root: {{path: root.key.pem}}, teacher: {{path: remote.key.pem}}}}}}
pki-architectures:
  school:
    keyset: school
    entities:
      root: {{country-name: VN, organization-name: "{attribute(NameOID.ORGANIZATION_NAME)}",
             common-name: "{attribute(NameOID.COMMON_NAME)}"}}
      teacher: {{country-name: VN, organization-name: "{SCHOOL}", common-name: "{TEACHER}"}}
    certs:
      root:
        certificate-file: "{pki.root_path}"
        subject: root
        issuer: root
        validity: {{valid-from: "2020-01-01T00:00:00+0000", valid-to: "2045-01-01T00:00:00+0000"}}
      teacher:
        subject: teacher
        issuer: root
        validity: {{valid-from: "2025-01-01T00:00:00+0000", valid-to: "2029-01-01T00:00:00+0000"}}
        extensions:
          - {{id: key_usage, critical: true,
              smart-value: {{schema: key-usage, params: [digital_signature, non_repudiation]}}}}
          - id: subject_alt_name
            smart-value: {{schema: general-names, params: [{{type: uri, value: "{staff_uri(SCHOOL, TEACHER)}"}}]}}
""",
        encoding="utf-8",
    )
    return work / "certomancer.yml"


async def csc_service(config: Path, students: int) -> tuple[str, Any]:
    from aiohttp import web
    from certomancer import registry
    from csc_dummy.csc_dummy_server import CSCWithCertomancer, DummyServiceParams

    service = CSCWithCertomancer(
        registry.CertomancerConfig.from_file(str(config)), service_params=DummyServiceParams(multisign=students)
    )
    service.register_routes()
    runner = web.AppRunner(service.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return f"http://127.0.0.1:{port}", runner


async def timed(rounds: int, once: Callable[[], Awaitable[list[bytes]]]) -> tuple[float, list[bytes]]:
    times, signed = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        signed = await once()
        times.append(time.perf_counter() - start)
    return statistics.median(times), signed


def verified(signed: Sequence[bytes], pki: Pki) -> float:
    start = time.perf_counter()
    for data in signed:
        report = xml_verify.verify_signature(data, 0, pki.roots(), [pki.crl()])
        assert report.ok, report.to_json()
    return time.perf_counter() - start


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=45)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        pki = Pki(work / "pki")
        pki.init_demo()
        holder = pki.issue_demo_personal(SCHOOL, TEACHER, TEACHER, valid_from=WHEN - timedelta(days=300))
        memory = MemoryKey(holder.key, holder.certificate)
        documents = prepared_class(args.students)
        on_token = token_key(work, memory)
        url, runner = await csc_service(certomancer_config(pki, work), args.students)

        async def in_memory() -> list[bytes]:
            return await xades.sign_all(documents, memory, signing_time=WHEN)

        async def token() -> list[bytes]:
            key = on_token()
            try:
                return await xades.sign_all(documents, key, signing_time=WHEN)
            finally:
                key.token.close()

        async def remote() -> list[bytes]:
            from signing.x509.csc import CscKey

            async with CscKey(url, "school/teacher") as key:
                return await xades.sign_all(documents, key, signing_time=WHEN)

        try:
            base, signed = await timed(args.rounds, in_memory)
            verify_time = verified(signed, pki)
            rows = [("in memory (PKCS#12)", base)]
            for name, once in (("PKCS#11 (SoftHSM2)", token), ("CSC (loopback)", remote)):
                seconds, signed = await timed(args.rounds, once)
                verified(signed, pki)
                rows.append((name, seconds))
        finally:
            await runner.cleanup()
    print(f"signing the subject of a class of {args.students} học bạ, median of {args.rounds} rounds:")
    for name, seconds in rows:
        per = seconds / args.students * 1000
        print(f"  {name:<22} {seconds * 1000:8.1f} ms  ({per:5.2f} ms a học bạ)  x{seconds / base:5.2f}")
    print(f"verifying the {args.students} signatures (any kind of key): {verify_time * 1000:.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
