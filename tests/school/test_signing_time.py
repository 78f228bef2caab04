"""The time of a signature is the school's time-stamping authority's word, not the signer's (the
regulation's Điều 12, 15, 27): every XML signature accepted on submit carries an RFC 3161 timestamp
over its value, and the assignment, the certificate and its revocation are judged at that time. A
claimed SigningTime far from it is refused, and nothing is recorded."""

from __future__ import annotations

import base64
from datetime import timedelta

from ledger.app.demo import PRINCIPAL
from ledger.log.projection import read
from ledger.school.signatures.certificates import fingerprint as cert_fingerprint
from ledger.school.signatures.certificates import revoke_certificate
from ledger.school.signatures.queries import current_signatures
from ledger.school.years.commands import end_assignment
from ledger.school.years.tables import assignments
from signing.x509.timestamps import check_timestamp
from signing.xml import document as hocba_xml
from tests.support import helpers
from tests.support.signers import YEAR, Signers, sign_as


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
