"""Leadership's inbox of correction requests, with approval and rejection (Điều 17.3)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect, Template

from api.http.scope import entry_of, runtime_of
from api.pages.staff import STATUSES, student_names
from api.pages.toolkit import (
    SCHOOL_PAGE,
    form_of,
    may,
    page,
    principal_or_none,
    refusal_message,
    render,
    roman,
    staff_names,
    text_of,
)
from api.v1.corrections import decide_correction
from api.v1.params import SchoolId
from ledger.app.db import AUDITOR_ROLE
from ledger.base.errors import DomainError, ValidationError
from ledger.log.projection import read
from ledger.school.corrections.queries import value_history
from ledger.school.corrections.tables import corrections
from ledger.school.years.tables import subjects


def _describe(target: dict[str, Any], subject_names: dict[str, str], text: dict[str, str]) -> str:
    if target["what"] == "conduct":
        return f"{text['what_conduct']}, {text['term'].lower()} {roman(target['term'])}"
    slot = f" {target['slot']}" if target.get("slot") else ""
    name = subject_names.get(target["subject"], target["subject"])
    return f"{name}, {text['term'].lower()} {roman(target['term'])}, {text[target['kind']]}{slot}"


async def _inbox(
    request: Request[Any, Any, Any], state: State, school: str, status: int = 200, **extra: Any
) -> Template:
    runtime = runtime_of(state)
    shown = request.query_params.get("trang-thai", "pending")
    filters: dict[str, Any] = {"status": shown} if shown in STATUSES else {}
    text = text_of(request)
    names = await staff_names(runtime, school)
    items = []
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        rows = await read(conn, corrections, school, order_by=["requested_at"], **filters)
        rows = list(reversed(rows))[:100]
        subject_names = {r["code"]: r["name"] for r in await read(conn, subjects, school)}
        student_ids = sorted({r["target"]["student"] for r in rows})
        names_of = await student_names(conn, school, student_ids)
        codes_of = await student_names(conn, school, student_ids, "ministry_code")  # the Mã học sinh
        for row in rows:
            target = row["target"]
            items.append(
                {
                    **row,
                    "id": str(row["request_id"]),
                    "what": _describe(target, subject_names, text),
                    "student_name": names_of.get(target["student"], target["student"]),
                    "student_code": codes_of.get(target["student"]) or "",
                    "requester": names.get(row["requested_by"], row["requested_by"]),
                    "decider": names.get(row["decided_by"] or "", row["decided_by"]),
                    "history": await value_history(conn, school, target),
                }
            )
    entry_of(request).touch(r["target"]["student"] for r in rows)
    return render(
        request,
        "inbox.html",
        "inbox",
        status,
        school=school,
        items=items,
        shown=shown,
        statuses=STATUSES,
        names=names,
        can_decide=may(principal_or_none(request), "correction.decide"),
        **extra,
    )


@get(SCHOOL_PAGE + "/dieu-chinh", operation_id="page_inbox", opt=page("correction.read"), include_in_schema=False)
async def inbox(request: Request[Any, Any, Any], state: State, school: SchoolId) -> Template:
    done = request.query_params.get("xong")
    notice = text_of(request).get(f"done_{done}") if done in ("approved", "rejected") else None
    return await _inbox(request, state, school, notice=notice)


@post(
    SCHOOL_PAGE + "/dieu-chinh/{request_id:uuid}",
    operation_id="page_decide",
    opt=page("correction.decide"),
    status_code=303,
    include_in_schema=False,
)
async def decide(
    request: Request[Any, Any, Any], state: State, school: SchoolId, request_id: FromPath[uuid.UUID]
) -> Response[Any]:
    form = await form_of(request)
    decision = form.get("decision")
    try:
        if decision not in ("approve", "reject"):
            raise ValidationError("decision.kind", "hãy chọn phê duyệt hoặc từ chối", "choose approve or reject")
        await decide_correction(request, state, school, request_id, decision == "approve", form.get("reason", ""))
    except DomainError as error:
        return await _inbox(request, state, school, error.status, **refusal_message(request, error))
    outcome = "approved" if decision == "approve" else "rejected"
    return Redirect(f"/truong/{school}/dieu-chinh?xong={outcome}", status_code=303)
