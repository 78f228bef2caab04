"""Notices to families (Điều 31: families keep and check their child's học bạ): when a học bạ is issued
or revoked, the guardians with an e-mail address get a notice in Vietnamese through a real SMTP server
on loopback; each notice is recorded as a ledger event, sent once, kept owed while the mail server is
down, and the read model of what is owed agrees with a replay."""

from __future__ import annotations

import os
import uuid
from dataclasses import replace

import psycopg
import pytest

from ledger.app import migrate
from ledger.app.db import APP_ROLE, create_engine, ensure_database
from ledger.app.notices import send_family_notices
from ledger.app.runtime import Runtime
from ledger.base.settings import Settings
from ledger.format.envelope import NewEvent
from ledger.log import store
from ledger.log.append import Ledger
from ledger.log.projection import read
from ledger.log.replay import replay
from ledger.school.issuance.commands import revoke_hocba
from ledger.school.issuance.projection import PROJECTION as ISSUANCE
from ledger.school.issuance.tables import HOCBA_ISSUED
from ledger.school.notices.tables import FAMILY_NOTIFIED, family_notices
from ledger.school.readmodels import PROJECTIONS
from ledger.school.schools.tables import schools
from ledger.school.transcripts.views import class_summary
from tests.support.helpers import SETUP, database_url_of
from tests.support.mail import Inbox, free_port, mailer, with_guardian_emails
from tests.support.signers import YEAR, Signers, issuing, sign_all

pytestmark = pytest.mark.slow
PUBLIC = "https://hocba.khanhphu.edu.vn"


async def test_families_are_told_of_issuance_and_revocation_once_through_a_real_mail_server_dieu_31(
    signers: Signers, settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    demo, (inbox, port) = signers.demo, smtp
    service = Runtime(replace(settings, public_url=PUBLIC), database_url_of(settings), demo.clock)
    async with demo.ledger.engine.connect() as conn:
        lists = (await class_summary(conn, demo.school, YEAR, "7A1")).to_json()["lists"]
        [school_row] = await read(conn, schools, demo.school)
    [summer] = [s["student"] for s in lists["summer_training"]]  # still open: its học bạ may be revoked
    quiet = next(s for s in demo.rosters["7A1"] if s != summer)
    await with_guardian_emails(signers, summer, ["Me.Hoc.Sinh@Example.VN", "bo.hoc.sinh@example.vn"])
    for student in (summer, quiet):
        await sign_all(signers, student)
    issued = await issuing(signers, summer)()
    await issuing(signers, quiet)()

    # The mail server is down: nothing is lost, the notice stays owed.
    assert await send_family_notices(service, mailer(free_port()), [demo.school]) == 1  # only the "nobody" one
    async with demo.ledger.engine.connect() as conn:
        owed = {(r["student_id"], r["status"]) for r in await read(conn, family_notices, demo.school)}
    assert owed == {(summer, "pending"), (quiet, "nobody")}

    assert await send_family_notices(service, mailer(port), [demo.school]) == 1
    assert await send_family_notices(service, mailer(port), [demo.school]) == 0  # sent once
    # One message per guardian: neither sees the other's address.
    assert sorted(m["To"] for m in inbox.messages) == ["Me.Hoc.Sinh@example.vn", "bo.hoc.sinh@example.vn"]
    message = inbox.messages[0]
    name = demo.names[summer]
    assert message["From"].addresses[0].addr_spec == "hocba@khanhphu.edu.vn"
    assert message["Subject"] == f"Học bạ năm học {YEAR} của em {name} đã được ban hành"
    body = message.get_content()
    assert f"Kính gửi quý phụ huynh em {name}" in body and school_row["name"] in body and "lớp 7A1" in body
    assert f"{PUBLIC}/truong/{demo.school} " in body and summer not in body  # no personal identifier by e-mail
    assert "TOAN" not in body  # names, not codes

    await revoke_hocba(demo.ledger, demo.school, SETUP, issued.payload["issuance"], "Sai điểm môn Toán")
    assert await send_family_notices(service, mailer(port), [demo.school]) == 1
    assert inbox.messages[-1]["Subject"] == f"Học bạ năm học {YEAR} của em {name} đã bị thu hồi"
    assert "không còn giá trị" in inbox.messages[-1].get_content()

    async with demo.ledger.engine.connect() as conn:
        events = await store.select_events(conn, demo.school, after=0, limit=100_000)
        notices = await read(conn, family_notices, demo.school)
    told = [e.payload for e in events if e.type == FAMILY_NOTIFIED]
    assert sorted((p["kind"], p["recipients"]) for p in told) == [("issued", 0), ("issued", 2), ("revoked", 2)]
    assert {r["status"] for r in notices} == {"sent", "nobody"}
    report = await replay(service.engine("hocba_auditor"), PROJECTIONS, demo.school)
    assert report.ok, report.different
    await service.close()


async def test_an_upgraded_database_owes_the_notices_of_what_it_had_issued(server_url: str) -> None:
    """A database from before revision 0016 holds issued học bạ: the upgrade folds them into the new
    read model, so that it agrees with a replay at once (and their families are still told)."""
    name = f"hocba_test_notices_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = ensure_database(server_url, name)
    school = "truong-cu"
    try:
        migrate.upgrade(url, "0015")
        engine = create_engine(url, APP_ROLE)
        try:
            payload = {
                "issuance": "ph-1",
                "hocba_id": "truong-cu-2025-2026-037213000008",
                "year": "2025-2026",
                "student": "037213000008",
                "class": "9A1",
                "xml_c14n_sha256": "00" * 32,
                "pdf_sha256": "11" * 32,
                "issued_on": "2026-06-01",
                "replaces": None,
            }
            older = Ledger(engine, [ISSUANCE])  # the read models of revision 0015
            await older.append(school, [NewEvent(HOCBA_ISSUED, payload, SETUP)])
            migrate.upgrade(url)
            migrate.upgrade(url)  # again: nothing folded twice
            async with engine.connect() as conn:
                owed = await read(conn, family_notices, school)
            assert [(r["issuance_id"], r["kind"], r["status"], r["student_id"]) for r in owed] == [
                ("ph-1", "issued", "pending", "037213000008")
            ]
            report = await replay(engine, PROJECTIONS, school)
            assert report.ok, report.different
        finally:
            await engine.dispose()
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
