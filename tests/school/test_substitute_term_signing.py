"""The class's term record signed in the place of a homeroom teacher who left (Điều 18.4 with 18.5,
18.7): the principal signs it citing the decision, the same way a học bạ part is signed for a
departed teacher; the event names whose part it was and the decision, the signed document says it in
a signed property. A substitute for a teacher still in post, a signature that hides the substitution,
or the principal signing the record as if it were their own, is refused and nothing is recorded. And
a substitute for a subject teacher is given the subject alone to sign, as the teacher would be
(Điều 5.3c, 18.7)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.app.demo import PRINCIPAL
from ledger.base.settings import Settings
from ledger.log.projection import read
from ledger.school.assessments.commands import record_conduct
from ledger.school.class_sheets.commands import prepare_term, submit_term
from ledger.school.class_sheets.terms import term_status
from ledger.school.signatures.commands import prepare_signature
from ledger.school.signatures.substitutes import Substitution
from ledger.school.years.commands import end_assignment
from ledger.school.years.tables import assignments
from signing.x509.pki import Pki
from signing.xml import document as hocba_xml
from signing.xml import verify as xml_verify
from signing.xml import xades
from tests.support import helpers
from tests.support.helpers import head, refused
from tests.support.signers import YEAR, Signers
from tests.support.web import TermSchool, lock_entry, school_in_term, signed_sheets

pytestmark = pytest.mark.slow

DECISION = "Quyết định số 34/QĐ-THCS ngày 20/01/2026 về việc ký thay giáo viên chủ nhiệm lớp 6A1 chuyển công tác"


async def _ready_term(term: TermSchool) -> None:
    """Term I of 6A1 complete: every sheet signed by its teacher, every pupil's conduct, entry locked."""
    demo = term.demo
    await signed_sheets(demo, term.runtime.pki, lambda staff: term.runtime.demo_signer(term.school, staff))
    conduct = [(pupil, "Tốt") for pupil in demo.rosters["6A1"]]
    homeroom = demo.homeroom_teacher("6A1")
    await record_conduct(demo.ledger, term.school, homeroom, year=demo.year, term=1, class_id="6A1", entries=conduct)
    await lock_entry(demo, subject=None)


def _signed_by_principal(term: TermSchool, prepared: bytes) -> bytes:
    keys = term.runtime.demo_signer(term.school, PRINCIPAL.user)
    return xades.sign_prepared(prepared, keys.key, keys.certificate, signing_time=term.demo.clock.now())


async def test_the_principal_signs_the_term_record_for_the_homeroom_teacher_who_left_dieu_18_4_18_5_18_7(
    app_engine: AsyncEngine, settings: Settings, pki: Pki
) -> None:
    term = await school_in_term(app_engine, settings, pki)
    demo, school = term.demo, term.school
    await _ready_term(term)
    runtime, now = term.runtime, demo.clock.now()
    roots, crls = runtime.trusted_roots(), runtime.crls()
    in_place = Substitution(term.homeroom, DECISION)

    async def prepared(substitution: Substitution | None) -> bytes:
        async with demo.ledger.engine.connect() as conn:
            return await prepare_term(
                conn, school, demo.year, "6A1", 1, demo.clock.now(), substitution=substitution, signer=PRINCIPAL.user
            )

    # Điều 18.5, 18.7: the homeroom teacher still holds the class: they sign themselves
    still = await refused(demo.ledger, school, "signature.substitute_still_assigned", lambda: prepared(in_place))
    assert "Điều 18.5, 18.7" in (still.rule or "")

    async with demo.ledger.engine.connect() as conn:
        [row] = await read(conn, assignments, school, staff_id=term.homeroom, role="HOMEROOM_TEACHER", class_id="6A1")
    yesterday = now.date() - timedelta(days=1)
    await end_assignment(demo.ledger, school, PRINCIPAL, row["assignment_id"], yesterday, DECISION)

    document = await prepared(in_place)
    [placeholder] = hocba_xml.wrappers(hocba_xml.parse(document))
    assert (placeholder.get("ThayMat"), placeholder.get("NguoiKy"), placeholder.get("QuyetDinh")) == (
        term.homeroom,
        PRINCIPAL.user,
        DECISION,
    )
    signed = _signed_by_principal(term, document)

    # the principal's signature, sent as their own (no substitution named): the principal is not the
    # class's homeroom teacher, and the signed KyThay does not match the request
    def as_own() -> object:
        return submit_term(demo.ledger, school, PRINCIPAL, demo.year, "6A1", 1, signed, roots, crls)

    await refused(demo.ledger, school, "signature.substitute", as_own)
    # the record prepared and signed as the principal's own: they are not the class's homeroom teacher
    own = _signed_by_principal(term, await prepared(None))

    def not_theirs() -> object:
        return submit_term(demo.ledger, school, PRINCIPAL, demo.year, "6A1", 1, own, roots, crls)

    assert (await refused(demo.ledger, school, "signature.not_assigned", not_theirs)).rule == "Điều 18.4"

    # that signature, which does not say it is made in the teacher's place, sent as a substitution
    def hidden() -> object:
        return submit_term(demo.ledger, school, PRINCIPAL, demo.year, "6A1", 1, own, roots, crls, in_place)

    await refused(demo.ledger, school, "signature.substitute", hidden)

    before = await head(demo.ledger, school)
    event = await submit_term(demo.ledger, school, PRINCIPAL, demo.year, "6A1", 1, signed, roots, crls, in_place)
    assert await head(demo.ledger, school) == before + 1
    assert (event.payload["on_behalf_of"], event.payload["decision"], event.payload["signer"]) == (
        term.homeroom,
        DECISION,
        PRINCIPAL.user,
    )
    assert event.actor.on_behalf_of == term.homeroom
    async with demo.ledger.engine.connect() as conn:
        status = await term_status(conn, school, demo.year, "6A1", 1)
    assert status["signed"] and status["signer"] == PRINCIPAL.user
    signature = await xml_verify.verify_signature(signed, 0, roots, crls)
    assert signature.ok and signature.on_behalf_of is not None
    assert signature.on_behalf_of["ThayMat"] == term.homeroom and signature.on_behalf_of["QuyetDinh"] == DECISION


async def test_a_substitute_for_a_subject_teacher_is_given_the_subject_alone_dieu_5_18_7(signers: Signers) -> None:
    s = signers
    demo = s.demo
    student = demo.rosters["6A1"][0]
    teacher = demo.subject_teachers["TOAN"]
    async with demo.ledger.engine.connect() as conn:
        rows = await read(conn, assignments, demo.school, staff_id=teacher, role="SUBJECT_TEACHER", class_id="6A1")
    yesterday = demo.clock.now().date() - timedelta(days=1)
    for row in rows:
        if row["subject"] == "TOAN":
            await end_assignment(demo.ledger, demo.school, PRINCIPAL, row["assignment_id"], yesterday, DECISION)
    async with demo.ledger.engine.connect() as conn:
        prepared = await prepare_signature(
            conn,
            demo.school,
            YEAR,
            student,
            "SUBJECT_TEACHER",
            "TOAN",
            demo.clock.now(),
            substitution=Substitution(teacher, DECISION),
            signer=PRINCIPAL.user,
        )
    root = hocba_xml.parse(prepared["document"])
    assert [e.get("Ma") for e in root.iter(hocba_xml.tag("MonHoc"))] == ["TOAN"]
    assert prepared["on_behalf_of"]["ThayMat"] == teacher


async def test_the_term_record_is_signed_in_place_from_the_command_line_dieu_18_5_18_7(
    app_engine: AsyncEngine, settings: Settings, pki: Pki, env: dict[str, str], tmp_path: Path
) -> None:
    """`hocba signing prepare-term|submit-term --on-behalf-of --decision`, signed in as the principal,
    on the computer's clock (term I is long over): the record names the substitution, and the event."""
    term = await school_in_term(app_engine, settings, pki)
    demo, school = term.demo, term.school
    await _ready_term(term)
    async with demo.ledger.engine.connect() as conn:
        [row] = await read(conn, assignments, school, staff_id=term.homeroom, role="HOMEROOM_TEACHER", class_id="6A1")
    yesterday = demo.clock.now().date() - timedelta(days=1)
    await end_assignment(demo.ledger, school, PRINCIPAL, row["assignment_id"], yesterday, DECISION)
    principal = await helpers.signed_in(app_engine, env, school, PRINCIPAL.user)
    where = ("--school", school, "--year", demo.year, "--class", "6A1", "--term", "1")
    in_place = ("--on-behalf-of", term.homeroom, "--decision", DECISION)
    prepared, signed = tmp_path / "hk1.xml", tmp_path / "hk1-ky.xml"
    step = helpers.hocba(
        "signing", "prepare-term", *where, *in_place, "--signer", PRINCIPAL.user, "-o", str(prepared), env=principal
    )
    assert step.returncode == 0, step.stderr
    [placeholder] = hocba_xml.wrappers(hocba_xml.parse(prepared.read_bytes()))
    assert (placeholder.get("ThayMat"), placeholder.get("QuyetDinh")) == (term.homeroom, DECISION)
    p12 = term.runtime.pki.save_holder(school, PRINCIPAL.user, term.runtime.demo_signer(school, PRINCIPAL.user))
    step = helpers.hocba("sign", str(prepared), "--p12", str(p12), "-o", str(signed), env=env)
    assert step.returncode == 0, step.stderr
    # sent as the principal's own: they are not the class's homeroom teacher; nothing is recorded
    hidden = helpers.hocba("signing", "submit-term", *where, str(signed), env=principal)
    assert hidden.returncode != 0 and "không giữ vai trò HOMEROOM_TEACHER" in hidden.stderr
    step = helpers.hocba("signing", "submit-term", *where, *in_place, str(signed), env=principal)
    assert (step.returncode, step.stdout.strip()) == (0, "appended=1"), step.stderr
    async with demo.ledger.engine.connect() as conn:
        status = await term_status(conn, school, demo.year, "6A1", 1)
    assert status["signed"] and status["signer"] == PRINCIPAL.user
