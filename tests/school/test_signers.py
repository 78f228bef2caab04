"""Signing as staff sign (Điều 8, 12, 14, 18): a teacher's key on a USB token (SoftHSM2 here), the
principal's key at a remote-signing service over the CSC API (certomancer's CSC test server, on
loopback), and the demo PKCS#12 file, refused in production. A whole class is signed with one PIN
entry, or one authorisation of the remote credential."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from ledger.app.demo import PRINCIPAL, Signers, sign_batch
from ledger.app.runtime import demo_time_stamper, stamp_with
from ledger.school.signatures.certificates import register_certificate
from ledger.school.signatures.commands import prepare_signatures, submit_pdf, submit_signatures
from ledger.school.signatures.queries import current_signatures, pdf_document, xml_document
from signing.pdf.sign import sign_pdf, sign_pdfs
from signing.pdf.verify import verify_pdf
from signing.x509.csc import CscKey
from signing.x509.names import staff_uri
from signing.x509.pkcs11 import Token, TokenKey
from signing.x509.signers import PKCS12_IN_PRODUCTION, SignerError, load_pkcs12, read_pkcs12
from signing.xml import document as hocba_xml
from signing.xml import verify as xml_verify
from signing.xml import xades
from tests.support import helpers
from tests.support.csc import Holder
from tests.support.csc import csc_service as remote_signing
from tests.support.signers import YEAR
from tests.support.tokens import PIN
from tests.support.tokens import token_with as _token_with


@pytest.mark.slow
async def test_a_teacher_signs_a_class_with_a_softhsm2_token_and_one_pin_dieu_8_12_14_18(
    signers: Signers, app_engine: Any, env: dict[str, str], tmp_path: Path
) -> None:
    """Prepare the class, sign every học bạ with the token, submit them all: from the command line, as
    a teacher does it, on the system clock (the school year is over)."""
    s, subject = signers, "TOAN"
    students = sorted(s.demo.rosters["6A1"])
    teacher = s.demo.subject_teachers[subject]
    keys = s.people[teacher]
    assert isinstance(keys.key, ec.EllipticCurvePrivateKey)
    label = f"gv-{s.demo.school[-8:]}"
    token = _token_with(keys.key, keys.certificate, label, tmp_path)
    as_teacher = {**await helpers.signed_in(app_engine, env, s.demo.school, teacher)}
    where = ("--school", s.demo.school, "--year", YEAR, "--class", "6A1", "--role", "SUBJECT_TEACHER")
    step = helpers.hocba(
        "signing", "prepare-class", *where, "--subject", subject, "--output-dir", str(tmp_path / "hs"), env=as_teacher
    )
    assert step.returncode == 0, step.stderr
    files = sorted((tmp_path / "hs").iterdir())
    assert [f.stem for f in files] == students

    asked: list[str] = []

    def prompt() -> str:
        asked.append(label)
        return PIN

    on_token = TokenKey(Token(token.module, label, prompt), label)
    try:
        signed = await xades.sign_all([f.read_bytes() for f in files], on_token, signing_time=s.demo.clock.now())
    finally:
        on_token.token.close()
    assert asked == [label], "one PIN entry for the whole class"
    assert on_token.certificate == keys.certificate  # read from the token
    # the prepared document holds the teacher's subject alone: its signature is checked by xmlsec1 as is,
    # and by the service once it is back in the whole học bạ (below)
    alone = tmp_path / "mot-hoc-sinh.xml"
    alone.write_bytes(signed[0])
    assert helpers.xmlsec1_verifies(alone, s.pki.root_path) == [True]

    token_options = ("--pkcs11-module", token.module, "--token-label", label, "--key-label", label)
    pin = {"SOFTHSM2_CONF": os.environ["SOFTHSM2_CONF"], "TEACHER_PIN": PIN}
    step = helpers.hocba(
        "sign",
        *map(str, files),
        *token_options,
        "--pin-env",
        "TEACHER_PIN",
        "--output-dir",
        str(tmp_path / "signed"),
        env={**env, **pin},
    )
    assert step.returncode == 0 and step.stdout.count("signed ") == len(students), step.stderr
    signed_files = [str(tmp_path / "signed" / f.name) for f in files]
    step = helpers.hocba("signing", "submit-class", *where, "--subject", subject, *signed_files, env=as_teacher)
    assert (step.returncode, step.stdout.strip()) == (0, f"appended={len(students)}"), step.stderr
    async with s.demo.ledger.engine.connect() as conn:
        for student in students:
            done = await current_signatures(conn, s.demo.school, YEAR, student)
            assert [(r["role"], r["subject"]) for r in done] == [("SUBJECT_TEACHER", subject)]
        whole, _ = await xml_document(conn, s.demo.school, YEAR, students[0])
    [signature] = (await xml_verify.verify_xml(hocba_xml.to_bytes(whole), s.pki.roots(), s.pki.crls())).signatures
    assert signature.ok and signature.role == "SUBJECT_TEACHER" and signature.staff_id == teacher


@pytest.fixture
async def csc_service(signers: Signers, tmp_path: Path) -> AsyncIterator[str]:
    """certomancer's CSC test server on a free loopback port, holding the principal's key; its address."""
    holder = Holder("principal", staff_uri(signers.demo.school, PRINCIPAL.user), f"Hiệu trưởng {PRINCIPAL.user}")
    async with remote_signing(signers.pki, tmp_path, [holder]) as service:
        yield service.url


@pytest.mark.slow
async def test_the_principal_signs_a_class_through_csc_in_one_authorisation_dieu_8_12_14_18(
    signers: Signers, csc_service: str, env: dict[str, str], tmp_path: Path
) -> None:
    s = signers
    students = s.demo.rosters["6A1"]
    async with s.demo.ledger.engine.connect() as conn:
        root, _ = await xml_document(conn, s.demo.school, YEAR, students[0])
    subjects = [e.get("Ma") for e in root.iter(hocba_xml.tag("MonHoc"))]
    for subject in subjects:
        await sign_batch(s, students, "SUBJECT_TEACHER", subject)
    await sign_batch(s, students, "HOMEROOM_TEACHER")
    async with CscKey(csc_service, "school/principal") as remote:
        assert PRINCIPAL.user in str(remote.certificate.subject.rfc4514_string())
        await register_certificate(s.demo.ledger, s.demo.school, PRINCIPAL, remote.certificate, s.pki.roots())
        async with s.demo.ledger.engine.connect() as conn:
            prepared = await prepare_signatures(
                conn, s.demo.school, YEAR, students, "PRINCIPAL", None, s.demo.clock.now()
            )
        signed = await xades.sign_all([p["document"] for p in prepared], remote, signing_time=s.demo.clock.now())
        assert remote.authorisations == 1, "one authorisation over every hash of the class"
    files = []
    for p in prepared:  # the same from the command line, the service's access token read from a file
        files.append(tmp_path / f"{p['student']}.xml")
        files[-1].write_bytes(p["document"])
    (tmp_path / "csc-token").write_text("access-token-of-the-principal\n")
    remote_options = ("--csc-url", csc_service, "--credential", "school/principal")
    step = await asyncio.to_thread(
        helpers.hocba,
        "sign",
        *map(str, files),
        *remote_options,
        "--csc-token-file",
        str(tmp_path / "csc-token"),
        "--output-dir",
        str(tmp_path / "signed"),
        env=env,
    )
    assert step.returncode == 0 and step.stdout.count("signed ") == len(students), step.stderr
    by_cli = (tmp_path / "signed" / files[0].name).read_bytes()
    principal = (await xml_verify.verify_xml(by_cli, s.pki.roots(), [s.pki.crl()])).signatures[-1]
    assert principal.ok and principal.role == "PRINCIPAL" and principal.staff_id == PRINCIPAL.user
    stamp = stamp_with(demo_time_stamper(s.pki, s.demo.clock))
    events = await submit_signatures(
        s.demo.ledger,
        s.demo.school,
        PRINCIPAL,
        YEAR,
        [(p["student"], data) for p, data in zip(prepared, signed, strict=True)],
        s.pki.roots(),
        [s.pki.crl()],
        stamp,
    )
    assert [e.payload["role"] for e in events] == ["PRINCIPAL"] * len(students)
    report = await xml_verify.verify_xml(signed[0], s.pki.roots(), [s.pki.crl()])
    assert report.signatures[-1].ok and report.signatures[-1].role == "PRINCIPAL", report.to_json()
    async with s.demo.ledger.engine.connect() as conn:  # then the PDF, through the same credential
        current, _ = await pdf_document(conn, s.demo.school, YEAR, students[0], s.verification)
    async with CscKey(csc_service, "school/principal") as remote:
        pdf = await sign_pdf(
            current,
            remote,
            None,
            chain=s.pki.roots(),
            appearance="principal",
            role="PRINCIPAL",
            signer_name=PRINCIPAL.user,
            signing_time=s.demo.clock.now(),
            time_stamper=demo_time_stamper(s.pki),
            field_name="ky-principal",
        )
    event = await submit_pdf(
        s.demo.ledger,
        s.demo.school,
        PRINCIPAL,
        YEAR,
        students[0],
        pdf,
        s.pki.roots(),
        [s.pki.crl()],
        verification=s.verification,
    )
    assert (event.payload["format"], event.payload["role"]) == ("pdf", "PRINCIPAL"), event.payload


async def test_the_principal_signs_a_class_s_pdf_hoc_ba_through_csc_in_one_authorisation_dieu_8_13(
    signers: Signers, csc_service: str, env: dict[str, str], tmp_path: Path
) -> None:
    """The PDF học bạ of a whole class signed with one authorisation of the principal's remote
    credential over every hash (CSC numSignatures), through the library and through `hocba sign`;
    each PDF carries its own valid signature, one revision after the PDF given."""
    s = signers
    students = s.demo.rosters["6A1"]
    async with s.demo.ledger.engine.connect() as conn:
        pdfs = [(await pdf_document(conn, s.demo.school, YEAR, student, s.verification))[0] for student in students]
    async with CscKey(csc_service, "school/principal") as remote:
        signed = await sign_pdfs(
            pdfs,
            remote,
            chain=s.pki.roots(),
            appearance="principal",
            role="PRINCIPAL",
            signer_name=PRINCIPAL.user,
            signing_time=s.demo.clock.now(),
            time_stamper=demo_time_stamper(s.pki),
            field_name="HieuTruong",
        )
        assert remote.authorisations == 1, "one authorisation over the hashes of the class's PDFs"
    assert len(signed) == len(students) > 1
    digests = set()
    for pdf, data in zip(pdfs, signed, strict=True):
        assert data.startswith(pdf)
        [sig] = (await verify_pdf(data, s.pki.roots(), [s.pki.crl()])).signatures
        assert sig.ok and sig.role == "PRINCIPAL" and sig.staff_id == PRINCIPAL.user, sig.findings
        digests.add(data[len(pdf) :])
    assert len(digests) == len(students)  # a signature of its own for each PDF
    files = []
    for student, pdf in zip(students, pdfs, strict=True):
        files.append(tmp_path / f"{student}.pdf")
        files[-1].write_bytes(pdf)
    (tmp_path / "csc-token").write_text("access-token-of-the-principal\n")
    step = await asyncio.to_thread(
        helpers.hocba,
        "sign",
        *map(str, files),
        "--csc-url",
        csc_service,
        "--credential",
        "school/principal",
        "--csc-token-file",
        str(tmp_path / "csc-token"),
        "--role",
        "PRINCIPAL",
        "--output-dir",
        str(tmp_path / "signed"),
        env=env,
    )
    assert step.returncode == 0, step.stderr
    assert f"{len(students)} PDF signed under 1 authorisation(s)" in step.stderr
    for file in files:
        [sig] = (
            await verify_pdf((tmp_path / "signed" / file.name).read_bytes(), s.pki.roots(), [s.pki.crl()])
        ).signatures
        assert sig.ok and sig.role == "PRINCIPAL", sig.findings


def test_a_pkcs12_signer_is_refused_in_production_mode_dieu_8(
    signers: Signers, env: dict[str, str], tmp_path: Path
) -> None:
    p12 = signers.pki.save_holder(signers.demo.school, PRINCIPAL.user, signers.people[PRINCIPAL.user])
    with pytest.raises(SignerError) as refused:
        read_pkcs12(p12, b"hocba-demo", production=True)
    assert str(refused.value) == PKCS12_IN_PRODUCTION and "\n" not in PKCS12_IN_PRODUCTION
    assert (
        load_pkcs12(p12.read_bytes(), b"hocba-demo", production=False).certificate
        == signers.people[PRINCIPAL.user].certificate
    )
    prepared = tmp_path / "prepared.xml"
    prepared.write_bytes(b"<x/>")
    production = {**env, "HOCBA_ENV": "production"}
    step = helpers.hocba("sign", str(prepared), "--p12", str(p12), "-o", str(tmp_path / "out.xml"), env=production)
    assert step.returncode == 2 and step.stderr.strip().splitlines() == [f"hocba: {PKCS12_IN_PRODUCTION}"], step.stderr
    assert not (tmp_path / "out.xml").exists()
