"""Issuing the học bạ (the regulation's Điều 21–25): only when every signature is present and valid,
the exact bytes kept immutable, and the Điều 25.3 path (revoke, then replace) open only before the
close."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import psycopg
import pytest

from ledger.app.demo import CLERK, PRINCIPAL, VICE_PRINCIPAL
from ledger.log.projection import read
from ledger.log.replay import replay
from ledger.school.assessments.tables import assessments
from ledger.school.corrections.commands import decide_request, file_request
from ledger.school.corrections.model import assessment_target
from ledger.school.issuance.commands import revoke_hocba
from ledger.school.issuance.queries import stored_document
from ledger.school.issuance.tables import issued
from ledger.school.readmodels import PROJECTIONS, school_ledger
from ledger.school.signatures.queries import load_documents
from ledger.school.transcripts.verification import Verification
from ledger.school.transcripts.views import class_summary
from ledger.school.years.model import default_catalogue
from ledger.school.years.tables import students
from tests.support import helpers
from tests.support.helpers import SETUP
from tests.support.signers import YEAR, Signers, issuing, sign_all, sign_everything, sign_pdf_as, signed_and_issued


async def test_only_a_fully_signed_hoc_ba_is_issued_and_its_bytes_never_change_dieu_24(
    signers: Signers, superuser: psycopg.Connection
) -> None:
    demo = signers.demo
    student = demo.rosters["6A1"][0]
    await helpers.refused(demo.ledger, demo.school, "issuance.unsigned", issuing(signers, student))
    await sign_everything(signers, student)
    await sign_pdf_as(signers, student, "PRINCIPAL")
    await helpers.refused(demo.ledger, demo.school, "issuance.invalid", issuing(signers, student))  # no seal yet
    await sign_pdf_as(signers, student, "ORGANISATION")
    await helpers.refused(demo.ledger, demo.school, "issuance.role", issuing(signers, student, PRINCIPAL))
    event = await issuing(signers, student)()
    assert event.type == "hocba.issued" and event.payload["replaces"] is None
    async with demo.ledger.engine.connect() as conn:
        [row] = await read(conn, issued, demo.school, issuance_id=event.payload["issuance"])
        xml = await stored_document(conn, demo.school, row["xml_sha256"])
        pdf = await stored_document(conn, demo.school, row["pdf_sha256"])
    assert (row["status"], row["student_id"], row["class_id"]) == ("issued", student, "6A1")
    assert hashlib.sha256(xml).hexdigest() == row["xml_sha256"] and pdf.startswith(b"%PDF")
    await helpers.refused(demo.ledger, demo.school, "issuance.exists", issuing(signers, student))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        superuser.execute("UPDATE hocba.documents SET content = 'x' WHERE sha256 = %s", (row["xml_sha256"],))
    superuser.rollback()


async def test_before_the_close_an_issued_hoc_ba_is_revoked_and_replaced_dieu_25_3(signers: Signers) -> None:
    """A student with summer work is open until 30 August: a correction found after issuance is made,
    the issued học bạ revoked and a new one issued in its place."""
    demo = signers.demo
    async with demo.ledger.engine.connect() as conn:
        lists = (await class_summary(conn, demo.school, YEAR, "7A1")).to_json()["lists"]
    [student] = [s["student"] for s in lists["summer_training"]]
    await sign_all(signers, student)
    first = await issuing(signers, student)()
    target = assessment_target(YEAR, 2, "7A1", "TOAN", student, "final", None)
    async with demo.ledger.engine.connect() as conn:
        [first_row] = await read(conn, issued, demo.school, issuance_id=first.payload["issuance"])
        xml = await stored_document(conn, demo.school, first_row["xml_sha256"])
        [row] = await read(conn, assessments, demo.school, student_id=student, subject="TOAN", term=2, kind="final")
    request = await file_request(
        demo.ledger,
        demo.school,
        demo.teacher("TOAN"),
        target,
        old_value=row["value"],
        new_value="10" if row["value"] != "10.0" else "9",
        reason="Phát hiện sai sót sau khi ban hành",
    )
    await decide_request(demo.ledger, demo.school, PRINCIPAL, request.payload["request"], approve=True, reason="Đúng")
    issuance_id = first.payload["issuance"]
    await helpers.refused(
        demo.ledger,
        demo.school,
        "issuance.revoke_role",
        lambda: revoke_hocba(demo.ledger, demo.school, VICE_PRINCIPAL, issuance_id, "Sai điểm môn Toán"),
    )
    revoked = await revoke_hocba(demo.ledger, demo.school, PRINCIPAL, issuance_id, "Sai điểm môn Toán")
    assert revoked.payload == {"issuance": issuance_id, "reason": "Sai điểm môn Toán"}
    await sign_all(signers, student)  # the signatures over the corrected data, again, in order
    second = await issuing(signers, student)()
    assert second.payload["replaces"] == issuance_id
    assert second.payload["xml_c14n_sha256"] != first.payload["xml_c14n_sha256"]
    async with demo.ledger.engine.connect() as conn:
        rows = {r["issuance_id"]: r for r in await read(conn, issued, demo.school, student_id=student)}
        assert await stored_document(conn, demo.school, first_row["xml_sha256"]) == xml
    assert (rows[issuance_id]["status"], rows[issuance_id]["replaced_by"]) == ("revoked", second.payload["issuance"])
    assert rows[second.payload["issuance"]]["status"] == "issued"


async def test_after_the_close_an_issued_hoc_ba_stands_dieu_25_3(signers: Signers) -> None:
    """On 12 August the year of a student without summer work closed on 31 May."""
    demo = signers.demo
    student = demo.rosters["9A1"][0]
    await sign_all(signers, student)
    event = await issuing(signers, student)()
    error = await helpers.refused(
        demo.ledger,
        demo.school,
        "issuance.closed",
        lambda: revoke_hocba(demo.ledger, demo.school, PRINCIPAL, event.payload["issuance"], "Sai sót"),
    )
    assert error.rule == "Điều 25.3, 25.4" and "2026-05-31T23:59:59" in error.en


async def test_issued_list_and_export_write_the_exact_stored_bytes(
    signers: Signers, env: dict[str, str], tmp_path: Path
) -> None:
    demo = signers.demo
    student = demo.rosters["8A1"][1]
    await sign_all(signers, student)
    event = await issuing(signers, student)()
    env = await helpers.signed_in(demo.ledger.engine, env, demo.school, CLERK.user)
    listed = helpers.hocba("issued", "list", "--school", demo.school, "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    [item] = json.loads(listed.stdout)
    assert (item["id"], item["student"], item["year"], item["status"]) == (
        event.payload["issuance"],
        student,
        YEAR,
        "issued",
    )
    for fmt in ("xml", "pdf"):
        out = tmp_path / f"hocba.{fmt}"
        done = helpers.hocba(
            "issued", "export", "--school", demo.school, item["id"], "--format", fmt, "-o", str(out), env=env
        )
        assert done.returncode == 0, done.stderr
        assert hashlib.sha256(out.read_bytes()).hexdigest() == item[f"{fmt}_sha256"]
        checked = helpers.hocba(
            "verify-file",
            str(out),
            "--trust",
            str(signers.pki.root_path),
            "--crl",
            str(signers.pki.crl_path),
            "--json",
            env=env,
        )
        assert checked.returncode == 0, checked.stdout
        if fmt == "xml":  # the ledger receipt, checked offline with only the root
            receipt = json.loads(checked.stdout)["receipt"]
            assert receipt["ok"] and receipt["seq"] == event.seq and receipt["issuance"] == item["id"]
            said = helpers.hocba("verify-file", str(out), "--trust", str(signers.pki.root_path), env=env).stdout
            assert "Thời điểm ký tin cậy: 12/08/2026 09:00" in said  # each signature's XAdES-T timestamp
    code = helpers.hocba("issued", "code", "--school", demo.school, item["id"], env=env)
    assert code.returncode == 0 and len(code.stdout.strip()) == 11 and code.stdout[5] == "-", code.stderr
    missing = helpers.hocba(
        "issued", "export", "--school", demo.school, "nope", "--format", "xml", "-o", str(tmp_path / "x"), env=env
    )
    assert missing.returncode == 2 and "no issued học bạ" in missing.stderr


async def test_issuance_over_http_dieu_24_25(signers: Signers, api: Any, runtime: Any, tmp_path: Path) -> None:
    from ledger.school.accounts.commands import create_account
    from ledger.school.rules.policy import AccountKind
    from tests.support.helpers import PASSWORD

    demo = signers.demo
    headers = {}
    for username in (CLERK.user, PRINCIPAL.user):
        await create_account(
            school_ledger(runtime.engine(), clock=runtime.clock),
            demo.school,
            username,
            AccountKind.STAFF,
            password=PASSWORD,
            actor=SETUP,
        )
        login = await api.post(
            "/api/v1/auth/token", json={"school": demo.school, "username": username, "password": PASSWORD}
        )
        headers[username] = {"Authorization": f"Bearer {login.json()['access_token']}"}
    student = demo.rosters["9A1"][2]
    base = f"/api/v1/schools/{demo.school}"
    unsigned = await api.post(f"{base}/students/{student}/issue?year={YEAR}", headers=headers[CLERK.user])
    assert unsigned.status_code == 409 and unsigned.json()["code"] == "issuance.unsigned"
    await sign_all(signers, student)
    denied = await api.post(f"{base}/students/{student}/issue?year={YEAR}", headers=headers[PRINCIPAL.user])
    assert denied.status_code == 403
    done = await api.post(f"{base}/students/{student}/issue?year={YEAR}", headers=headers[CLERK.user])
    assert done.status_code == 201, done.text
    assert done.json()["lookup_code"] == runtime.verification().code(demo.school, done.json()["hocba_id"])
    # once issued, the học bạ's PDF is the one issued: archived for the long term (PAdES-B-LTA)
    kept = await api.get(
        f"{base}/students/{student}/issued/{done.json()['issuance']}?format=pdf", headers=headers[CLERK.user]
    )
    current = await api.get(f"{base}/students/{student}/hocba.pdf?year={YEAR}", headers=headers[CLERK.user])
    assert current.status_code == 200 and current.content == kept.content and b"/DocTimeStamp" in kept.content
    await the_issued_pdf_prints_the_code_the_family_is_given(
        api, runtime, demo, headers[CLERK.user], done.json(), tmp_path
    )
    items = (await api.get(f"{base}/issued", headers=headers[PRINCIPAL.user])).json()["items"]
    assert [(i["id"], i["student_id"], i["status"]) for i in items] == [(done.json()["issuance"], student, "issued")]
    closed = await api.post(
        f"{base}/issued/{done.json()['issuance']}/revoke", json={"reason": "Sai sót"}, headers=headers[PRINCIPAL.user]
    )
    assert closed.status_code == 409 and closed.json()["rule"] == "Điều 25.3, 25.4"


async def the_issued_pdf_prints_the_code_the_family_is_given(
    api: Any, runtime: Any, demo: Any, clerk: dict[str, str], issuance: dict[str, Any], tmp_path: Path
) -> None:
    """The issued PDF reads as a school writes it (figures with a decimal comma, dates day first,
    subjects by name, the place-and-date line filled in) and prints the verification code the
    issuance answered, with the QR code of the portal's lookup, which finds this học bạ (Điều 2.14, 31)."""
    student, code, ident = issuance["student"], issuance["lookup_code"], issuance["hocba_id"]
    base = f"/api/v1/schools/{demo.school}/students/{student}/issued/{issuance['issuance']}"
    pdf = await api.get(f"{base}?format=pdf", headers=clerk)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    path = tmp_path / "hocba.pdf"
    path.write_bytes(pdf.content)
    text = " ".join(helpers.run(helpers.tool("pdftotext"), str(path), "-").split())
    assert f"Mã xác minh: {code}" in text and f"Số học bạ: {ident}" in text
    verification = runtime.verification()
    assert f"cổng xác minh {verification.portal()}" in text
    assert re.search(r"\b\d{1,2},\d\b", text) and not re.search(r"\b\d{1,2}\.\d\b", text)
    async with demo.ledger.engine.connect() as conn:
        [person] = await read(conn, students, demo.school, student_id=student)
        documents = await load_documents(conn, demo.school, YEAR, [student])
    assert person["date_of_birth"].strftime("%d/%m/%Y") in text and not re.search(r"\d{4}-\d{2}-\d{2}", text)
    codes = [s.code for s in default_catalogue()]
    assert not [c for c in codes if re.search(rf"\b{c}\b", text)] and "Toán" in text and "Ngữ văn" in text
    assert re.search(r", ngày \d{1,2} tháng \d{1,2} năm \d{4}", text) and "....." not in text
    # The issued file is the rendering with this code and the QR code of this lookup address, signed.
    rendered, _ = documents.pdf(student, verification)
    assert pdf.content.startswith(rendered)
    assert documents.pdf(student, Verification(b"another secret", verification.public_url))[0] != rendered
    url = verification.lookup_url(demo.school, ident)
    assert url.startswith(f"{verification.portal()}?") and url.endswith("#tra-cuu")
    query = dict(parse_qsl(urlsplit(url).query))
    assert query == {"school": demo.school, "hocba_id": ident, "code": code}
    page = await api.get(urlsplit(url).path, params=query)
    assert page.status_code == 200
    for value in query.values():
        assert f'value="{value}"' in page.text  # the form is filled in; the family types the rest
    typed = {
        **query,
        "full_name": person["full_name"],
        "birth_date": person["date_of_birth"].isoformat(),
        "student_id": student,
    }
    found = await api.post("/api/v1/portal/lookup", json=typed)
    assert found.status_code == 200, found.text
    assert found.json()["issued"]["issuance_id"] == issuance["issuance"]


async def test_the_receipt_proves_this_document_is_the_one_issued(signers: Signers) -> None:
    """A receipt moved to another document, or a proof altered, no longer checks out."""
    from signing.xml import verify as xml_verify

    demo = signers.demo
    student = demo.rosters["6A1"][1]
    done = await signed_and_issued(signers, student)
    event, xml = done.event, done.xml
    roots, crls = signers.pki.roots(), [signers.pki.crl()]
    good = await xml_verify.verify_xml(xml, roots, crls)
    assert good.ok and good.receipt is not None and good.receipt["checkpoint_tree_size"] >= event.seq
    start = xml.index(b"<bn:BangChung>") + len(b"<bn:BangChung>")
    flipped = xml[:start] + (b"0" if xml[start : start + 1] != b"0" else b"1") + xml[start + 1 :]
    assert [f.code for f in (await xml_verify.verify_xml(flipped, roots, crls)).findings] == ["receipt.inclusion"]
    other = xml.replace(b'NoiO="', b'NoiO="X', 1) if b'NoiO="' in xml else xml.replace(b"<NhanXet>", b"<NhanXet>X", 1)
    codes = {f.code for f in (await xml_verify.verify_xml(other, roots, crls)).findings}
    assert "receipt.document" in codes


async def test_issuance_stands_on_the_signature_events_not_on_rows_of_the_read_model(
    signers: Signers, superuser: psycopg.Connection
) -> None:
    """Each signature is verified once, when submitted; issuance checks that the document's signatures
    are those the log recorded, over what they signed then. Someone with the database who puts a row
    into the signatures read model, not backed by its event, skips nothing: issuance is refused."""
    demo = signers.demo
    forged, other = demo.rosters["7A1"][:2]
    await sign_all(signers, forged)
    await sign_all(signers, other)
    table = "hocba_read.signatures"
    where = "school_id = %s AND year = %s AND student_id = %s AND role = 'HOMEROOM_TEACHER' AND seq_to IS NULL"
    [(theirs,)] = superuser.execute(f"SELECT element FROM {table} WHERE {where}", (demo.school, YEAR, other))
    [original] = superuser.execute(f"SELECT element, position FROM {table} WHERE {where}", (demo.school, YEAR, forged))
    # the other student's homeroom signature, valid in itself, put in place of this one's
    superuser.execute(f"UPDATE {table} SET element = %s WHERE {where}", (theirs, demo.school, YEAR, forged))
    await helpers.refused(demo.ledger, demo.school, "issuance.invalid", issuing(signers, forged))
    # a row pointing at a real event, of another student
    superuser.execute(
        f"UPDATE {table} SET element = (SELECT element FROM {table} WHERE {where}), "
        f"position = (SELECT position FROM {table} WHERE {where}) WHERE {where}",
        (demo.school, YEAR, other, demo.school, YEAR, other, demo.school, YEAR, forged),
    )
    await helpers.refused(demo.ledger, demo.school, "issuance.invalid", issuing(signers, forged))
    assert (await issuing(signers, other)()).type == "hocba.issued"
    # the read model edited behind the ledger no longer agrees with a replay of it; put back, it does
    assert [t.table for t in (await replay(demo.ledger.engine, PROJECTIONS, demo.school)).tables if not t.equal] == [
        "signatures"
    ]
    superuser.execute(
        f"UPDATE {table} SET element = %s, position = %s WHERE {where}", (*original, demo.school, YEAR, forged)
    )
    assert (await replay(demo.ledger.engine, PROJECTIONS, demo.school)).ok
