"""Signing in a departed teacher's place (the regulation's Điều 18.5, 18.7; DOMAIN §7): when the
subject or homeroom teacher who should sign has left (their assignment ended), the teacher holding
that class at year end, or the principal, signs their part, citing the decision. The event names whose
part it was (`actor.on_behalf_of`) and the decision; the signed document says it in a signed property,
the verifier report and the PDF say it by name. Anyone else, or a substitution for a teacher still in
post, is refused and nothing is recorded."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from ledger.app.demo import ADMIN, APPOINTMENT, PRINCIPAL, STAFF_NAMES
from ledger.format.envelope import Actor
from ledger.log.projection import read
from ledger.school.rules.roles import Role
from ledger.school.signatures.commands import prepare_signature, submit_signature
from ledger.school.signatures.queries import current_signatures, pdf_document, xml_document
from ledger.school.signatures.substitutes import Substitution
from ledger.school.years.commands import end_assignment, make_assignments
from ledger.school.years.model import Assignment
from ledger.school.years.tables import assignments, staff
from signing.xml import document as hocba_xml
from signing.xml import verify as xml_verify
from signing.xml import xades
from tests.support import helpers
from tests.support.signers import YEAR, Signers, sign_as, sign_everything

DECISION = "Quyết định số 21/QĐ-THCS ngày 02/6/2026 về việc ký xác thực thay giáo viên nghỉ việc"


async def leave(s: Signers, staff_id: str, class_id: str, role: str, subject: str | None = None) -> None:
    """The teacher's assignment in the class (and subject) ends yesterday: they have left."""
    demo = s.demo
    async with demo.ledger.engine.connect() as conn:
        rows = await read(conn, assignments, demo.school, staff_id=staff_id, role=role, class_id=class_id)
    yesterday = demo.clock.now().date() - timedelta(days=1)
    for row in rows:
        if subject is None or row["subject"] == subject:
            await end_assignment(demo.ledger, demo.school, PRINCIPAL, row["assignment_id"], yesterday, DECISION)


async def name_of(s: Signers, staff_id: str) -> str:
    async with s.demo.ledger.engine.connect() as conn:
        [row] = await read(conn, staff, s.demo.school, staff_id=staff_id)
    return str(row["full_name"])


async def sign_in_place(
    s: Signers, student: str, role: str, subject: str | None, by: Actor, departed: str, decision: str = DECISION
) -> Any:
    """Prepare, sign with `by`'s own certificate, submit: in `departed`'s place."""
    demo = s.demo
    in_place = Substitution(departed, decision)
    async with demo.ledger.engine.connect() as conn:
        prepared = await prepare_signature(
            conn,
            demo.school,
            YEAR,
            student,
            role,
            subject,
            demo.clock.now(),
            substitution=in_place,
            signer=str(by.user),
        )
    keys = s.people[str(by.user)]
    signed = xades.sign_prepared(prepared["document"], keys.key, keys.certificate, signing_time=demo.clock.now())
    from ledger.app.runtime import demo_time_stamper, stamp_with

    stamp = stamp_with(demo_time_stamper(s.pki, demo.clock))
    return await submit_signature(
        demo.ledger, demo.school, by, YEAR, student, signed, s.pki.roots(), [s.pki.crl()], stamp, in_place
    )


async def test_the_principal_signs_for_a_departed_subject_teacher_dieu_18_7(
    signers: Signers, tmp_path: Path, env: dict[str, str]
) -> None:
    """The Toán teacher of 7A1 has left; the principal signs Toán for them, citing the decision. The
    event, the signed document, the verifier's report and the PDF all say it, by name."""
    demo = signers.demo
    student = demo.rosters["7A1"][0]
    toan = demo.subject_teachers["TOAN"]
    await leave(signers, toan, "7A1", "SUBJECT_TEACHER", "TOAN")
    event = await sign_in_place(signers, student, "SUBJECT_TEACHER", "TOAN", PRINCIPAL, toan)
    assert (event.actor.user, event.actor.role, event.actor.on_behalf_of) == (PRINCIPAL.user, "SUBJECT_TEACHER", toan)
    assert (event.payload["on_behalf_of"], event.payload["decision"], event.payload["signer"]) == (
        toan,
        DECISION,
        PRINCIPAL.user,
    )
    principal_name, toan_name = STAFF_NAMES[PRINCIPAL.user], await name_of(signers, toan)
    expected = f"Ký thay: {principal_name} thay mặt {toan_name}, theo {DECISION}"
    data = await sign_everything(signers, student)
    report = await xml_verify.verify_xml(data, signers.pki.roots(), [signers.pki.crl()])
    assert report.ok, report.to_json()
    [in_place] = [s for s in report.signatures if s.on_behalf_of]
    assert in_place.parts == ["subject-TOAN"] and in_place.staff_id == PRINCIPAL.user
    assert in_place.substitution_vi == expected and in_place.to_json()["substitution_vi"] == expected
    assert expected in in_place.notes_vi()
    signed = tmp_path / "hocba.xml"
    signed.write_bytes(data)
    trust = ("--trust", str(signers.pki.root_path), "--crl", str(signers.pki.crl_path))
    said = helpers.hocba("verify-file", str(signed), *trust, env=env)
    assert said.returncode == 0 and expected in said.stdout
    assert all(helpers.xmlsec1_verifies(signed, signers.pki.root_path))  # an independent verifier agrees
    # the statement is signed: altering it in the signed properties breaks the signature
    altered = data.replace(DECISION.encode(), b"Quyet dinh khac", 1)
    assert not (await xml_verify.verify_xml(altered, signers.pki.roots(), [signers.pki.crl()])).ok
    # the PDF shows it at the subject's line, by name
    async with demo.ledger.engine.connect() as conn:
        pdf, _ = await pdf_document(conn, demo.school, YEAR, student, signers.verification)
    path = tmp_path / "hocba.pdf"
    path.write_bytes(pdf)
    text = " ".join(helpers.run(helpers.tool("pdftotext"), str(path), "-").split())
    assert f"Môn Toán: Ký thay: {principal_name} thay mặt {toan_name}" in text
    assert toan not in text and PRINCIPAL.user not in text


async def test_the_homeroom_teacher_at_year_end_signs_for_the_one_who_left_dieu_18_5(signers: Signers) -> None:
    """The homeroom teacher of 8A1 moved school; the teacher given the class for the rest of the year
    signs the homeroom part in their place."""
    demo = signers.demo
    student = demo.rosters["8A1"][0]
    departed = demo.homeroom["8A1"]
    successor = next(t for t in demo.subject_teachers.values() if t != departed)
    for subject in [e.get("Ma") for e in await _subjects(signers, student)]:
        await sign_as(signers, student, "SUBJECT_TEACHER", subject)
    await leave(signers, departed, "8A1", "HOMEROOM_TEACHER")
    today = demo.clock.now().date()
    await make_assignments(
        demo.ledger,
        demo.school,
        PRINCIPAL,
        [Assignment(successor, Role.HOMEROOM_TEACHER, today, None, YEAR, "8A1")],
    )
    by = Actor(successor, Role.HOMEROOM_TEACHER)
    event = await sign_in_place(signers, student, "HOMEROOM_TEACHER", None, by, departed)
    assert event.actor.on_behalf_of == departed and event.payload["decision"] == DECISION
    async with demo.ledger.engine.connect() as conn:
        root, _ = await xml_document(conn, demo.school, YEAR, student)
    report = await xml_verify.verify_xml(hocba_xml.to_bytes(root), signers.pki.roots(), [signers.pki.crl()])
    [in_place] = [s for s in report.signatures if s.on_behalf_of]
    assert in_place.ok and in_place.role == "HOMEROOM_TEACHER"
    names = await name_of(signers, successor), await name_of(signers, departed)
    assert in_place.substitution_vi == f"Ký thay: {names[0]} thay mặt {names[1]}, theo {DECISION}"


async def _subjects(s: Signers, student: str) -> list[Any]:
    async with s.demo.ledger.engine.connect() as conn:
        root, _ = await xml_document(conn, s.demo.school, YEAR, student)
    return list(root.iter(hocba_xml.tag("MonHoc")))


async def test_a_substitute_for_a_teacher_still_assigned_is_refused_dieu_18_5_18_7(signers: Signers) -> None:
    """The Toán teacher of 6A1 is still in post: they sign themselves; the principal's signature in
    their place is refused, nothing recorded."""
    demo = signers.demo
    student = demo.rosters["6A1"][0]
    toan = demo.subject_teachers["TOAN"]
    error = await helpers.refused(
        demo.ledger,
        demo.school,
        "signature.substitute_still_assigned",
        lambda: _submit_in_place(signers, student, "TOAN", PRINCIPAL, toan),
    )
    assert error.rule == "Điều 18.5, 18.7" and "vẫn đang được phân công" in error.vi
    async with demo.ledger.engine.connect() as conn:
        assert await current_signatures(conn, demo.school, YEAR, student) == []


async def test_no_one_signs_for_a_teacher_who_never_held_the_part_dieu_18_5_18_7(signers: Signers) -> None:
    """The literature teacher never taught Toán in 6A1: there is nothing to sign in their place."""
    demo = signers.demo
    student = demo.rosters["6A1"][1]
    ngu_van = demo.subject_teachers["NGU_VAN"]
    await leave(signers, ngu_van, "6A1", "SUBJECT_TEACHER", "NGU_VAN")
    error = await helpers.refused(
        demo.ledger,
        demo.school,
        "signature.substitute_not_held",
        lambda: _submit_in_place(signers, student, "TOAN", PRINCIPAL, ngu_van),
    )
    assert error.rule == "Điều 18.5, 18.7"


async def test_a_teacher_not_in_charge_cannot_sign_for_a_departed_one_dieu_18_5_18_7(signers: Signers) -> None:
    """The Toán teacher of 9A1 left; the literature teacher, neither principal nor given Toán of 9A1,
    may not sign it in their place; nor may the departed teacher's signature be claimed for a
    decision other than the one prepared."""
    demo = signers.demo
    student = demo.rosters["9A1"][0]
    toan, ngu_van = demo.subject_teachers["TOAN"], demo.subject_teachers["NGU_VAN"]
    await leave(signers, toan, "9A1", "SUBJECT_TEACHER", "TOAN")
    teacher = Actor(ngu_van, Role.SUBJECT_TEACHER)
    await helpers.refused(
        demo.ledger,
        demo.school,
        "signature.substitute_not_entitled",
        lambda: _submit_in_place(signers, student, "TOAN", teacher, toan),
    )
    # a principal's grant the admin recorded waits for the principal in force: it entitles no one
    appointment = replace(APPOINTMENT, number="99/QĐ-GIẢ")
    waiting = Assignment(ngu_van, Role.PRINCIPAL, demo.clock.now().date(), decision=appointment)
    await make_assignments(demo.ledger, demo.school, ADMIN, [waiting])
    await helpers.refused(
        demo.ledger,
        demo.school,
        "signature.substitute_not_entitled",
        lambda: _submit_in_place(signers, student, "TOAN", Actor(ngu_van, Role.PRINCIPAL), toan),
    )
    await helpers.refused(
        demo.ledger,
        demo.school,
        "signature.substitute",
        lambda: _submit_in_place(signers, student, "TOAN", PRINCIPAL, toan, submitted_decision="Quyết định khác"),
    )
    # without naming whose part it is, the principal does not hold Toán of 9A1
    await helpers.refused(
        demo.ledger,
        demo.school,
        "signature.not_assigned",
        lambda: sign_as(
            signers, student, "SUBJECT_TEACHER", "TOAN", holder=(PRINCIPAL, signers.people[PRINCIPAL.user])
        ),
    )
    async with demo.ledger.engine.connect() as conn:
        assert await current_signatures(conn, demo.school, YEAR, student) == []


async def _submit_in_place(
    s: Signers, student: str, subject: str, by: Actor, departed: str, *, submitted_decision: str | None = None
) -> Any:
    """A signature in `departed`'s place over a document prepared without the service's check (as a
    forged or stale preparation would be): the placeholder names the substitution itself."""
    demo = s.demo
    async with demo.ledger.engine.connect() as conn:
        prepared = await prepare_signature(
            conn, demo.school, YEAR, student, "SUBJECT_TEACHER", subject, demo.clock.now()
        )
    root = hocba_xml.parse(prepared["document"])
    wrapper = hocba_xml.wrappers(root)[-1]
    named = {
        "NguoiKy": str(by.user),
        "NguoiKyHoTen": await name_of(s, str(by.user)),
        "ThayMat": departed,
        "ThayMatHoTen": await name_of(s, departed),
        "QuyetDinh": DECISION,
    }
    for key, value in named.items():
        wrapper.set(key, value)
    keys = s.people[str(by.user)]
    signed = xades.sign_prepared(hocba_xml.to_bytes(root), keys.key, keys.certificate, signing_time=demo.clock.now())
    from ledger.app.runtime import demo_time_stamper, stamp_with

    stamp = stamp_with(demo_time_stamper(s.pki, demo.clock))
    in_place = Substitution(departed, submitted_decision or DECISION)
    return await submit_signature(
        demo.ledger, demo.school, by, YEAR, student, signed, s.pki.roots(), [s.pki.crl()], stamp, in_place
    )
