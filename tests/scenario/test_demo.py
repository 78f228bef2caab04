"""`hocba demo`: a complete school year of THCS Khánh Phú through the real commands, every học bạ signed
by every signer in order (Điều 18, 24.5) and issued (Điều 24), with a correction approved and one
rejected (Điều 17.3) and summer training (TT22 Đ.12–14); run against DATABASE_URL, once."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.log.projection import read
from ledger.school.assessments.tables import summer_conduct
from ledger.school.class_sheets.tables import sheet_signatures, term_signatures
from ledger.school.corrections.tables import corrections
from ledger.school.issuance.queries import stored_document
from ledger.school.issuance.tables import issued
from ledger.school.readmodels import school_ledger
from signing.verify_file import verify_file
from signing.x509.pki import Pki
from signing.xml import document as hocba_xml
from tests.support import helpers


@pytest.mark.slow
async def test_hocba_demo_loads_a_signed_and_issued_year_once(
    env: dict[str, str], app_engine: AsyncEngine, pki: Pki, tmp_path: Path
) -> None:
    school = f"t-{uuid.uuid4().hex[:12]}"
    command = ["demo", "--school", school, "--classes-per-grade", "1", "--students-per-class", "4", "--workers", "2"]
    done = helpers.hocba(*command, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "16 học bạ ký và ban hành" in done.stdout
    assert "ht.doanthuy" in done.stdout and "hocba-demo-2025" in done.stdout  # accounts to try it with

    async with app_engine.connect() as conn:
        rows = await read(conn, issued, school)
        requests = await read(conn, corrections, school)
        trained = await read(conn, summer_conduct, school)
        sheets = await read(conn, sheet_signatures, school)
        terms = await read(conn, term_signatures, school)
        xml = await stored_document(conn, school, rows[0]["xml_sha256"])
        pdf = await stored_document(conn, school, rows[0]["pdf_sha256"])
    assert len(rows) == 16 and {r["status"] for r in rows} == {"issued"}
    assert sorted(r["status"] for r in requests) == ["approved", "rejected"]
    assert len(trained) == 4 and {r["level"] for r in trained} == {"Đạt"}  # summer training, one per class
    # Điều 18.3, 18.4: every class sheet of both terms by its teacher, then each class's term records
    assert len(terms) == 4 * 2 and {r["term"] for r in terms} == {1, 2}
    assert len(sheets) >= 4 * 2 * 10 and all(r["signer"] for r in sheets)

    xml_report = await verify_file(xml, pki.roots(), [pki.crl()])
    roles = [s.role for s in xml_report.signatures]
    assert xml_report.ok and xml_report.receipt is not None
    assert roles[-3:] == ["HOMEROOM_TEACHER", "PRINCIPAL", "ORGANISATION"]
    assert set(roles[:-3]) == {"SUBJECT_TEACHER"}
    assert len(roles) - 3 == len(list(hocba_xml.parse(xml).iter(hocba_xml.tag("MonHoc"))))
    pdf_report = await verify_file(pdf, pki.roots(), [pki.crl()])
    assert pdf_report.ok and [s.role for s in pdf_report.signatures] == ["PRINCIPAL", "ORGANISATION"]
    path = tmp_path / "hocba.xml"
    path.write_bytes(xml)
    assert all(helpers.xmlsec1_verifies(path, pki.root_path))

    verified = helpers.hocba("verify", "--school", school, "--json", env=env)
    assert verified.returncode == 0 and json.loads(verified.stdout)["ok"] is True, verified.stdout
    # once: a second run finds the school and appends nothing
    before = await helpers.head(school_ledger(app_engine), school)
    again = helpers.hocba(*command, env=env)
    assert again.returncode == 0 and "already in this database" in again.stdout
    assert await helpers.head(school_ledger(app_engine), school) == before
