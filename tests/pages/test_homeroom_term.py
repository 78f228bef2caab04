"""Điều 18.4 on the homeroom page and over the API: the homeroom teacher signs the class's term record,
refused (and the refusal in the access trail) while a pupil lacks conduct or a subject's sheet is not
signed by its teacher; a confirmation names what will be signed; a later change shows the signature
stale (⟳)."""

from __future__ import annotations

import base64
import re

import httpx
import pytest

from api.app import create_app
from api.pages.toolkit import staff_names
from ledger.app.demo import PRINCIPAL
from signing.xml import xades
from tests.support.helpers import head
from tests.support.web import TermSchool, bearer, csrf, lock_entry, sign_in, signed_sheets, trail

pytestmark = pytest.mark.slow


async def test_the_homeroom_teacher_signs_the_term_on_the_page_once_complete_dieu_18_4(term: TermSchool) -> None:
    school, year, pupils = term.school, term.demo.year, term.demo.rosters["6A1"]
    path = f"/truong/{school}/lop/6A1/chu-nhiem/hoc-ky/1?year={year}"
    status = f"/api/v1/schools/{school}/classes/6A1/terms/1/signature"
    transport = httpx.ASGITransport(app=create_app(term.runtime, scheduler=False), client=("10.40.0.21", 42000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hocba.test") as homeroom:
        await sign_in(homeroom, school, term.homeroom)
        page = await homeroom.get(path)
        assert page.status_code == 200 and "Kết quả học kì chưa được ký." in page.text
        assert 'id="term-missing"' in page.text and "Điều 18.4" in page.text and "Ký xác nhận học kì…" not in page.text
        assert "Ký xác nhận kết quả học kì" not in (await homeroom.get(path + "&xac-nhan=1")).text

        # Refused on the append path while incomplete; nothing appended, the refusal in the trail.
        before = await head(term.demo.ledger, school)
        early = await homeroom.post(path.replace("?", "/ky-hoc-ky?"), data={"csrf": csrf(page.text)})
        assert early.status_code == 409 and 'role="alert"' in early.text and "Điều 18.4" in early.text
        assert await head(term.demo.ledger, school) == before
        assert [e[2] for e in await trail(term) if e[0] == "page_homeroom_sign"] == ["class_term.incomplete"]
        headers = await bearer(homeroom, school, term.homeroom)
        problem = await homeroom.post(f"{status}/prepare", params={"year": year}, headers=headers)
        assert problem.status_code == 409 and problem.json()["code"] == "class_term.incomplete", problem.text
        assert problem.headers["content-type"].startswith("application/problem+json")
        state = (await homeroom.get(status, params={"year": year}, headers=headers)).json()
        assert state["signed"] is False and len(state["no_conduct"]) == len(pupils) and state["unsigned"]

        # Complete: every subject's sheet signed by its teacher, every pupil's conduct on the page.
        codes = await signed_sheets(term.demo, term.runtime.pki, lambda staff: term.runtime.demo_signer(school, staff))
        form = {"csrf": csrf(page.text), **{f"level-{s}": "Tốt" for s in pupils}}
        assert (await homeroom.post(path, data=form)).status_code == 303
        # complete, but the class's entry is still open: said on the page (Điều 18.4, 33.3c)
        waiting = (await homeroom.get(path)).text
        assert 'id="term-missing"' in waiting and "còn đến 23:59 ngày 22/01/2026" in waiting
        await lock_entry(term.demo, subject=None)  # the principal has entry of the class locked
        confirm = (await homeroom.get(path + "&xac-nhan=1")).text
        wanted = f"Ký xác nhận kết quả học kì I của lớp 6A1: {len(pupils)} học sinh, {len(codes)} môn học."
        assert wanted in confirm and 'role="alertdialog"' in confirm and "Toán" in confirm
        signed = await homeroom.post(path.replace("?", "/ky-hoc-ky?"), data={"csrf": csrf(confirm)})
        assert signed.status_code == 303, signed.text
        shown = (await homeroom.get(signed.headers["location"])).text
        name = (await staff_names(term.runtime, school))[term.homeroom]
        assert "Đã ký xác nhận kết quả học kì của lớp." in shown and f"✓ Kết quả học kì đã được ký bởi {name}" in shown
        assert await board_mark(term) == "✓"
        state = (await homeroom.get(status, params={"year": year}, headers=headers)).json()
        assert (state["signed"], state["stale"], state["signer"]) == (True, False, term.homeroom)

        # Entry opened again, a later change (sessions absent) leaves the signature stale.
        await lock_entry(term.demo, closed=False, subject=None)
        changed = await homeroom.post(path, data={**form, "csrf": csrf(shown), f"excused-{pupils[0]}": "2"})
        assert changed.status_code == 303
        assert "⟳ Kết quả học kì đã thay đổi sau khi ký; cần ký lại." in (await homeroom.get(path)).text
        state = (await homeroom.get(status, params={"year": year}, headers=headers)).json()
        assert (state["signed"], state["stale"]) == (False, True)
        assert await board_mark(term) == "⟳"

        # Locked again and signed again over the API, as the teacher's own signing software does it.
        await lock_entry(term.demo, subject=None)
        prepared = await homeroom.post(f"{status}/prepare", params={"year": year}, headers=headers)
        assert prepared.status_code == 200, prepared.text
        keys = term.runtime.demo_signer(school, term.homeroom)
        signed = xades.sign_prepared(
            base64.b64decode(prepared.json()["document"]),
            keys.key,
            keys.certificate,
            signing_time=term.demo.clock.now(),
        )
        body = {"document": base64.b64encode(signed).decode()}
        done = await homeroom.post(status, params={"year": year}, json=body, headers=headers)
        assert done.status_code == 201 and done.json()["digest"] == state["digest"], done.text
        assert (await homeroom.get(status, params={"year": year}, headers=headers)).json()["signed"] is True
    assert await board_mark(term) == "✓"


async def board_mark(term: TermSchool) -> str:
    """What the progress board shows of 6A1's term I signature by the homeroom teacher."""
    transport = httpx.ASGITransport(app=create_app(term.runtime, scheduler=False), client=("10.40.0.22", 42000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hocba.test") as principal:
        await sign_in(principal, term.school, PRINCIPAL.user)
        board = await principal.get(f"/truong/{term.school}/tien-do?year={term.demo.year}")
    found = re.search(r'chu-nhiem/hoc-ky/1\?year=[^"]+" aria-label="[^"]+">(?:<span title="[^"]+">)?(.)', board.text)
    assert board.status_code == 200 and found, board.text
    return found.group(1)
