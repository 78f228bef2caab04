"""The homeroom teacher's page of a class and term (Điều 34.1, 34.6; TT22 Đ.8): each pupil's conduct
(kết quả rèn luyện), sessions absent with and without leave, and the homeroom comment, for the term
and, in term II, for the year. Saved through the same commands as the API, each refusal shown with
what was and was not saved. Then the homeroom teacher signs the class's term record (Điều 18.4): a
confirmation names what will be signed, and the signature is made with the account's demo key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from api.http.scope import actor_for, entry_of, ledger_of, principal_of, runtime_of
from api.pages.keys import remote_offered, signed_one
from api.pages.staff import CLASS_PAGE, need_year, roster_names, student_names
from api.pages.toolkit import (
    counted,
    form_of,
    here,
    lang_of,
    may,
    page,
    refusal_message,
    render,
    roman,
    staff_names,
    text_of,
)
from api.v1.homeroom import term_signed
from api.v1.params import ClassId, SchoolId, Term
from ledger.app.db import AUDITOR_ROLE
from ledger.base.errors import DomainError
from ledger.format.envelope import Event
from ledger.log.projection import read
from ledger.school.assessments.commands import record_absences, record_conduct, record_homeroom_comments
from ledger.school.assessments.tables import absences, conduct, homeroom_comments
from ledger.school.calendar.model import Calendar
from ledger.school.calendar.tables import calendars
from ledger.school.class_sheets.commands import prepare_term, term_refusal
from ledger.school.class_sheets.queries import signature_status
from ledger.school.class_sheets.terms import periods, summary, term_document
from ledger.school.rules.tt22 import Level

HOMEROOM_PAGE = CLASS_PAGE + "/chu-nhiem/hoc-ky/{term:str}"
LEVELS = [level.value for level in Level]


async def _facts(
    request: Request[Any, Any, Any], state: State, school: str, class_id: str, term: int
) -> dict[str, Any]:
    runtime = runtime_of(state)
    year = need_year(request)
    names = await roster_names(runtime, school, year, class_id)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        levels = {r["student_id"]: r["level"] for r in await read(conn, conduct, school, year=year, term=term)}
        absent = {
            r["student_id"]: (r["excused"], r["unexcused"])
            for r in await read(conn, absences, school, year=year, term=term)
        }
        comments = {
            (r["student_id"], r["period"]): r["text"]
            for period in periods(term)
            for r in await read(conn, homeroom_comments, school, year=year, period=period)
        }
        codes = await student_names(conn, school, list(names), "ministry_code")
        record, signed = await term_document(conn, school, year, class_id, term)
        missing = await term_refusal(conn, school, year, class_id, record[0], runtime.clock.now())
        calendar_rows = await read(conn, calendars, school, year=year)
    final = Calendar.from_payload(calendar_rows[0]["calendar"]).final if calendar_rows else None
    entry_of(request).touch(names)
    target = {"year": year, "class_id": class_id}
    signature = signature_status(record, signed)
    if signature["signer"]:  # the signer by name, as the school knows them
        signature["signer"] = (await staff_names(runtime, school)).get(signature["signer"], signature["signer"])
    return {
        "school": school,
        "class_id": class_id,
        "term": term,
        "names": names,
        "codes": codes,
        "levels": levels,
        "absent": absent,
        "comments": comments,
        "periods": periods(term),
        "choices": LEVELS,
        "can_write": may(principal_of(request), "homeroom.write", **target),
        # after the final date nothing changes (Điều 25.3): the page is only read, and says so
        "final_passed": final if final is not None and runtime.clock.now() > final else None,
        "signature": signature,
        "record": summary(record[0]),
        # what the record still lacks before it is signed (Điều 18.4), in the page's language
        "missing": None if missing is None else missing.vi if lang_of(request) == "vi" else missing.en,
    }


def _title(facts: dict[str, Any], text: dict[str, str]) -> str:
    return f"{text['homeroom_page']} — {text['class']} {facts['class_id']}, {text['term']} {roman(facts['term'])}"


@get(HOMEROOM_PAGE, operation_id="page_homeroom", opt=page("class.read"), include_in_schema=False)
async def homeroom_page(
    request: Request[Any, Any, Any], state: State, school: SchoolId, class_id: ClassId, term: Term
) -> Template:
    facts = await _facts(request, state, school, class_id, term)
    saved, text = counted(request, "luu"), text_of(request)
    notice = (
        text["term_signed_notice"]
        if counted(request, "ky") is not None
        else None
        if saved is None
        else text["nothing_changed_homeroom"]
        if saved == "0"
        else text["saved_homeroom"] % saved
    )
    # The confirmation before signing (?xac-nhan): offered only when there is something to sign.
    confirm = "xac-nhan" in request.query_params and facts["can_write"] and not facts["signature"]["signed"]
    remote = remote_offered(runtime_of(state))
    return _page(request, facts, notice=notice, confirm=confirm and facts["missing"] is None, remote=remote)


def _page(request: Request[Any, Any, Any], facts: dict[str, Any], status: int = 200, **extra: Any) -> Template:
    """The homeroom page of `facts`, with a notice, a refusal or what was typed (`extra`)."""
    return render(
        request, "homeroom.html", "homeroom_page", status, heading=_title(facts, text_of(request)), **{**facts, **extra}
    )


def _changes(form: dict[str, str], facts: dict[str, Any]) -> dict[str, list[tuple[Any, ...]]]:
    """What the form changes, by part: conduct levels, absences, and each period's comments."""
    pupils = list(facts["names"])
    field = form.get
    levels = facts["levels"]
    changes: dict[str, list[tuple[Any, ...]]] = {
        "level": [(s, field(f"level-{s}")) for s in pupils if field(f"level-{s}") not in (None, "", levels.get(s))],
        "absences": [],
    }
    for s in pupils:
        typed = (field(f"excused-{s}") or "0", field(f"unexcused-{s}") or "0")
        recorded = tuple(str(n) for n in facts["absent"].get(s, (0, 0)))
        # Fields emptied over a recorded count mean no sessions missed: 0, as typed.
        if (field(f"excused-{s}") or field(f"unexcused-{s}") or s in facts["absent"]) and typed != recorded:
            changes["absences"].append((s, *(int(n) if n.isdigit() else n for n in typed)))
    for period in facts["periods"]:
        written = [(s, field(f"comment-{period}-{s}")) for s in pupils]
        changes[period] = [(s, t) for s, t in written if t and t != facts["comments"].get((s, period))]
    changes["cleared"] = [
        (s, period)
        for period in facts["periods"]
        for s in pupils
        if (s, period) in facts["comments"] and not (field(f"comment-{period}-{s}") or "").strip()
    ]
    return changes


@post(
    HOMEROOM_PAGE,
    operation_id="page_homeroom_save",
    opt=page("homeroom.write"),
    status_code=303,
    include_in_schema=False,
)
async def homeroom_save(
    request: Request[Any, Any, Any], state: State, school: SchoolId, class_id: ClassId, term: Term
) -> Response[Any]:
    """Conduct, then absences, then comments, each only where it changed. A refused part appends
    nothing of its own; the page says which parts were saved before it and which were not."""
    form = await form_of(request)
    facts = await _facts(request, state, school, class_id, term)
    year, changes = need_year(request), _changes(form, facts)
    text = text_of(request)
    if changes["cleared"]:  # a recorded comment is rewritten, never erased (Điều 34.6)
        names = ", ".join(facts["names"][s] for s, _ in changes["cleared"])
        return _page(request, facts, 422, typed=form, unsaved_note=text["comment_cleared"] % names)
    ledger, actor = ledger_of(state), actor_for(principal_of(request), "HOMEROOM_TEACHER")
    parts: list[tuple[str, Callable[[], Awaitable[list[Event]]]]] = []
    if changes["level"]:
        levels = changes["level"]
        parts.append(
            (
                "part_conduct",
                lambda: record_conduct(ledger, school, actor, year=year, term=term, class_id=class_id, entries=levels),
            )
        )
    if changes["absences"]:
        counts = changes["absences"]
        parts.append(
            (
                "part_absences",
                lambda: record_absences(ledger, school, actor, year=year, term=term, class_id=class_id, entries=counts),
            )
        )
    for period in facts["periods"]:
        if changes[period]:

            def comments(period: str = period, written: list[Any] = changes[period]) -> Awaitable[list[Event]]:
                return record_homeroom_comments(
                    ledger, school, actor, year=year, period=period, class_id=class_id, entries=written
                )

            parts.append(("part_comments", comments))
    saved = 0
    for done, (_name, write) in enumerate(parts):
        try:
            saved += len(await write())
        except DomainError as error:
            before = ", ".join(text[name] for name, _ in parts[:done]) or text["nothing_word"]
            after = ", ".join(text[name] for name, _ in parts[done:])
            fresh = await _facts(request, state, school, class_id, term)
            return _page(
                request,
                fresh,
                error.status,
                typed=form,
                unsaved_note=text["homeroom_partly"] % (before, after),
                **refusal_message(request, error),
            )
    return Redirect(here(request, luu=str(saved)), status_code=303)


@post(
    HOMEROOM_PAGE + "/ky-hoc-ky",
    operation_id="page_homeroom_sign",
    opt=page("homeroom.write"),
    status_code=303,
    include_in_schema=False,
)
async def homeroom_sign(
    request: Request[Any, Any, Any], state: State, school: SchoolId, class_id: ClassId, term: Term
) -> Response[Any]:
    """The homeroom teacher signs the class's term record (Điều 18.4): prepare → demo signer → submit,
    refused, with what is missing, while the record is incomplete."""
    form = await form_of(request)
    runtime = runtime_of(state)
    year = need_year(request)
    try:
        async with runtime.engine(AUDITOR_ROLE).connect() as conn:
            prepared = await prepare_term(conn, school, year, class_id, term, runtime.clock.now())
        signed = await signed_one(request, state, school, form, prepared)
        await term_signed(request, state, school, class_id, term, year, signed)
    except DomainError as error:
        facts = await _facts(request, state, school, class_id, term)
        return _page(request, facts, error.status, **refusal_message(request, error))
    return Redirect(f"/truong/{school}/lop/{class_id}/chu-nhiem/hoc-ky/{term}?year={year}&ky=1", status_code=303)
