"""The time of a signature is the school's time-stamping authority's word, not the signer's (the
regulation's Điều 12, 15, 27): every XML signature accepted on submit carries an RFC 3161 timestamp
over its value, and the assignment, the certificate and its revocation are judged at that time. A
claimed SigningTime far from it is refused, and nothing is recorded."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from ledger.app.demo import PRINCIPAL
from ledger.log.projection import read
from ledger.school.signatures.certificates import fingerprint as cert_fingerprint
from ledger.school.signatures.certificates import revoke_certificate
from ledger.school.signatures.commands import prepare_signature
from ledger.school.signatures.queries import current_signatures, load_documents, xml_document
from ledger.school.years.commands import end_assignment
from ledger.school.years.tables import assignments
from signing.x509.timestamps import check_timestamp
from signing.xml import document as hocba_xml
from signing.xml import timestamp as xades_t
from signing.xml import verify as xml_verify
from tests.support import helpers
from tests.support.signers import SIGNING_DAY, YEAR, Signers, sign_as, sign_everything


async def test_an_accepted_signature_keeps_a_trusted_timestamp_over_its_value_dieu_15(signers: Signers) -> None:
    demo = signers.demo
    student = demo.rosters["6A1"][0]
    event = await sign_as(signers, student, "SUBJECT_TEACHER", "TOAN")
    token = base64.b64decode(event.payload["time_stamp"])
    wrapper = hocba_xml.parse(base64.b64decode(event.payload["element"]))
    value = hocba_xml.canonical(wrapper.find(f".//{{{hocba_xml.DS}}}SignatureValue"))
    check = await check_timestamp(token, value, signers.pki.roots())
    assert check.ok and check.time is not None
    assert abs(check.time - demo.clock.now()) < timedelta(seconds=5)
    assert event.payload["trusted_time"] == check.time.astimezone(demo.clock.now().tzinfo).isoformat()


async def test_a_departed_teacher_cannot_sign_back_dated_dieu_18_27(signers: Signers) -> None:
    """The Toán teacher's assignment in 7A1 ended yesterday; they sign today, claiming a time two days
    back, when they still held it: refused, nothing recorded."""
    demo = signers.demo
    student = demo.rosters["7A1"][0]
    toan = demo.subject_teachers["TOAN"]
    async with demo.ledger.engine.connect() as conn:
        held = [
            r
            for r in await read(conn, assignments, demo.school, staff_id=toan)
            if r["class_id"] == "7A1" and r["subject"] == "TOAN"
        ]
    yesterday = demo.clock.now().date() - timedelta(days=1)
    for row in held:
        await end_assignment(
            demo.ledger, demo.school, PRINCIPAL, row["assignment_id"], yesterday, "Quyết định 15/QĐ-THCS"
        )
    two_days_back = demo.clock.now() - timedelta(days=2)
    error = await helpers.refused(
        demo.ledger,
        demo.school,
        "signature.time_claimed",
        lambda: sign_as(signers, student, "SUBJECT_TEACHER", "TOAN", at=two_days_back),
    )
    assert "dấu thời gian tin cậy" in error.vi and error.rule == "Điều 12, 15"
    # Signed honestly, today, it is refused for what it is: the assignment has ended.
    await helpers.refused(
        demo.ledger, demo.school, "signature.not_assigned", lambda: sign_as(signers, student, "SUBJECT_TEACHER", "TOAN")
    )
    async with demo.ledger.engine.connect() as conn:
        assert await current_signatures(conn, demo.school, YEAR, student) == []


async def test_a_revoked_certificate_cannot_claim_an_earlier_time_dieu_9_13(signers: Signers) -> None:
    """The certificate is revoked in the ledger today; a signature made with it claims to be from
    yesterday, before the revocation: refused."""
    demo = signers.demo
    toan = demo.subject_teachers["TOAN"]
    cert = signers.people[toan].certificate
    await revoke_certificate(demo.ledger, demo.school, PRINCIPAL, cert_fingerprint(cert), "Mất thiết bị ký")
    demo.clock.set(demo.clock.now() + timedelta(hours=1))
    yesterday = demo.clock.now() - timedelta(days=1)
    student = demo.rosters["8A1"][1]
    await helpers.refused(
        demo.ledger,
        demo.school,
        "signature.time_claimed",
        lambda: sign_as(signers, student, "SUBJECT_TEACHER", "TOAN", at=yesterday),
    )
    await helpers.refused(
        demo.ledger, demo.school, "certificate.revoked", lambda: sign_as(signers, student, "SUBJECT_TEACHER", "TOAN")
    )


async def test_the_document_carries_each_signature_s_timestamp_as_xades_t_dieu_12_15(signers: Signers) -> None:
    """The timestamp is embedded in the signature itself (XAdES-T, unsigned properties): the stored
    document and every later signer's copy carry it, the later enveloped signatures still verify
    over it, and the verifier reports each signature's trusted signing time from it."""
    demo = signers.demo
    student = demo.rosters["6A1"][1]
    first = await sign_as(signers, student, "SUBJECT_TEACHER", "TOAN")
    stored = hocba_xml.parse(base64.b64decode(first.payload["element"]))
    token = xades_t.embedded(stored.find(f"{{{hocba_xml.DS}}}Signature"))
    assert token == base64.b64decode(first.payload["time_stamp"])
    async with demo.ledger.engine.connect() as conn:
        prepared = await prepare_signature(conn, demo.school, YEAR, student, "SUBJECT_TEACHER", "NGU_VAN", SIGNING_DAY)
        documents = await load_documents(conn, demo.school, YEAR, [student])
    whole = hocba_xml.to_bytes(documents.xml(student)[0])
    assert b"EncapsulatedTimeStamp" in whole  # what the later signers sign next to
    # the next subject teacher is given their subject alone (not the Toán result, nor its signature)
    assert b"subject-TOAN" not in prepared["document"] and b"subject-NGU_VAN" in prepared["document"]
    data = await sign_everything(signers, student)
    report = await xml_verify.verify_xml(data, signers.pki.roots(), [signers.pki.crl()])
    assert report.ok, report.to_json()
    assert {s.profile for s in report.signatures} == {"XAdES-LT"}  # the timestamp, and the validation data
    assert all(s.timestamp_valid and s.timestamp for s in report.signatures)
    assert report.signatures[0].to_json()["trusted_time_vi"].startswith("Thời điểm ký tin cậy: 12/08/2026 09:00")
    root = hocba_xml.parse(data)
    stamps = root.findall(f".//{{{hocba_xml.XADES}}}SignatureTimeStamp")
    assert len(stamps) == len(report.signatures)
    assert all(s.find(f"{{{hocba_xml.DS}}}CanonicalizationMethod") is not None for s in stamps)


async def test_a_timestamp_of_another_signature_leaves_it_not_intact_dieu_15(signers: Signers) -> None:
    """The timestamps of two signatures swapped: each no longer matches its signature's value."""
    demo = signers.demo
    student = demo.rosters["6A1"][2]
    await sign_as(signers, student, "SUBJECT_TEACHER", "TOAN")
    await sign_as(signers, student, "SUBJECT_TEACHER", "NGU_VAN")
    async with demo.ledger.engine.connect() as conn:
        root, _ = await xml_document(conn, demo.school, YEAR, student)
    encapsulated = root.findall(f".//{{{hocba_xml.XADES}}}EncapsulatedTimeStamp")
    encapsulated[0].text, encapsulated[1].text = encapsulated[1].text, encapsulated[0].text
    report = await xml_verify.verify_xml(hocba_xml.to_bytes(root), signers.pki.roots(), [signers.pki.crl()])
    assert not report.ok
    for signature in report.signatures:
        assert not signature.intact and signature.timestamp_valid is False
        assert "signature.timestamp" in [f.code for f in signature.findings]


async def test_a_hoc_ba_issued_before_xades_t_still_verifies_without_trusted_time_dieu_15(
    signers: Signers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signed and issued as before XAdES-T (no timestamp in the document, so neither validation data
    nor an archive timestamp): it verifies, reported as XAdES-B without a trusted signing time."""
    from signing.xml import archive, longterm
    from tests.support.signers import signed_and_issued

    monkeypatch.setattr(xades_t, "embed", lambda signature, token: None)
    monkeypatch.setattr(longterm, "embed", lambda signature, certificates, revocation: None)
    monkeypatch.setattr(archive, "add", lambda root, token: None)
    done = await signed_and_issued(signers, signers.demo.rosters["6A1"][3])
    assert b"SignatureTimeStamp" not in done.xml
    monkeypatch.undo()
    report = await xml_verify.verify_xml(done.xml, signers.pki.roots(), [signers.pki.crl()])
    assert report.ok, report.to_json()
    assert {s.profile for s in report.signatures} == {"XAdES-B"}
    assert all(s.timestamp is None and s.timestamp_valid is None for s in report.signatures)
    assert report.signatures[0].to_json()["trusted_time_vi"].startswith("Không có thời điểm ký tin cậy")
