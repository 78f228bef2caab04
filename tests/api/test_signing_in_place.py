"""Signing in a departed teacher's place over HTTP (Điều 18.5, 18.7): the request names whose part it
is and the decision; a refusal is problem+json citing the articles, lands in the school's access
trail, and leaves the ledger as it was."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.app.demo import DemoSchool
from tests.api.test_api import V1, entries, last_entry
from tests.support import helpers


async def test_signing_in_place_of_a_teacher_still_in_post_is_refused_and_recorded_dieu_18_5_18_7(
    api: httpx.AsyncClient, app_engine: AsyncEngine, demo: DemoSchool, tokens: Any
) -> None:
    student = demo.rosters["6A1"][2]
    prepare = f"{V1}/schools/{demo.school}/students/{student}/signatures/prepare?year={demo.year}"
    toan, ngu_van = demo.subject_teachers["TOAN"], demo.subject_teachers["NGU_VAN"]
    head = await helpers.head(demo.ledger, demo.school)
    cases: list[tuple[str, dict[str, str | None], int, str]] = [
        # the Toán teacher is still in post: they sign themselves
        ("PRINCIPAL", {"on_behalf_of": toan}, 409, "signature.substitute_still_assigned"),
        # the literature teacher never held Toán of 6A1
        ("PRINCIPAL", {"on_behalf_of": ngu_van}, 409, "signature.substitute_not_held"),
        # a teacher who is not the principal and does not hold Toán of the class
        ("HOMEROOM_TEACHER", {"on_behalf_of": toan}, 403, "signature.role"),
        # a substitution names its decision
        ("PRINCIPAL", {"on_behalf_of": toan, "decision": None}, 422, "text.required"),
    ]
    for role, extra, status, code in cases:
        body: dict[str, str | None] = {
            "role": "SUBJECT_TEACHER",
            "subject": "TOAN",
            "decision": "Quyết định số 21/QĐ-THCS",
            **extra,
        }
        before = await entries(app_engine, demo.school)
        answer = await api.post(prepare, json=body, headers=tokens[role])
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        problem = answer.json()
        assert problem["code"] == code and problem["detail_vi"], problem
        if status == 409:
            assert "Điều 18.5, 18.7" in str(problem.get("rule")), problem
        assert await entries(app_engine, demo.school) == before + 1
        entry = await last_entry(app_engine, demo.school)
        assert entry["outcome"] == ("denied" if status == 403 else "refused")
    assert await helpers.head(demo.ledger, demo.school) == head
