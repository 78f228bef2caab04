"""The integration API for the provincial and national repositories and other schools (the
regulation's Điều 21–24, 30): a change feed a client checks against signed checkpoints with
consistency proofs, issued học bạ by personal identifier, and signed JSON projections."""

from __future__ import annotations

import base64
import json
import re
from datetime import date
from typing import Any

import httpx
import pytest

from ledger.app.demo import PRINCIPAL, DemoSchool
from ledger.app.runtime import Runtime
from ledger.format import merkle
from ledger.format.checkpoint import Checkpoint
from ledger.format.envelope import event_hash
from ledger.school.readmodels import school_ledger
from ledger.school.rules.disclosure import without_contacts
from ledger.school.rules.roles import Role
from ledger.school.years.commands import make_assignments
from ledger.school.years.model import Assignment
from signing import jws
from signing.x509.checkpoints import checkpoint_problems
from tests.support.helpers import SETUP_PRINCIPAL
from tests.support.signers import YEAR, Signers, sign_everything, sign_pdf_as

V1 = "/api/v1"


async def read_feed(api: httpx.AsyncClient, school: str, headers: dict[str, str], **params: Any) -> list[Any]:
    pages, after = [], params.pop("after", 0)
    while True:
        page = (await api.get(f"{V1}/schools/{school}/feed", params={"after": after, **params}, headers=headers)).json()
        pages.append(page)
        if page["next"] is None:
            return pages
        after = page["next"]


async def test_the_feed_is_checked_by_the_client_against_signed_checkpoints(
    api: httpx.AsyncClient, demo: DemoSchool, tokens: Any, runtime: Runtime
) -> None:
    client = tokens["INTEGRATION"]
    first = await runtime.checkpoint(demo.school)
    assert first is not None
    pages = await read_feed(api, demo.school, client, limit=400)
    events = [e for page in pages for e in page["events"]]
    checkpoint = Checkpoint.from_json(pages[-1]["checkpoint"])
    assert checkpoint_problems(checkpoint, runtime.trusted_roots()) == []
    assert [e["seq"] for e in events] == list(range(1, checkpoint.tree_size + 1))
    prev = bytes(32)
    for event in events:  # the client recomputes the chain from the bodies it receives
        assert bytes.fromhex(event["prev_hash"]) == prev
        if event["body"] is not None:
            assert event_hash(prev, base64.b64decode(event["body"])) == bytes.fromhex(event["hash"])
        prev = bytes.fromhex(event["hash"])
    assert merkle.root([bytes.fromhex(e["hash"]) for e in events]) == checkpoint.root
    # Families' and staff's contacts never leave the school (Điều 6.3): those bodies are withheld,
    # their contact-free view sent; nothing sent holds a phone number, a guardian or an address.
    withheld = [e for e in events if e["body"] is None]
    assert {e["view"]["type"] for e in withheld} >= {"student.registered", "staff.registered"}
    assert all("payload.guardians" in e["withheld"] for e in withheld if e["view"]["type"] == "student.registered")
    sent = [e.get("view") or json.loads(base64.b64decode(e["body"])) for e in events]
    assert without_contacts(sent)[1] == []  # no guardian, phone number, e-mail or address, anywhere
    assert not re.search(r"\b0[35789]\d{8}\b", json.dumps(sent))
    # what the Sở needs still arrives: names, classes, results
    assert demo.names[demo.rosters["6A1"][0]] in json.dumps(sent, ensure_ascii=False)

    # The school's ledger grows; the client asks for what is new and for proof that the new tree
    # extends the one it holds.
    ledger = school_ledger(runtime.engine(), clock=runtime.clock)
    await make_assignments(ledger, demo.school, PRINCIPAL, [Assignment("gv.tinhoc08", Role.CLERK, date(2026, 8, 1))])
    second = await runtime.checkpoint(demo.school)
    assert second is not None and second.tree_size > checkpoint.tree_size
    [page] = await read_feed(api, demo.school, client, after=checkpoint.tree_size, known=checkpoint.tree_size)
    newer = Checkpoint.from_json(page["checkpoint"])
    proof = [bytes.fromhex(node) for node in page["consistency"]["proof"]]
    assert merkle.verify_consistency(checkpoint.tree_size, newer.tree_size, checkpoint.root, newer.root, proof)
    assert [e["seq"] for e in page["events"]] == list(range(checkpoint.tree_size + 1, newer.tree_size + 1))
    too_far = await api.get(f"{V1}/schools/{demo.school}/feed", params={"known": newer.tree_size + 5}, headers=client)
    assert too_far.status_code == 422 and too_far.json()["field"] == "known"
    assert (await api.get(f"{V1}/schools/{demo.school}/feed", headers=tokens["CLERK"])).status_code == 403


async def test_a_signed_projection_of_a_student_year_verifies_with_the_root(
    api: httpx.AsyncClient, demo: DemoSchool, tokens: Any, runtime: Runtime
) -> None:
    student = demo.rosters["7A1"][1]
    answer = await api.get(
        f"{V1}/schools/{demo.school}/students/{student}/record.jws",
        params={"year": demo.year},
        headers=tokens["INTEGRATION"],
    )
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/jose")
    payload = jws.verify(answer.text, runtime.trusted_roots(), demo.school, runtime.clock.now())
    assert (payload["student"], payload["year"]) == (student, demo.year)
    assert payload["record"]["student"]["student_id"] == student and payload["checkpoint"]["tree_size"] > 0
    assert "guardians" not in payload["record"]["student"]  # the family's contacts stay at the school (Điều 6.3)
    head, body, signature = answer.text.split(".")
    forged = base64.urlsafe_b64encode(base64.urlsafe_b64decode(body + "==").replace(b'"7A1"', b'"7A2"'))
    with pytest.raises(jws.JwsError, match="does not verify"):
        jws.verify(
            f"{head}.{forged.rstrip(b'=').decode()}.{signature}",
            runtime.trusted_roots(),
            demo.school,
            runtime.clock.now(),
        )
    with pytest.raises(jws.JwsError):
        jws.verify(answer.text, runtime.trusted_roots(), "another-school", runtime.clock.now())


async def test_issued_hoc_ba_by_personal_identifier_for_an_integration_client(
    signers: Signers, api: httpx.AsyncClient, runtime: Runtime
) -> None:
    from ledger.app.demo import CLERK
    from ledger.school.accounts.commands import create_account
    from ledger.school.issuance.commands import issue_hocba
    from ledger.school.rules.policy import AccountKind
    from signing.xml import verify as xml_verify

    demo = signers.demo
    student = demo.rosters["6A1"][2]
    await sign_everything(signers, student)
    await sign_pdf_as(signers, student, "PRINCIPAL")
    await sign_pdf_as(signers, student, "ORGANISATION")
    event = await issue_hocba(
        demo.ledger,
        demo.school,
        CLERK,
        YEAR,
        student,
        signers.pki.roots(),
        [signers.pki.crl()],
        signers.service,
        verification=signers.verification,
    )
    made = await create_account(
        school_ledger(runtime.engine(), clock=runtime.clock),
        demo.school,
        "so-gddt",
        AccountKind.INTEGRATION,
        actor=SETUP_PRINCIPAL,
    )
    client = {"Authorization": f"ApiKey {made.api_key}"}
    base = f"{V1}/schools/{demo.school}/students/{student}/issued"
    [item] = (await api.get(base, headers=client)).json()["items"]
    assert (item["issuance_id"], item["status"]) == (event.payload["issuance"], "issued")
    xml = await api.get(f"{base}/{item['issuance_id']}", params={"format": "xml"}, headers=client)
    pdf = await api.get(f"{base}/{item['issuance_id']}", params={"format": "pdf"}, headers=client)
    import hashlib

    assert hashlib.sha256(xml.content).hexdigest() == item["xml_sha256"]
    assert hashlib.sha256(pdf.content).hexdigest() == item["pdf_sha256"]
    report = await xml_verify.verify_xml(xml.content, signers.pki.roots(), [signers.pki.crl()])
    assert report.ok and report.receipt is not None and report.receipt["issuance"] == item["issuance_id"]
    other = demo.rosters["6A1"][3]
    missing = await api.get(f"{V1}/schools/{demo.school}/students/{other}/issued/{item['issuance_id']}", headers=client)
    assert missing.status_code == 404
