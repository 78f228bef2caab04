"""Điều 18.4: the homeroom teacher reviews and signs, term by term, the class's results in every subject
with conduct, absences and the homeroom comments; only once complete (every pupil's conduct, TT22 Đ.8;
every subject's sheet signed by its teacher, Điều 18.3), and again after anything in it changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.app.demo import DemoSchool, Signers, build_demo_school, certify
from ledger.app.runtime import Runtime
from ledger.base.errors import DomainError
from ledger.format.envelope import Actor
from ledger.school.assessments.commands import record_absences, record_conduct
from ledger.school.class_sheets.commands import prepare_term, submit_term
from ledger.school.class_sheets.terms import term_document, term_status
from ledger.school.rules.roles import Role
from signing.x509.pki import Pki
from signing.xml import document as hocba_xml
from signing.xml import verify as xml_verify
from signing.xml import xades
from tests.support import helpers
from tests.support.web import lock_entry, sign_sheet, signed_sheets

CLASS = "6A1"


@pytest.fixture
async def signers(app_engine: AsyncEngine, school: str, pki: Pki, runtime: Runtime) -> Signers:
    demo = await build_demo_school(app_engine, school, students_per_class=2, terms=())
    return await certify(demo, pki, runtime.signer(demo.school), runtime.verification())


def _signed(s: Signers, staff: str, prepared: bytes) -> bytes:
    keys = s.people[staff]
    return xades.sign_prepared(prepared, keys.key, keys.certificate, signing_time=s.demo.clock.now())


def _submitting(s: Signers, staff: str, data: bytes) -> Any:
    demo = s.demo
    return lambda: submit_term(
        demo.ledger, demo.school, Actor(staff, Role.HOMEROOM_TEACHER), demo.year, CLASS, 1, data, s.pki.roots(),
        [s.pki.crl()],
    )  # fmt: skip


async def _unchecked(demo: DemoSchool) -> bytes:
    """The term record with room for the homeroom teacher's signature, made without the service's
    check: what a signer's own software could send while the record is incomplete."""
    async with demo.ledger.engine.connect() as conn:
        root, _ = await term_document(conn, demo.school, demo.year, CLASS, 1)
    hocba_xml.add_placeholder(
        root, "ck-6a1-hk1", "HOMEROOM_TEACHER", hocba_xml.references_for(root, "HOMEROOM_TEACHER")
    )
    return hocba_xml.to_bytes(root)


async def test_the_homeroom_teacher_signs_the_class_term_once_complete_dieu_18_4(
    signers: Signers, env: dict[str, str], tmp_path: Path
) -> None:
    s, demo = signers, signers.demo
    homeroom, first, second = demo.homeroom[CLASS], *demo.rosters[CLASS]
    codes = await signed_sheets(demo, s.pki, s.people.__getitem__, CLASS, 1, unsigned=("TOAN",))
    await record_conduct(
        demo.ledger, demo.school, demo.homeroom_teacher(CLASS), year=demo.year, term=1, class_id=CLASS,
        entries=[(first, "Tốt")],
    )  # fmt: skip

    # Incomplete: the second pupil has no conduct and the Toán sheet is not signed by its teacher.
    async with demo.ledger.engine.connect() as conn:
        with pytest.raises(DomainError) as caught:
            await prepare_term(conn, demo.school, demo.year, CLASS, 1, demo.clock.now())
    refusal = caught.value
    assert refusal.code == "class_term.incomplete" and refusal.rule == "Điều 18.4"
    assert demo.names[second] in refusal.vi and "Toán" in refusal.vi and "Điều 18.4" in refusal.vi
    assert demo.names[first] not in refusal.vi
    # the append path refuses it too, appending nothing
    early = _signed(s, homeroom, await _unchecked(demo))
    await helpers.refused(demo.ledger, demo.school, "class_term.incomplete", _submitting(s, homeroom, early))

    # Complete: the Toán teacher signs, the second pupil's conduct is recorded.
    await sign_sheet(demo, s.pki, s.people.__getitem__, CLASS, "TOAN")
    await record_conduct(
        demo.ledger, demo.school, demo.homeroom_teacher(CLASS), year=demo.year, term=1, class_id=CLASS,
        entries=[(second, "Khá")],
    )  # fmt: skip
    # Complete, and entry of the class still open (term I's window): not signed yet (Điều 18.4, 33.3c)
    async with demo.ledger.engine.connect() as conn:
        with pytest.raises(DomainError) as still_open:
            await prepare_term(conn, demo.school, demo.year, CLASS, 1, demo.clock.now())
    assert still_open.value.code == "signature.period_open" and "lớp 6A1" in still_open.value.vi
    await lock_entry(demo, class_id=CLASS, subject=None)  # Điều 36.2: entry of the class locked
    async with demo.ledger.engine.connect() as conn:
        status = await term_status(conn, demo.school, demo.year, CLASS, 1)
        prepared = await prepare_term(conn, demo.school, demo.year, CLASS, 1, demo.clock.now())
    assert (status["signed"], status["stale"], status["pupils"], len(status["subjects"])) == (
        False,
        False,
        2,
        len(codes),
    )
    assert status["unsigned"] == [] and status["no_conduct"] == []
    part = hocba_xml.parse(prepared)[0]
    pupil = part.find(hocba_xml.tag("HocSinh"))
    assert pupil is not None and len(pupil.findall(hocba_xml.tag("Mon"))) == len(codes)
    assert all(m.get("GiaoVien") for m in part.iterfind(hocba_xml.tag("MonHoc")))

    other = next(staff for staff in demo.subject_teachers.values() if staff != homeroom)
    await helpers.refused(
        demo.ledger, demo.school, "signature.not_assigned", _submitting(s, other, _signed(s, other, prepared))
    )
    event = await _submitting(s, homeroom, _signed(s, homeroom, prepared))()
    assert event.type == "class_term.signed" and event.actor.role == "HOMEROOM_TEACHER"
    assert (event.payload["class"], event.payload["term"], event.payload["signer"]) == (CLASS, 1, homeroom)
    async with demo.ledger.engine.connect() as conn:
        status = await term_status(conn, demo.school, demo.year, CLASS, 1)
        root, _ = await term_document(conn, demo.school, demo.year, CLASS, 1)
    assert (status["signed"], status["stale"], status["signer"]) == (True, False, homeroom)
    report = await xml_verify.verify_xml(hocba_xml.to_bytes(root), s.pki.roots(), [s.pki.crl()])
    assert report.ok and [r.role for r in report.signatures] == ["HOMEROOM_TEACHER"], report
    async with demo.ledger.engine.connect() as conn:
        await helpers.refused(
            demo.ledger,
            demo.school,
            "signature.done",
            lambda: prepare_term(conn, demo.school, demo.year, CLASS, 1, demo.clock.now()),
        )

    # Entry opened again, a later change to what was signed (here a pupil's absences) makes the
    # signature stale; locked again, it is signed anew.
    await lock_entry(demo, closed=False, class_id=CLASS, subject=None)
    await record_absences(
        demo.ledger, demo.school, demo.homeroom_teacher(CLASS), year=demo.year, term=1, class_id=CLASS,
        entries=[(first, 1, 0)],
    )  # fmt: skip
    await lock_entry(demo, class_id=CLASS, subject=None)
    async with demo.ledger.engine.connect() as conn:
        status = await term_status(conn, demo.school, demo.year, CLASS, 1)
        again = await prepare_term(conn, demo.school, demo.year, CLASS, 1, demo.clock.now())
    assert (status["signed"], status["stale"]) == (False, True)
    assert [w.get("VaiTro") for w in hocba_xml.wrappers(hocba_xml.parse(again))] == ["HOMEROOM_TEACHER"]
    # the homeroom teacher's own signing software starts from the same document, from the command line
    env = await helpers.signed_in(demo.ledger.engine, env, demo.school, homeroom)
    out = tmp_path / "hk1-6a1.xml"
    where = ["--school", demo.school, "--year", demo.year, "--class", "lớp 6a1", "--term", "HK I"]
    done = helpers.hocba("signing", "prepare-term", *where, "-o", str(out), env=env)
    assert done.returncode == 0, done.stderr
    assert hocba_xml.canonical(hocba_xml.parse(out.read_bytes())[0]) == hocba_xml.canonical(hocba_xml.parse(again)[0])
    await _submitting(s, homeroom, _signed(s, homeroom, again))()
    async with demo.ledger.engine.connect() as conn:
        assert (await term_status(conn, demo.school, demo.year, CLASS, 1))["signed"] is True
