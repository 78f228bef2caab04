"""The public verification portal (the regulation's Điều 2.14, 31): upload a file and get its report
and issuance status, look a record up with all five details, ask for lost files again; rate-limited
per address and recorded in the access trail."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from api.app import create_app
from audit.trail import access_index
from ledger.app.demo import CLERK, PRINCIPAL
from ledger.app.runtime import Runtime
from ledger.app.tokens import token_secret
from ledger.format.envelope import SERVICE_CHAIN
from ledger.log.projection import read
from ledger.school.issuance.commands import issue_hocba, revoke_hocba
from ledger.school.issuance.queries import lookup_code, stored_document
from ledger.school.issuance.tables import issued
from ledger.school.transcripts.views import class_summary
from ledger.school.years.tables import students
from tests.support.signers import YEAR, Signers, sign_everything, sign_pdf_as

PORTAL = "/api/v1/portal"


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str, list[str]]] = []

    async def send(self, school: str, student: str, phone: str, documents: Sequence[tuple[str, bytes]]) -> None:
        self.sent.append((school, student, phone, [name for name, _ in documents]))


ADDRESSES = itertools.count(1)


@pytest.fixture
async def portal(runtime: Runtime) -> AsyncIterator[tuple[httpx.AsyncClient, Recorder]]:
    """The service with a recording notifier, seen from an address of this test's own (the rate
    limit counts per address)."""
    recorder = Recorder()
    app = create_app(runtime, scheduler=False, notifier=recorder)
    address = f"10.20.0.{next(ADDRESSES)}"
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        yield client, recorder


async def issue_for(s: Signers, student: str) -> Any:
    await sign_everything(s, student)
    await sign_pdf_as(s, student, "PRINCIPAL")
    await sign_pdf_as(s, student, "ORGANISATION")
    return await issue_hocba(
        s.demo.ledger,
        s.demo.school,
        CLERK,
        YEAR,
        student,
        s.pki.roots(),
        [s.pki.crl()],
        s.service,
        verification=s.verification,
    )


async def test_upload_an_issued_file_then_see_it_revoked_dieu_31(signers: Signers, portal: Any) -> None:
    client, _ = portal
    demo = signers.demo
    async with demo.ledger.engine.connect() as conn:
        lists = (await class_summary(conn, demo.school, YEAR, "7A1")).to_json()["lists"]
    [student] = [s["student"] for s in lists["summer_training"]]  # revocable until 30 August
    event = await issue_for(signers, student)
    async with demo.ledger.engine.connect() as conn:
        [row] = await read(conn, issued, demo.school, issuance_id=event.payload["issuance"])
        xml = await stored_document(conn, demo.school, row["xml_sha256"])
        pdf = await stored_document(conn, demo.school, row["pdf_sha256"])
    for data, kind in ((xml, "application/xml"), (pdf, "application/pdf")):
        answer = (await client.post(f"{PORTAL}/verify", content=data, headers={"Content-Type": kind})).json()
        assert answer["report"]["ok"], answer["report"]
        assert (answer["issued"]["issuance_id"], answer["revoked"]) == (row["issuance_id"], False)
    checked = (await client.post(f"{PORTAL}/verify", content=xml)).json()
    assert checked["report"]["receipt"]["ok"]
    ledger = checked["ledger"]  # the receipt's tree against the school's events today (no witness here)
    assert (ledger["live"], ledger["ok"], ledger["witnesses"]) == ("contained", True, [])
    assert ledger["live_size"] >= ledger["tree_size"] == checked["report"]["receipt"]["checkpoint_tree_size"]
    tampered = xml.replace(b"<NhanXet>", b"<NhanXet>X", 1)
    answer = (await client.post(f"{PORTAL}/verify", content=tampered)).json()
    assert not answer["report"]["ok"] and answer["issued"] is None
    junk = (await client.post(f"{PORTAL}/verify", content=b"not a document")).json()
    assert [f["code"] for f in junk["report"]["findings"]] == ["file.kind"]
    empty = await client.post(f"{PORTAL}/verify", content=b"")
    assert empty.status_code == 422
    await revoke_hocba(demo.ledger, demo.school, PRINCIPAL, row["issuance_id"], "Sai sót điểm")
    answer = (await client.post(f"{PORTAL}/verify", content=xml)).json()
    assert answer["revoked"] is True and answer["issued"]["status"] == "revoked"


async def test_lookup_needs_all_five_details(signers: Signers, portal: Any, runtime: Runtime) -> None:
    client, _ = portal
    demo = signers.demo
    student = demo.rosters["8A1"][3]
    event = await issue_for(signers, student)
    async with demo.ledger.engine.connect() as conn:
        [person] = await read(conn, students, demo.school, student_id=student)
    code = runtime.verification().code(demo.school, event.payload["hocba_id"])  # the one the PDF prints
    good = {
        "school": demo.school,
        "hocba_id": event.payload["hocba_id"],
        "full_name": f"  {person['full_name'].upper()} ",
        "birth_date": person["date_of_birth"].isoformat(),
        "student_id": student,
        "code": code.lower(),
    }
    found = await client.post(f"{PORTAL}/lookup", json=good)
    assert found.status_code == 200, found.text
    assert found.json()["issued"]["issuance_id"] == event.payload["issuance"]
    for typed in (code.replace("-", ""), code.replace("-", " "), f" {code.lower().replace('-', '')} "):
        again = await client.post(f"{PORTAL}/lookup", json={**good, "code": typed})
        assert again.status_code == 200, typed  # with or without its hyphen, in any case
    # the code of this issuance given before the PDF printed the học bạ's own still finds it
    former = lookup_code(token_secret(runtime.settings), demo.school, event.payload["issuance"])
    assert (await client.post(f"{PORTAL}/lookup", json={**good, "code": former})).status_code == 200
    wrong_name = "Nguyễn Văn Khác" if person["full_name"] != "Nguyễn Văn Khác" else "Trần Thị Khác"
    for field, value in (
        ("full_name", wrong_name),
        ("birth_date", "2000-01-01"),
        ("code", "AAAAA-BBBBB"),
        ("hocba_id", "kp-other"),
    ):
        answer = await client.post(f"{PORTAL}/lookup", json={**good, field: value})
        assert answer.status_code == 404, field
        assert "five" in answer.json()["detail"]  # never says which detail was wrong


async def test_lost_files_go_only_to_the_registered_phone(signers: Signers, portal: Any) -> None:
    client, recorder = portal
    demo = signers.demo
    student = demo.rosters["9A1"][3]
    await issue_for(signers, student)
    async with demo.ledger.engine.connect() as conn:
        [person] = await read(conn, students, demo.school, student_id=student)
    phone = person["guardians"][0]["phone"]
    wrong = await client.post(
        f"{PORTAL}/resend", json={"school": demo.school, "student_id": student, "phone": "0900000001"}
    )
    right = await client.post(
        f"{PORTAL}/resend", json={"school": demo.school, "student_id": student, "phone": "+84 " + phone[1:]}
    )
    assert wrong.status_code == right.status_code == 202 and wrong.json() == right.json()
    assert recorder.sent == [
        (demo.school, student, phone, [f"{demo.school}-{YEAR}-{student}.xml", f"{demo.school}-{YEAR}-{student}.pdf"])
    ]


async def test_the_addresses_of_one_ipv6_network_share_the_portal_limit_dieu_20(runtime: Runtime) -> None:
    """One subscriber holds a whole /64: changing address inside it does not buy more attempts, while
    another network keeps its own count."""
    app = create_app(runtime, scheduler=False, notifier=Recorder())
    network = f"2001:db8:{next(ADDRESSES):x}:1"
    attempt = {"school": "kp-none", "hocba_id": "x", "full_name": "A", "birth_date": "2013-01-01"}
    attempt |= {"student_id": "037313000001", "code": "AAAAA-BBBBB"}

    async def ask(address: str) -> int:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
            return (await client.post(f"{PORTAL}/lookup", json=attempt)).status_code

    statuses = [await ask(f"{network}::{index:x}") for index in range(1, 32)]
    assert statuses == [404] * 30 + [429]
    assert await ask(f"{network}:ffff:ffff:ffff:ffff") == 429
    assert await ask(f"2001:db8:{next(ADDRESSES):x}:2::1") == 404


async def test_the_portal_is_rate_limited_per_address_and_every_attempt_is_recorded(
    portal: Any, app_engine: Any
) -> None:
    client, _ = portal
    attempt = {
        "school": "kp-none",
        "hocba_id": "x",
        "full_name": "A",
        "birth_date": "2013-01-01",
        "student_id": "037313000001",
        "code": "AAAAA-BBBBB",
    }
    statuses = [(await client.post(f"{PORTAL}/lookup", json=attempt)).status_code for _ in range(31)]
    assert statuses == [404] * 30 + [429]
    t = access_index
    async with app_engine.connect() as conn:
        rows = (
            await conn.execute(
                select(t.c.outcome, t.c.reason)
                .where(t.c.school_id == SERVICE_CHAIN, t.c.action == "portal_lookup", t.c.seq_to.is_(None))
                .order_by(t.c.entry.desc())
                .limit(2)
            )
        ).all()
    assert [tuple(r) for r in rows] == [("denied", "portal.rate_limited"), ("refused", "portal.no_match")]
