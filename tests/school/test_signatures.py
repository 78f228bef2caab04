"""Signatures of the XML học bạ (the regulation's Điều 7–15, 18, 24.5; DOMAIN §6–7): certificates
registered on the principal's approval, signing on the signer's side in the order subject teachers →
homeroom teacher → principal → clerk, every check before a signature is recorded, staleness after a
correction, and the offline verifier against independent xmlsec1."""

from __future__ import annotations

import base64
import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from lxml import etree
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.app.demo import PRINCIPAL, VICE_PRINCIPAL, build_demo_school
from ledger.base.clock import VN_TZ
from ledger.base.errors import DomainError
from ledger.format.envelope import Actor
from ledger.school.corrections.commands import decide_request, file_request
from ledger.school.corrections.model import assessment_target
from ledger.school.rules.roles import Role
from ledger.school.signatures.certificates import fingerprint as cert_fingerprint
from ledger.school.signatures.certificates import register_certificate, revoke_certificate
from ledger.school.signatures.queries import current_signatures, load_documents, pdf_document, xml_document
from ledger.school.signatures.readiness import missing_results
from ledger.school.transcripts.hocba import document_model
from signing.x509.keys import DocumentSigner
from signing.x509.pki import Pki
from signing.xml import document as hocba_xml
from signing.xml import verify as xml_verify
from signing.xml import xades
from tests.support import helpers
from tests.support.signers import CERTS_FROM, SIGNING_DAY, YEAR, Signers, sign_as, sign_everything, sign_pdf_as


async def test_a_fully_signed_hoc_ba_verifies_here_and_with_xmlsec1_dieu_14_15_18(
    signers: Signers, tmp_path: Path
) -> None:
    student = signers.demo.rosters["6A1"][0]
    data = await sign_everything(signers, student)
    report = await xml_verify.verify_xml(data, signers.pki.roots(), [signers.pki.crl()])
    assert report.ok, report.to_json()
    roles = [s.role for s in report.signatures]
    assert roles[-3:] == ["HOMEROOM_TEACHER", "PRINCIPAL", "ORGANISATION"]
    assert set(roles[:-3]) == {"SUBJECT_TEACHER"} and len(roles) == 3 + len(signers.demo.subject_teachers)
    principal = report.signatures[-2]
    assert principal.parts[:2] == ["student", "decision"] and len(principal.parts) == 2 + len(roles) - 2
    assert principal.signing_time == "2026-08-12T09:00:00+07:00" and principal.staff_id == PRINCIPAL.user
    path = tmp_path / "hocba.xml"
    path.write_bytes(data)
    assert helpers.xmlsec1_verifies(path, signers.pki.root_path) == [True] * len(roles)
    tampered = tmp_path / "tampered.xml"
    tampered.write_bytes(data.replace(b'Ten="To\xc3\xa1n"', b'Ten="To\xc3\xa0n"', 1))
    assert not all(helpers.xmlsec1_verifies(tampered, signers.pki.root_path))


async def test_a_hoc_ba_is_signed_only_with_the_results_its_signer_vouches_for_dieu_18_3_18_4(
    signers: Signers,
) -> None:
    """Điều 18.3: the subject teacher vouches for their subject's year result; Điều 18.4 and after: the
    homeroom teacher and those after vouch for every subject's and the year's conduct. A học bạ missing
    one is not signed (the same rule refuses it when prepared and on the append path)."""
    demo = signers.demo
    student = demo.rosters["6A1"][0]
    async with demo.ledger.engine.connect() as conn:
        model = await document_model(conn, demo.school, YEAR, student)
    assert all(missing_results(model, role, "TOAN") == [] for role in ("SUBJECT_TEACHER", "HOMEROOM_TEACHER"))
    gap = copy.deepcopy(model)
    [year] = gap["years"]
    next(s for s in year["subjects"] if s["code"] == "TOAN")["year"] = None
    year["conduct"]["year"] = None
    assert missing_results(gap, "SUBJECT_TEACHER", "TOAN") == ["kết quả cả năm môn Toán"]
    assert missing_results(gap, "SUBJECT_TEACHER", "NGU_VAN") == []
    assert missing_results(gap, "PRINCIPAL", None) == ["kết quả cả năm môn Toán", "kết quả rèn luyện cả năm"]


async def test_signing_follows_the_order_of_dieu_18(signers: Signers) -> None:
    student = signers.demo.rosters["7A1"][0]
    for role in ("HOMEROOM_TEACHER", "PRINCIPAL", "ORGANISATION"):
        with pytest.raises(DomainError) as refused:
            await sign_as(signers, student, role)
        assert refused.value.code == "signature.order" and "giáo viên môn Toán" in refused.value.vi
        assert "SUBJECT_TEACHER" not in refused.value.vi + refused.value.en  # names, not codes
    await sign_as(signers, student, "SUBJECT_TEACHER", "TOAN")
    with pytest.raises(DomainError) as again:
        await sign_as(signers, student, "SUBJECT_TEACHER", "TOAN")
    assert again.value.code == "signature.done"


@pytest.mark.parametrize("case", ["no_role", "unregistered", "revoked", "expired", "flipped", "references"])
async def test_a_signature_is_checked_before_it_is_recorded_dieu_8_9(signers: Signers, case: str) -> None:
    demo, pki = signers.demo, signers.pki
    student = demo.rosters["8A1"][0]
    holder = None
    tamper = None
    if case == "no_role":  # the literature teacher signs mathematics with their own certificate
        other = demo.subject_teachers["NGU_VAN"]
        holder = (Actor(other, Role.SUBJECT_TEACHER), signers.people[other])
    elif case == "unregistered":
        toan = demo.subject_teachers["TOAN"]
        holder = (
            Actor(toan, Role.SUBJECT_TEACHER),
            pki.issue_demo_personal(demo.school, toan, toan, valid_from=CERTS_FROM),
        )
    elif case == "revoked":
        toan = demo.subject_teachers["TOAN"]
        pki.revoke(signers.people[toan].certificate, datetime(2026, 8, 1, tzinfo=VN_TZ))
    elif case == "expired":
        toan = demo.subject_teachers["TOAN"]
        short = pki.issue_demo_personal(demo.school, toan, toan, valid_from=CERTS_FROM, days=30)
        await register_certificate(demo.ledger, demo.school, PRINCIPAL, short.certificate, pki.roots())
        holder = (Actor(toan, Role.SUBJECT_TEACHER), short)
    elif case == "flipped":
        tamper = _flip_digest
    else:
        tamper = lambda data: data.replace(b'ThamChieu="#subject-TOAN"', b'ThamChieu="#subject-TOAN #decision"')  # noqa: E731
    expected = {
        "no_role": "signature.not_assigned",
        "unregistered": "certificate.unregistered",
        "revoked": "certificate.revoked",
        "expired": "certificate.expired",
        "flipped": "signature.integrity",
        "references": "signature.references",
    }[case]
    try:
        error = await helpers.refused(
            demo.ledger,
            demo.school,
            expected,
            lambda: sign_as(signers, student, "SUBJECT_TEACHER", "TOAN", holder=holder, tamper=tamper),
        )
    finally:
        if case == "revoked":
            pki._write_crl([])  # the session's PKI is shared
    assert error.vi and error.en
    async with demo.ledger.engine.connect() as conn:
        assert await current_signatures(conn, demo.school, YEAR, student) == []


def _flip_digest(data: bytes) -> bytes:
    start = data.index(b"<ds:DigestValue>") + len(b"<ds:DigestValue>")
    flipped = b"B" if data[start : start + 1] != b"B" else b"C"
    return data[:start] + flipped + data[start + 1 :]


async def test_a_revoked_certificate_in_the_ledger_refuses_later_signatures_dieu_9(signers: Signers) -> None:
    demo = signers.demo
    toan = demo.subject_teachers["TOAN"]
    cert = signers.people[toan].certificate
    await revoke_certificate(demo.ledger, demo.school, PRINCIPAL, cert_fingerprint(cert), "Mất thiết bị ký")
    await helpers.refused(
        demo.ledger,
        demo.school,
        "certificate.revoked",
        lambda: sign_as(signers, demo.rosters["9A1"][0], "SUBJECT_TEACHER", "TOAN"),
    )
    with pytest.raises(DomainError) as not_principal:
        await revoke_certificate(demo.ledger, demo.school, VICE_PRINCIPAL, cert_fingerprint(cert), "x")
    assert not_principal.value.code == "certificate.approval"
    stranger = Pki(signers.pki.directory.parent / "stranger")
    stranger.init_demo()
    foreign = stranger.issue_demo_personal(demo.school, toan, toan)
    with pytest.raises(DomainError) as untrusted:
        await register_certificate(demo.ledger, demo.school, PRINCIPAL, foreign.certificate, signers.pki.roots())
    assert untrusted.value.code == "certificate.untrusted"


async def test_a_correction_makes_the_signatures_over_it_stale_dieu_17_3(signers: Signers) -> None:
    demo = signers.demo
    async with demo.ledger.engine.connect() as conn:
        from ledger.school.transcripts.views import class_summary

        lists = (await class_summary(conn, demo.school, YEAR, "7A1")).to_json()["lists"]
    [student] = [s["student"] for s in lists["summer_training"]]  # still open until 30 August
    await sign_everything(signers, student)
    await sign_pdf_as(signers, student, "PRINCIPAL")
    target = assessment_target(YEAR, 2, "7A1", "TOAN", student, "midterm", None)
    async with demo.ledger.engine.connect() as conn:
        root, before = await xml_document(conn, demo.school, YEAR, student)
    old = root.find(f".//{hocba_xml.tag('MonHoc')}[@Ma='TOAN']")
    assert old is not None
    from ledger.log.projection import read
    from ledger.school.assessments.tables import assessments

    async with demo.ledger.engine.connect() as conn:
        [row] = await read(conn, assessments, demo.school, student_id=student, subject="TOAN", term=2, kind="midterm")
    new = "10" if row["value"] != "10.0" else "9"
    request = await file_request(
        demo.ledger, demo.school, demo.teacher("TOAN"), target, old_value=row["value"], new_value=new, reason="Nhầm"
    )
    await decide_request(demo.ledger, demo.school, PRINCIPAL, request.payload["request"], approve=True, reason="Đúng")
    async with demo.ledger.engine.connect() as conn:
        after = await current_signatures(conn, demo.school, YEAR, student)
        _, pdf_rows = await pdf_document(conn, demo.school, YEAR, student, signers.verification)
    assert pdf_rows == []  # the PDF shows the changed value: its signature is stale too
    toan = next(r for r in before if r["subject"] == "TOAN")
    assert {r["wrapper_id"] for r in after} == {r["wrapper_id"] for r in before if r["position"] < toan["position"]}
    with pytest.raises(DomainError) as order:
        await sign_as(signers, student, "HOMEROOM_TEACHER")
    assert order.value.code == "signature.order"
    # Toán, and every subject signed after it (each signature covers those before it), sign again.
    again = [r["subject"] for r in sorted(before, key=lambda r: r["position"]) if r["position"] >= toan["position"]]
    for subject in [code for code in again if code]:
        await sign_as(signers, student, "SUBJECT_TEACHER", subject)
    for role in ("HOMEROOM_TEACHER", "PRINCIPAL", "ORGANISATION"):
        await sign_as(signers, student, role)
    async with demo.ledger.engine.connect() as conn:
        root, _ = await xml_document(conn, demo.school, YEAR, student)
    report = await xml_verify.verify_xml(hocba_xml.to_bytes(root), signers.pki.roots(), [signers.pki.crl()])
    assert report.ok, report.to_json()


# --- the offline verifier ------------------------------------------------------------------------


@pytest.fixture
async def signed(signers: Signers) -> bytes:
    return await sign_everything(signers, signers.demo.rosters["9A1"][1])


async def _verify(s: Signers, data: bytes, crls: list[x509.CertificateRevocationList] | None = None) -> Any:
    return await xml_verify.verify_xml(data, s.pki.roots(), [s.pki.crl()] if crls is None else crls)


async def test_the_verifier_rejects_a_flipped_byte(signers: Signers, signed: bytes) -> None:
    position = signed.index(b"HoTen=") + len(b'HoTen="')
    flipped = signed[:position] + bytes([signed[position] ^ 0x01]) + signed[position + 1 :]
    report = await _verify(signers, flipped)
    assert not report.ok
    assert any(f.code == "signature.integrity" for s in report.signatures for f in s.findings)


async def test_the_verifier_rejects_signature_wrapping(signers: Signers, signed: bytes) -> None:
    """The signed subject part moved aside (inside a signature's Object) and a forged one in its place."""
    root = hocba_xml.parse(signed)
    original = root.find(f".//{hocba_xml.tag('MonHoc')}[@Ma='TOAN']")
    assert original is not None
    forged = etree.fromstring(etree.tostring(original))
    forged.find(hocba_xml.tag("CaNam")).text = "10.0"  # type: ignore[union-attr]
    parent = original.getparent()
    assert parent is not None
    parent.replace(original, forged)
    hidden = root.find(f".//{{{hocba_xml.DS}}}Object")
    assert hidden is not None
    hidden.append(original)
    report = await _verify(signers, hocba_xml.to_bytes(root))
    assert not report.ok
    codes = {f.code for f in report.findings} | {f.code for s in report.signatures for f in s.findings}
    assert codes & {"xml.duplicate_id", "signature.wrapping", "signature.integrity"}


async def test_the_verifier_reports_a_revoked_signer_and_an_unknown_revocation(signers: Signers, signed: bytes) -> None:
    toan = signers.demo.subject_teachers["TOAN"]
    crl = signers.pki.revoke(signers.people[toan].certificate, datetime(2026, 8, 1, tzinfo=VN_TZ))
    signers.pki._write_crl([])
    report = await _verify(signers, signed, [crl])
    revoked = [s for s in report.signatures if s.revoked]
    assert [s.staff_id for s in revoked] == [toan] and not report.ok
    assert revoked[0].findings[0].vi.startswith("Chứng thư số đã bị thu hồi")
    # each signature keeps the CRL it was accepted with (XAdES-LT): without it and without a CRL at
    # hand, nothing establishes the status
    bare = hocba_xml.parse(signed)
    for kept in list(bare.iter(f"{{{hocba_xml.XADES}}}RevocationValues")):
        kept.getparent().remove(kept)
    unknown = await _verify(signers, hocba_xml.to_bytes(bare), [])
    assert not unknown.ok and all(s.revoked is None for s in unknown.signatures)
    assert (await _verify(signers, signed, [])).ok  # with it, the signatures stand offline


async def test_the_verifier_rejects_a_signature_made_after_the_certificate_expired(signers: Signers) -> None:
    demo = signers.demo
    student = demo.rosters["6A1"][2]
    toan = demo.subject_teachers["TOAN"]
    short = signers.pki.issue_demo_personal(demo.school, toan, toan, valid_from=CERTS_FROM, days=30)
    prepared = await _whole(demo, student)
    data = xades.sign_prepared(prepared["document"], short.key, short.certificate, signing_time=SIGNING_DAY)
    [report] = (await _verify(signers, data)).signatures
    assert report.intact and report.chain_trusted and not report.valid_at_signing and not report.ok


async def test_the_verifier_rejects_a_signer_without_the_role(signers: Signers) -> None:
    """A subject teacher's signature over the principal's decision, and a teacher signing as the
    organisation: the parts and the certificate do not fit the role."""
    demo = signers.demo
    student = demo.rosters["6A1"][3]
    toan = signers.people[demo.subject_teachers["TOAN"]]
    prepared = await _whole(demo, student)
    grab = prepared["document"].replace(b'ThamChieu="#subject-TOAN"', b'ThamChieu="#decision"')
    [report] = (
        await _verify(signers, xades.sign_prepared(grab, toan.key, toan.certificate, signing_time=SIGNING_DAY))
    ).signatures
    assert report.intact and not report.ok and [f.code for f in report.findings] == ["signature.role"]
    [report] = (await _verify(signers, _as_organisation(prepared["document"], toan))).signatures
    assert report.intact and not report.ok and "signature.holder" in [f.code for f in report.findings]


async def _whole(demo: Any, student: str) -> dict[str, bytes]:
    """The whole học bạ with room for the Toán teacher's signature, as the verifier reads a document:
    every part (the Toán teacher is given their subject alone to sign, and the service puts the
    signature back into the whole document)."""
    async with demo.ledger.engine.connect() as conn:
        documents = await load_documents(conn, demo.school, YEAR, [student])
    root, _ = documents.xml(student)
    hocba_xml.add_placeholder(root, "ck-toan", "SUBJECT_TEACHER", ["#subject-TOAN"])
    return {"document": hocba_xml.to_bytes(root)}


def _as_organisation(prepared: bytes, teacher: DocumentSigner) -> bytes:
    root = hocba_xml.parse(prepared)
    banhanh = etree.Element(
        hocba_xml.tag("BanHanh"),
        Id="issuance",
        MaHocBa=root.get("MaHocBa", ""),
        Ngay="2026-08-12",
        Truong="Trường THCS Khánh Phú",
    )
    root.find(hocba_xml.tag("NamHoc")).addnext(banhanh)  # type: ignore[union-attr]
    wrapper = hocba_xml.wrappers(root)[-1]
    wrapper.set("VaiTro", "ORGANISATION")
    wrapper.set("ThamChieu", "#issuance")
    return xades.sign_prepared(hocba_xml.to_bytes(root), teacher.key, teacher.certificate, signing_time=SIGNING_DAY)


async def test_signing_time_in_signature_properties_is_accepted(signers: Signers) -> None:
    """Vietnamese practice: SigningTime in Object/SignatureProperties/SignatureProperty, covered by a
    Reference, instead of the XAdES signed properties."""
    demo = signers.demo
    student = demo.rosters["6A1"][1]
    teacher = signers.people[demo.subject_teachers["TOAN"]]
    prepared = await _whole(demo, student)
    data = _sign_with_signature_properties(prepared["document"], teacher)
    [report] = (await _verify(signers, data)).signatures
    assert report.signing_time == "2026-08-12T09:00:00+07:00"
    assert report.intact and report.valid_at_signing


def _sign_with_signature_properties(prepared: bytes, holder: DocumentSigner) -> bytes:
    from signxml import XMLSigner
    from signxml.algorithms import SignatureMethod

    ds = hocba_xml.DS

    def annotate(sig_root: Any, signing_settings: Any) -> None:
        obj = etree.SubElement(sig_root, f"{{{ds}}}Object")
        props = etree.SubElement(obj, f"{{{ds}}}SignatureProperties", Id="vn-props")
        prop = etree.SubElement(props, f"{{{ds}}}SignatureProperty", Target="#x")
        etree.SubElement(prop, "SigningTime").text = "2026-08-12T09:00:00+07:00"
        signed_info = sig_root.find(f"{{{ds}}}SignedInfo")
        reference = etree.SubElement(signed_info, f"{{{ds}}}Reference", URI="#vn-props")
        etree.SubElement(reference, f"{{{ds}}}DigestMethod", Algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
        import hashlib

        digest = hashlib.sha256(etree.tostring(props, method="c14n")).digest()
        etree.SubElement(reference, f"{{{ds}}}DigestValue").text = base64.b64encode(digest).decode()

    signer = XMLSigner(signature_algorithm=SignatureMethod.ECDSA_SHA256)
    signer.signature_annotators.append(annotate)
    root = hocba_xml.parse(prepared)
    wrapper = hocba_xml.wrappers(root)[-1]
    out = signer.sign(root, key=holder.key, cert=[holder.certificate], reference_uri=wrapper.get("ThamChieu").split())
    return hocba_xml.to_bytes(out)


async def test_the_reference_signer_and_the_command_line(
    app_engine: AsyncEngine, school: str, env: dict[str, str], tmp_path: Path, pki: Pki
) -> None:
    """`hocba pki issue-demo` → `pki register` → `signing prepare` → `hocba sign` (PKCS#12) →
    `signing submit` → `verify-file`, on the system clock."""
    demo = await build_demo_school(app_engine, school, students_per_class=1, summer=False)
    toan, student = demo.subject_teachers["TOAN"], demo.rosters["6A1"][0]
    where = ("--school", school)
    issued = helpers.hocba("pki", "issue-demo", *where, "--holder", toan, "--name", "Nguyễn Thị Lan", env=env)
    assert issued.returncode == 0, issued.stderr
    p12 = pki.directory / "holders" / school / f"{toan}.p12"
    principal = await helpers.signed_in(app_engine, env, school, PRINCIPAL.user)
    registered = helpers.hocba("pki", "register", *where, "--actor", PRINCIPAL.user, "--cert", str(p12), env=principal)
    assert (registered.returncode, registered.stdout.strip()) == (0, "appended=1"), registered.stderr
    prepared, signed = tmp_path / "prepared.xml", tmp_path / "signed.xml"
    step = helpers.hocba(
        "signing",
        "prepare",
        *where,
        "--year",
        YEAR,
        "--student",
        student,
        "--role",
        "SUBJECT_TEACHER",
        "--subject",
        "TOAN",
        "-o",
        str(prepared),
        env=await helpers.signed_in(app_engine, env, school, toan),
    )
    assert step.returncode == 0, step.stderr
    step = helpers.hocba("sign", str(prepared), "--p12", str(p12), "-o", str(signed), env=env)
    assert step.returncode == 0 and "Nguyễn Thị Lan" in step.stdout, step.stderr
    wrong = helpers.hocba(
        "signing",
        "submit",
        *where,
        "--actor",
        demo.subject_teachers["NGU_VAN"],
        "--year",
        YEAR,
        "--student",
        student,
        "--role",
        "SUBJECT_TEACHER",
        str(signed),
        env=await helpers.signed_in(app_engine, env, school, demo.subject_teachers["NGU_VAN"]),
    )
    assert wrong.returncode == 2 and "does not hold SUBJECT_TEACHER" in wrong.stderr
    step = helpers.hocba(
        "signing",
        "submit",
        *where,
        "--actor",
        toan,
        "--year",
        YEAR,
        "--student",
        student,
        "--role",
        "SUBJECT_TEACHER",
        str(signed),
        env=await helpers.signed_in(app_engine, env, school, toan),
    )
    assert (step.returncode, step.stdout.strip()) == (0, "appended=1"), step.stderr
    # the teacher was given their subject alone; the service put the signature back in the whole học bạ
    async with demo.ledger.engine.connect() as conn:
        whole, _ = await xml_document(conn, school, YEAR, student)
    stored = tmp_path / "hoc-ba-da-ky.xml"
    stored.write_bytes(hocba_xml.to_bytes(whole))
    checked = helpers.hocba(
        "verify-file", str(stored), "--trust", str(pki.root_path), "--crl", str(pki.crl_path), "--json", env=env
    )
    report = json.loads(checked.stdout)
    assert checked.returncode == 1  # one subject signed of many: the document is not complete
    [signature] = report["signatures"]
    assert signature["ok"] and signature["staff_id"] == toan and signature["parts"] == ["subject-TOAN"]
    assert any(f["code"] == "part.unsigned" for f in report["findings"])


# --- the PDF học bạ ------------------------------------------------------------------------------


async def test_the_pdf_is_signed_by_the_principal_then_sealed_dieu_13(signers: Signers, tmp_path: Path) -> None:
    from signing.pdf.verify import verify_pdf

    demo = signers.demo
    student = demo.rosters["8A1"][2]
    await helpers.refused(
        demo.ledger, demo.school, "signature.order", lambda: sign_pdf_as(signers, student, "PRINCIPAL")
    )  # the XML is signed first
    await sign_everything(signers, student)
    await helpers.refused(  # the seal comes after the principal's signature
        demo.ledger,
        demo.school,
        "signature.role",
        lambda: sign_pdf_as(signers, student, "ORGANISATION", signers.people["organisation"]),
    )
    await sign_pdf_as(signers, student, "PRINCIPAL")
    await sign_pdf_as(signers, student, "ORGANISATION")
    async with demo.ledger.engine.connect() as conn:
        data, rows = await pdf_document(conn, demo.school, YEAR, student, signers.verification)
    assert [r["role"] for r in rows] == ["PRINCIPAL", "ORGANISATION"]
    report = await verify_pdf(data, signers.pki.roots(), [signers.pki.crl()])
    assert report.ok, report.to_json()
    assert [s.role for s in report.signatures] == ["PRINCIPAL", "ORGANISATION"]
    assert all(s.timestamp and s.timestamp_valid for s in report.signatures)
    path = tmp_path / "hocba.pdf"
    path.write_bytes(data)
    verdicts = helpers.pdfsig(path, helpers.nss_database(tmp_path / "nss", signers.pki))
    assert [v["signature"] for v in verdicts] == ["Signature is Valid."] * 2
    assert verdicts[0]["certificate"] == "Certificate is Trusted."
