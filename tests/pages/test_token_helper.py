"""A teacher signs their subject in every học bạ of a class from the grade sheet with their USB token
(SoftHSM2 here) through the local signing helper (`hocba signing helper`, a real process on
loopback), as the page's script does it: the service prepares the batch with a nonce, the helper
signs it all with one PIN login, the service checks and records it all (Điều 8, 12, 18). The helper
answers the service's own pages only."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from ledger.app.runtime import Runtime
from ledger.base.clock import VN_TZ
from ledger.base.settings import Settings
from ledger.school.signatures.commands import prepare_signatures
from ledger.school.signatures.queries import current_signatures
from signing.xml import document as hocba_xml
from tests.support.helpers import head
from tests.support.signers import YEAR, Signers
from tests.support.tokens import PIN, signing_helper, token_with
from tests.support.web import accounts, csrf, service_for, sheet_path, sign_in

pytestmark = pytest.mark.slow

ORIGIN = "http://hocba.test"


def client_of(runtime: Runtime, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(runtime, scheduler=False), client=(address, 42000))
    return httpx.AsyncClient(transport=transport, base_url=ORIGIN)


@pytest.fixture
def token_helper(signers: Signers, env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """The Toán teacher's token, and the helper serving it to the service's pages; its address."""
    s = signers
    keys = s.people[s.demo.subject_teachers["TOAN"]]
    label = f"gv-{s.demo.school[-8:]}"
    token = token_with(keys.key, keys.certificate, label, tmp_path)  # type: ignore[arg-type]
    with signing_helper(token, ORIGIN, env) as address:
        yield address


async def _batch(page: httpx.AsyncClient, school: str, confirm: str) -> tuple[dict[str, str], dict[str, object]]:
    """What the page's script sends to the service for the batch, and the batch."""
    form = {"csrf": csrf(confirm), "role": "SUBJECT_TEACHER", "subject": "TOAN"}
    form["students"] = confirm.split('name="students" value="')[1].split('"')[0]
    answer = await page.post(f"/truong/{school}/lop/6A1/ky-usb/chuan-bi?year={YEAR}", data=form)
    assert answer.status_code == 200, answer.text
    return form, answer.json()


async def test_a_class_is_signed_with_a_usb_token_through_the_local_helper_with_one_pin_dieu_8_18(
    signers: Signers, settings: Settings, token_helper: str
) -> None:
    s = signers
    demo, school = s.demo, s.demo.school
    teacher = demo.subject_teachers["TOAN"]
    pupils = sorted(demo.rosters["6A1"])
    # the helper signs on the computer's clock (the year is over); the school's clock stands a few
    # minutes ahead, so that the signatures made while the test runs are not in its future
    demo.clock.set(datetime.now(VN_TZ) + timedelta(minutes=5))
    runtime = await service_for(demo, settings, s.people)
    await accounts(runtime, demo, [teacher])
    sheet = sheet_path(school, term=2)
    async with client_of(runtime, "10.42.0.1") as page, httpx.AsyncClient(timeout=60) as local:
        await sign_in(page, school, teacher)
        confirm = (
            await page.post(sheet.replace("?", "/ky-hoc-ba?"), data={"csrf": csrf((await page.get(sheet)).text)})
        ).text
        assert "Ký bằng USB token" in confirm and 'name="token-pin" type="password"' in confirm
        form, batch = await _batch(page, school, confirm)
        documents = batch["documents"]
        assert isinstance(documents, list) and sorted(d["student"] for d in documents) == pupils
        # the same prepared documents as the API's class route: the subject alone (Điều 8, 18)
        async with demo.ledger.engine.connect() as conn:
            api = await prepare_signatures(conn, school, YEAR, pupils, "SUBJECT_TEACHER", "TOAN", demo.clock.now())
        handed = {d["student"]: base64.b64decode(d["document"]) for d in documents}

        def shape(data: bytes) -> list[tuple[str, str | None]]:  # every element, and its text (the ids are fresh)
            return [(str(e.tag), e.text) for e in hocba_xml.parse(data).iter() if "ChuKy" not in str(e.tag)]

        assert all(shape(handed[p["student"]]) == shape(p["document"]) for p in api)
        subjects = [e.get("Ma") for e in hocba_xml.parse(handed[pupils[0]]).iter(hocba_xml.tag("MonHoc"))]
        assert subjects == ["TOAN"]

        # another web site open in the browser gets nothing from the helper, nor does a request without Origin
        request = {"nonce": batch["nonce"], "pin": PIN, "documents": documents}
        for headers in ({"Origin": "http://trang-la.example"}, {"Origin": "null"}, {}):
            foreign = await local.post(token_helper, json=request, headers=headers)
            assert foreign.status_code == 403 and "access-control-allow-origin" not in foreign.headers
        preflight = await local.options(
            token_helper, headers={"Origin": "http://trang-la.example", "Access-Control-Request-Method": "POST"}
        )
        assert preflight.status_code == 403 and "access-control-allow-origin" not in preflight.headers
        ours = await local.options(token_helper, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
        assert ours.status_code == 204 and ours.headers["access-control-allow-origin"] == ORIGIN
        # no signing without the PIN, nor with a wrong one
        assert (
            await local.post(token_helper, json={**request, "pin": ""}, headers={"Origin": ORIGIN})
        ).status_code == 400
        wrong = await local.post(token_helper, json={**request, "pin": "0000"}, headers={"Origin": ORIGIN})
        assert wrong.status_code == 401 and "mã PIN sai" in wrong.json()["message_vi"]

        form, batch = await _batch(page, school, confirm)  # a fresh batch: a nonce is signed once
        request = {"nonce": batch["nonce"], "pin": PIN, "documents": batch["documents"]}
        signed = await local.post(token_helper, json=request, headers={"Origin": ORIGIN})
        assert signed.status_code == 200 and signed.headers["access-control-allow-origin"] == ORIGIN, signed.text
        result = signed.json()
        assert result["logins"] == 1 and len(result["documents"]) == len(pupils)  # one PIN login for the class
        again = await local.post(token_helper, json=request, headers={"Origin": ORIGIN})
        assert again.status_code == 409

        submit = f"/truong/{school}/lop/6A1/ky-usb/gui?year={YEAR}"
        back = {**form, "documents": json.dumps(result["documents"])}
        before = await head(demo.ledger, school)
        forged = await page.post(submit, data={**back, "nonce": batch["nonce"][:-4] + "0000"})
        assert forged.status_code == 403 and await head(demo.ledger, school) == before
        other_class = await page.post(submit.replace("6A1", "6A2"), data={**back, "nonce": batch["nonce"]})
        assert other_class.status_code in (403, 422) and await head(demo.ledger, school) == before
        done = await page.post(submit, data={**back, "nonce": batch["nonce"]})
        assert done.status_code == 200 and done.json() == {"count": len(pupils)}, done.text
    async with demo.ledger.engine.connect() as conn:
        for pupil in pupils:
            rows = await current_signatures(conn, school, YEAR, pupil)
            assert [(r["role"], r["subject"]) for r in rows] == [("SUBJECT_TEACHER", "TOAN")]
