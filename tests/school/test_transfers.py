"""Transfers between schools (the regulation's Điều 26), keyed by the personal identifier: the record
is signed by the principal and sealed by the clerk of the school that makes it; the receiving school
verifies every signature and ledger receipt, then inherits what it carries instead of re-creating it.
The three cases (before the school year, mid-year, from a paper-based school), between two schools in
one database and between two databases."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.app import migrate
from ledger.app.db import APP_ROLE, create_engine, ensure_database
from ledger.app.demo import CLERK, PRINCIPAL, DemoSchool, build_demo_school
from ledger.base.clock import VN_TZ
from ledger.base.errors import DomainError
from ledger.log.projection import read
from ledger.school.assessments.commands import SheetEntry, record_sheet
from ledger.school.assessments.tables import assessments, conduct
from ledger.school.issuance.commands import revoke_hocba
from ledger.school.issuance.queries import stored_document
from ledger.school.issuance.tables import issued
from ledger.school.signatures.certificates import register_certificate
from ledger.school.transcripts.views import load_student_year
from ledger.school.transfers.commands import open_paper, open_transfer, prepare_transfer, submit_transfer
from ledger.school.transfers.queries import sealed_record
from ledger.school.transfers.receiving import receive
from ledger.school.transfers.tables import transfers
from ledger.school.years.commands import define_subjects, open_classes, open_year, register_students
from ledger.school.years.model import default_catalogue
from ledger.school.years.tables import classes, enrolments
from signing import transfer as record_xml
from signing.verify_file import verify_file
from signing.x509.keys import DocumentSigner
from signing.x509.pki import Pki
from signing.xml import document as hocba_xml
from signing.xml import verify as xml_verify
from signing.xml import xades
from tests.support import helpers
from tests.support.helpers import ADMIN
from tests.support.signers import CERTS_FROM, YEAR, Signers, issuing, sign_all

NEXT = "2026-2027"
LATE_AUGUST = datetime(2026, 8, 25, 9, tzinfo=VN_TZ)


async def staffed(
    engine: AsyncEngine, pki: Pki, *, seed: int, terms: tuple[int, ...] = (), per_class: int = 1
) -> tuple[DemoSchool, dict[str, DocumentSigner]]:
    """A school of its own, with the principal's and the organisation's registered certificates. (The
    demo numbers students from 1 in every school: a student who moves comes from a class whose numbers
    the receiving school does not use.)"""
    school = f"t-{uuid.uuid4().hex[:12]}"
    demo = await build_demo_school(engine, school, students_per_class=per_class, seed=seed, terms=terms, summer=False)
    people = {
        PRINCIPAL.user: pki.issue_demo_personal(school, PRINCIPAL.user, "Nguyễn Văn Hiệu", valid_from=CERTS_FROM),
        "organisation": pki.issue_demo_organisation(school, f"Trường THCS {seed}", valid_from=CERTS_FROM),
    }
    for holder in people.values():
        await register_certificate(demo.ledger, school, PRINCIPAL, holder.certificate, pki.roots())
    return demo, people


async def next_year(demo: DemoSchool) -> None:
    """The receiving school opens 2026-2027 with one class per grade."""
    await open_year(demo.ledger, demo.school, PRINCIPAL, NEXT, "2026-09-05", "2027-05-31")
    await define_subjects(demo.ledger, demo.school, ADMIN, NEXT, default_catalogue())
    await open_classes(demo.ledger, demo.school, ADMIN, NEXT, [(f"{g}A1", g) for g in (6, 7, 8, 9)])


async def seal(demo: DemoSchool, people: dict[str, DocumentSigner], pki: Pki, transfer_id: str) -> bytes:
    """The principal signs and the clerk seals, each on their own side; returns the sealed record."""
    for role, actor, holder in (
        ("PRINCIPAL", PRINCIPAL, people[PRINCIPAL.user]),
        ("ORGANISATION", CLERK, people["organisation"]),
    ):
        async with demo.ledger.engine.connect() as conn:
            prepared = await prepare_transfer(conn, demo.school, transfer_id, role)
        signed = xades.sign_prepared(prepared, holder.key, holder.certificate, signing_time=demo.clock.now())
        await submit_transfer(demo.ledger, demo.school, actor, transfer_id, signed, pki.roots(), [pki.crl()])
    async with demo.ledger.engine.connect() as conn:
        return await sealed_record(conn, demo.school, transfer_id)


def receiving(demo: DemoSchool, pki: Pki, data: bytes, year: str, class_id: str, **extra: Any) -> Any:
    return lambda: receive(
        demo.ledger,
        demo.school,
        CLERK,
        data,
        year=year,
        class_id=class_id,
        trusted_roots=pki.roots(),
        crls=[pki.crl()],
        **extra,
    )


async def issued_here(demo: DemoSchool, student: str) -> dict[str, dict[str, Any]]:
    async with demo.ledger.engine.connect() as conn:
        return {r["issuance_id"]: r for r in await read(conn, issued, demo.school, student_id=student)}


async def sealed_before_year(signers: Signers) -> tuple[str, str, bytes, bytes]:
    """School A issues a student's 2025-2026 học bạ, then seals the record of their transfer before
    2026-2027 starts: (student, transfer id, issued XML, sealed record)."""
    a = signers.demo
    student = a.rosters["8A1"][0]  # serial above the receiving schools' own students
    await sign_all(signers, student)
    issuance = (await issuing(signers, student)()).payload["issuance"]
    opened = await open_transfer(
        a.ledger, a.school, CLERK, student, departure="2026-08-20", to_school="Trường THCS Khánh Hòa"
    )
    await helpers.refused(
        a.ledger,
        a.school,
        "transfer.pending",
        lambda: open_transfer(a.ledger, a.school, CLERK, student, departure="2026-08-20"),
    )
    with pytest.raises(DomainError) as early:
        async with a.ledger.engine.connect() as conn:
            await prepare_transfer(conn, a.school, opened.payload["transfer"], "ORGANISATION")
    assert early.value.code == "signature.order"
    record = await seal(a, signers.people, signers.pki, opened.payload["transfer"])
    async with a.ledger.engine.connect() as conn:
        xml = await stored_document(conn, a.school, (await issued_here(a, student))[issuance]["xml_sha256"])
    return student, opened.payload["transfer"], xml, record


async def test_before_the_year_the_receiving_school_inherits_every_issued_year_dieu_26_2b(
    signers: Signers, app_engine: AsyncEngine, pki: Pki, tmp_path: Path
) -> None:
    a = signers.demo
    student, transfer_id, xml, record = await sealed_before_year(signers)

    report, content = await record_xml.verify(record, pki.roots(), [pki.crl()])
    assert report.ok, report.to_json()
    assert content is not None and content.kind == "before_year" and [c.xml for c in content.issued] == [xml]
    assert [s.role for s in report.signatures] == ["PRINCIPAL", "ORGANISATION"]
    path = tmp_path / "chuyen-truong.xml"
    path.write_bytes(record)
    assert helpers.xmlsec1_verifies(path, pki.root_path) == [True, True]  # independently of our code

    b, _ = await staffed(app_engine, pki, seed=41)
    b.clock.set(LATE_AUGUST)
    await next_year(b)
    events = await receiving(b, pki, record, NEXT, "9A1")()
    assert [e.type for e in events] == [
        "student.registered",
        "student.enrolled",
        "hocba.inherited",
        "transfer.received",
    ]
    [row] = (await issued_here(b, student)).values()
    assert (row["status"], row["origin_school"], row["year"]) == ("inherited", a.school, YEAR)
    async with b.ledger.engine.connect() as conn:
        assert (
            await stored_document(conn, b.school, row["xml_sha256"]) == xml
        )  # the very bytes A issued, not a copy made here
        [enrolled] = await read(conn, enrolments, b.school, year=NEXT, student_id=student)
    assert enrolled["class_id"] == "9A1"
    kept = await xml_verify.verify_xml(xml, pki.roots(), [pki.crl()])
    assert kept.ok and kept.receipt is not None and kept.receipt["school"] == a.school  # A's ledger receipt

    # inherited, never re-issued or revoked here; receiving again changes nothing
    await helpers.refused(
        b.ledger,
        b.school,
        "issuance.inherited",
        lambda: revoke_hocba(b.ledger, b.school, PRINCIPAL, row["issuance_id"], "Sai"),
    )
    before = await helpers.head(b.ledger, b.school)
    assert await receiving(b, pki, record, NEXT, "9A1")() == []
    assert await helpers.head(b.ledger, b.school) == before
    async with a.ledger.engine.connect() as conn:
        [sent] = await read(conn, transfers, a.school, transfer_id=transfer_id)
    assert (sent["status"], sent["direction"], sent["kind"]) == ("sealed", "out", "before_year")

    # the sending school cannot receive its own record
    await helpers.refused(a.ledger, a.school, "transfer.origin", receiving(a, pki, record, YEAR, "8A1"))


async def test_a_changed_record_is_refused_and_nothing_is_inherited_dieu_26_1c(
    signers: Signers, app_engine: AsyncEngine, pki: Pki, tmp_path: Path
) -> None:
    _, _, xml, record = await sealed_before_year(signers)
    b, _ = await staffed(app_engine, pki, seed=43)
    b.clock.set(LATE_AUGUST)
    await next_year(b)
    # another score inside the issued học bạ: its signatures and receipt break, so does the record's
    root = hocba_xml.parse(record)
    copy = root.find(f"{hocba_xml.tag('ChuyenDi')}/{hocba_xml.tag('HocBaDaBanHanh')}/{hocba_xml.tag('TepXml')}")
    assert copy is not None
    changed = xml.replace(b"<HocKy1>", b"<HocKy1>1", 1)
    copy.text = base64.b64encode(changed).decode()
    error = await helpers.refused(
        b.ledger, b.school, "transfer.invalid", receiving(b, pki, hocba_xml.to_bytes(root), NEXT, "9A1")
    )
    assert (await verify_file(record, pki.roots(), [pki.crl()])).ok  # the one verifier, as the portal uses it
    assert not (await verify_file(hocba_xml.to_bytes(root), pki.roots(), [pki.crl()])).ok
    assert error.vi.startswith("Hồ sơ chuyển trường không hợp lệ")
    # a record signed under a root the school does not trust
    other = Pki(tmp_path / "other-pki")
    other.init_demo()
    with pytest.raises(DomainError) as untrusted:
        await receive(
            b.ledger, b.school, CLERK, record, year=NEXT, class_id="9A1", trusted_roots=other.roots(), crls=[]
        )
    assert untrusted.value.code == "transfer.invalid"


async def test_mid_year_the_results_so_far_move_and_the_sending_class_closes_dieu_26_2c(
    app_engine: AsyncEngine, pki: Pki
) -> None:
    a, a_people = await staffed(app_engine, pki, seed=51, terms=(1,), per_class=2)
    student = a.rosters["8A1"][0]
    a.clock.set(datetime(2026, 1, 15, 9, tzinfo=VN_TZ))
    opened = await open_transfer(
        a.ledger, a.school, CLERK, student, departure="2026-01-16", to_school="Trường THCS Khánh Hòa", year=YEAR
    )
    assert opened.payload["kind"] == "mid_year"
    transfer_id = opened.payload["transfer"]
    record = await seal(a, a_people, pki, transfer_id)
    async with a.ledger.engine.connect() as conn:
        [left] = await read(conn, enrolments, a.school, year=YEAR, student_id=student)
        sent = {
            (r["subject"], r["term"], r["kind"], r["slot"]): r["value"]
            for r in await read(conn, assessments, a.school, year=YEAR, student_id=student)
        }
        a_view = await load_student_year(conn, a.school, YEAR, student)
    assert left["until"] == date(2026, 1, 16)
    assert len(sent) > 40
    # the sending school can no longer enter data for the student
    a.clock.set(datetime(2026, 5, 10, 9, tzinfo=VN_TZ))
    await helpers.refused(
        a.ledger,
        a.school,
        "student.not_enrolled",
        lambda: record_sheet(
            a.ledger,
            a.school,
            a.teacher("TOAN"),
            year=YEAR,
            term=2,
            class_id="8A1",
            subject="TOAN",
            entries=[SheetEntry(student, "midterm", "7")],
        ),
    )

    b, _ = await staffed(app_engine, pki, seed=53)
    b.clock.set(datetime(2026, 1, 19, 9, tzinfo=VN_TZ))
    received = await receiving(b, pki, record, YEAR, "8A1")()
    assert received[-1].type == "transfer.received"
    async with b.ledger.engine.connect() as conn:
        rows = await read(conn, assessments, b.school, year=YEAR, student_id=student)
        [term1_conduct] = await read(conn, conduct, b.school, year=YEAR, student_id=student, term=1)
        b_view = await load_student_year(conn, b.school, YEAR, student)
    assert {(r["subject"], r["term"], r["kind"], r["slot"]): r["value"] for r in rows} == sent
    assert {r["source"]["transfer"] for r in rows} == {transfer_id}  # each inherited value names its record
    assert term1_conduct["level"] == a_view.to_json()["conduct"]["term1"]
    assert b_view.to_json()["subjects"]["TOAN"]["term1"] == a_view.to_json()["subjects"]["TOAN"]["term1"]
    assert b_view.to_json()["learning"]["term1"] == a_view.to_json()["learning"]["term1"]
    # term II goes on at the receiving school, by its own teacher
    b.clock.set(datetime(2026, 5, 10, 9, tzinfo=VN_TZ))
    await record_sheet(
        b.ledger,
        b.school,
        b.teacher("TOAN"),
        year=YEAR,
        term=2,
        class_id="8A1",
        subject="TOAN",
        entries=[SheetEntry(student, "midterm", "8,5")],
    )

    # results are inherited only into the year they belong to, and not after the close (Điều 25.1)
    c, _ = await staffed(app_engine, pki, seed=55)
    c.clock.set(datetime(2026, 1, 20, 9, tzinfo=VN_TZ))
    await next_year(c)
    await helpers.refused(c.ledger, c.school, "transfer.year", receiving(c, pki, record, NEXT, "8A1"))
    c.clock.set(datetime(2026, 6, 2, 9, tzinfo=VN_TZ))
    await helpers.refused(c.ledger, c.school, "deadline.close", receiving(c, pki, record, YEAR, "8A1"))


async def test_from_a_paper_school_scans_are_signed_and_a_digital_hoc_ba_opens_dieu_26_3a(
    app_engine: AsyncEngine, pki: Pki
) -> None:
    b, people = await staffed(app_engine, pki, seed=61, terms=())
    newcomer = {
        "student": "037312000901",
        "ministry_code": "3700000901",
        "full_name": "Lương Thị Ánh Tuyết",
        "gender": "Nữ",
        "date_of_birth": "2012-03-14",
        "birthplace": "Thanh Hóa",
        "ethnicity": "Mường",
        "residence": "Xã Khánh Phú, tỉnh Ninh Bình",
        "guardians": [{"full_name": "Lương Văn Tâm", "relation": "Cha", "phone": "0912345678"}],
    }
    await register_students(b.ledger, b.school, ADMIN, [newcomer])
    scan = b"%PDF-1.4\n% trang 1-4 hoc ba giay lop 6, nam hoc 2024-2025\n%%EOF\n"
    await helpers.refused(
        b.ledger,
        b.school,
        "transfer.scans",
        lambda: open_paper(
            b.ledger, b.school, CLERK, newcomer["student"], arrival="2025-10-02", from_school="X", scans=[]
        ),
    )
    opened = await open_paper(
        b.ledger,
        b.school,
        CLERK,
        newcomer["student"],
        arrival="2025-10-02",
        from_school="Trường THCS Nga Sơn (học bạ giấy)",
        scans=[record_xml.Scan("2024-2025", "application/pdf", scan)],
    )
    assert opened.payload["kind"] == "paper"
    record = await seal(b, people, pki, opened.payload["transfer"])
    events = await receiving(b, pki, record, YEAR, "7A1")()
    assert [e.type for e in events] == ["student.enrolled", "transfer.received"]
    [scan_ref] = events[-1].payload["scans"]
    assert scan_ref["sha256"] == hashlib.sha256(scan).hexdigest() and scan_ref["year"] == "2024-2025"
    async with b.ledger.engine.connect() as conn:
        assert await stored_document(conn, b.school, scan_ref["sha256"]) == scan
        [row] = await read(conn, transfers, b.school, transfer_id=opened.payload["transfer"])
        [enrolled] = await read(conn, enrolments, b.school, year=YEAR, student_id=newcomer["student"])
    assert (row["direction"], row["status"]) == ("paper", "received")
    assert enrolled["class_id"] == "7A1"

    # only the school that scanned and sealed the pages receives them
    c, _ = await staffed(app_engine, pki, seed=63)
    await helpers.refused(c.ledger, c.school, "transfer.origin", receiving(c, pki, record, YEAR, "7A1"))


async def test_transfer_between_two_databases_with_the_cli_dieu_26(
    signers: Signers, env: dict[str, str], server_url: str, pki: Pki, tmp_path: Path
) -> None:
    """School A's service and school B's service, each with its own database: the record travels as a
    file, `hocba transfer export` on one side and `hocba transfer import` on the other."""
    a = signers.demo
    student, transfer_id, xml, record = await sealed_before_year(signers)
    exported = tmp_path / "record.xml"
    a_env = await helpers.signed_in(a.ledger.engine, env, a.school, CLERK.user)
    done = helpers.hocba("transfer", "export", transfer_id, "--school", a.school, "-o", str(exported), env=a_env)
    assert done.returncode == 0, done.stderr
    assert exported.read_bytes() == record

    name = f"hocba_test_b_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = ensure_database(server_url, name)
    try:
        migrate.upgrade(url)
        engine = create_engine(url, APP_ROLE)
        try:
            b, _ = await staffed(engine, pki, seed=71)
            b.clock.set(LATE_AUGUST)
            await next_year(b)
            b_env = await helpers.signed_in(engine, {**env, "DATABASE_URL": url}, b.school, CLERK.user)
        finally:
            await engine.dispose()
        done = helpers.hocba(
            "transfer",
            "import",
            str(exported),
            "--school",
            b.school,
            "--year",
            NEXT,
            "--class",
            "9A1",
            "--actor",
            CLERK.user,
            "--json",
            env=b_env,
        )
        assert done.returncode == 0, done.stderr
        listed = helpers.hocba("issued", "list", "--school", b.school, "--json", env=b_env)
        [item] = json.loads(listed.stdout)
        assert (item["student"], item["status"], item["year"]) == (student, "inherited", YEAR)
        copy = tmp_path / "inherited.xml"
        helpers.hocba(
            "issued", "export", item["id"], "--school", b.school, "--format", "xml", "-o", str(copy), env=b_env
        )
        assert copy.read_bytes() == xml
        moves = json.loads(helpers.hocba("transfer", "list", "--school", b.school, "--json", env=b_env).stdout)
        assert [(m["id"], m["direction"], m["status"]) for m in moves] == [(transfer_id, "in", "received")]
        again = helpers.hocba(
            "transfer",
            "import",
            str(exported),
            "--school",
            b.school,
            "--year",
            NEXT,
            "--class",
            "9A1",
            "--actor",
            CLERK.user,
            env=b_env,
        )
        assert again.returncode == 0 and "appended=0" in again.stdout
        # the sending database knows nothing of it
        async with a.ledger.engine.connect() as conn:
            assert await read(conn, classes, b.school) == []
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_transfer_routes_speak_problem_json_and_record_nothing_half_done(
    api: Any, demo: DemoSchool, tokens: dict[str, dict[str, str]]
) -> None:
    """Over HTTP: the clerk opens a record; until the principal signs and the clerk seals it there is
    no record to send (409, problem+json in both languages); bad input changes nothing (422)."""
    base = f"/api/v1/schools/{demo.school}/transfers"
    student = demo.rosters["9A1"][-1]
    bad = await api.post(base, json={"student": "12345"}, headers=tokens["CLERK"])
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    opened = await api.post(base, json={"student": student, "departure": "2026-08-21"}, headers=tokens["CLERK"])
    assert opened.status_code == 201, opened.text
    transfer_id = opened.json()["transfer"]
    listed = (await api.get(base, headers=tokens["AUDITOR"])).json()["items"]
    assert [(t["id"], t["status"], t["kind"]) for t in listed if t["student_id"] == student] == [
        (transfer_id, "opened", "before_year")
    ]
    record = await api.get(f"{base}/{transfer_id}/record.xml", headers=tokens["PRINCIPAL"])
    assert record.status_code == 409 and record.json()["code"] == "transfer.unsealed"
    assert record.json()["detail_vi"].startswith("Hồ sơ chuyển trường chưa được hiệu trưởng ký")
    early = await api.post(f"{base}/{transfer_id}/prepare", json={"role": "ORGANISATION"}, headers=tokens["CLERK"])
    assert early.status_code in (403, 409, 422) and early.json()["code"] == "signature.order"
    prepared = await api.post(f"{base}/{transfer_id}/prepare", json={"role": "PRINCIPAL"}, headers=tokens["PRINCIPAL"])
    assert prepared.status_code == 200
    root = hocba_xml.parse(base64.b64decode(prepared.json()["document"]))
    assert root.tag == hocba_xml.tag("ChuyenTruong") and hocba_xml.wrappers(root)[0].get("VaiTro") == "PRINCIPAL"
