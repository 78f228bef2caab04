"""A class's year-end summary (tổng kết năm học; Điều 33.6, 34.4; TT22 Đ.9–14): for each pupil every
subject's year result in the học bạ's order, the learning and conduct results, lên lớp / kiểm tra lại /
rèn luyện hè / ở lại, and the awards; then the summer: each subject teacher enters the re-assessment
results of their subject, and the principal the conduct after summer training, through the same
commands, windows and refusals as the API. Printable."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from api.http.scope import actor_for, entry_of, ledger_of, principal_of, runtime_of
from api.pages.staff import CLASS_PAGE, class_subjects, need_year, roster_names
from api.pages.toolkit import counted, form_of, may, page, principal_or_none, refusal_message, render, text_of
from api.v1.params import ClassId, SchoolId, SubjectCode
from ledger.app.db import AUDITOR_ROLE
from ledger.base.errors import DomainError, NotFound
from ledger.school.assessments.commands import record_reassessments, record_summer_conduct
from ledger.school.rules.tt22 import Level
from ledger.school.transcripts.views import class_summary

YEAR_END_PAGE = CLASS_PAGE + "/tong-ket"
LEVELS = [level.value for level in Level]


async def _facts(
    request: Request[Any, Any, Any], state: State, school: str, class_id: str, subject: str | None = None
) -> dict[str, Any]:
    """The page's facts: the whole class's year, or with `subject` only the pupils re-assessed in it
    and their result in it (what its teacher may read: their own subject)."""
    runtime = runtime_of(state)
    year = need_year(request)
    subjects = await class_subjects(runtime, school, year, class_id)
    if subject is not None:
        subjects = [s for s in subjects if s["code"] == subject]
        if not subjects:
            raise NotFound("subject.unknown", f"lớp {class_id} không học môn {subject}", f"{class_id} has no {subject}")
    names = await roster_names(runtime, school, year, class_id)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        summary = await class_summary(conn, school, year, class_id)
    views = {str(v.student["student_id"]): v for v in summary.views}
    entry_of(request).touch(names)
    principal = principal_or_none(request)
    target = {"year": year, "class_id": class_id}
    pupils = []
    for sid, name in names.items():
        view = views.get(sid)
        if view is None:
            continue
        result = view.to_json()
        if subject is not None and subject not in view.reassessable:
            continue
        pupils.append(
            {
                "id": sid,
                "name": name,
                "subjects": {code: r for code, r in result["subjects"].items() if subject in (None, code)},
                "learning": result["learning"],
                "conduct": result["conduct"],
                "promotion": result["promotion"],
                "promotion_vi": result["promotion_vi"],  # as the học bạ writes it: "Được lên lớp"
                "award": result["award"],
                "award_vi": result["award_vi"],
                "reassess": [s for s in subjects if s["code"] in view.reassessable],
            }
        )
    return {
        "school": school,
        "class_id": class_id,
        "subjects": subjects,
        "pupils": pupils,
        # by subject, the pupils re-assessed in it after summer; then those in summer training
        "reassessing": [(s, due) for s in subjects if (due := [p for p in pupils if s in p["reassess"]])],
        "summer": [p for p in pupils if p["promotion"] == "summer_training" or p["conduct"].get("after_summer")],
        "levels": LEVELS,
        # who enters what after summer: each subject's teacher, and the principal for conduct
        "may_reassess": {
            s["code"]: may(principal, "reassessment.write", **target, subject=s["code"]) for s in subjects
        },
        "may_summer_conduct": subject is None and may(principal, "summer_conduct.write", **target),
        "page_path": f"/truong/{school}/lop/{class_id}/tong-ket",
        "roster": list(names),  # every pupil of the class, also those the page does not show
        "subject_only": subject,
    }


def _page(request: Request[Any, Any, Any], facts: dict[str, Any], status: int = 200, **extra: Any) -> Template:
    text = text_of(request)
    if facts["subject_only"]:
        subject = facts["subjects"][0]["name"]
        heading = f"{text['reassessment_page']} — {text['class']} {facts['class_id']}, {subject}"
    else:
        heading = f"{text['year_end']} — {text['class']} {facts['class_id']}"
    saved = counted(request, "luu")
    notice = None if saved is None else text["saved_year_end"] % saved
    return render(request, "year_end.html", "year_end", status, heading=heading, **{"notice": notice, **facts, **extra})


@get(YEAR_END_PAGE, operation_id="page_year_end", opt=page("class.read"), include_in_schema=False)
async def year_end_page(request: Request[Any, Any, Any], state: State, school: SchoolId, class_id: ClassId) -> Template:
    return _page(request, await _facts(request, state, school, class_id))


@get(
    YEAR_END_PAGE + "/kiem-tra-lai/{subject:str}",
    operation_id="page_reassessment",
    opt=page("reassessment.write"),
    include_in_schema=False,
)
async def reassessment_page(
    request: Request[Any, Any, Any], state: State, school: SchoolId, class_id: ClassId, subject: SubjectCode
) -> Template:
    """The subject teacher's summer re-assessment of their subject: the pupils re-assessed in it."""
    return _page(request, await _facts(request, state, school, class_id, subject))


@post(
    YEAR_END_PAGE + "/kiem-tra-lai/{subject:str}",
    operation_id="page_reassessment_save",
    opt=page("reassessment.write"),
    status_code=303,
    include_in_schema=False,
)
async def reassessment_save(
    request: Request[Any, Any, Any], state: State, school: SchoolId, class_id: ClassId, subject: SubjectCode
) -> Response[Any]:
    """The subject teacher's summer re-assessment results of their subject (TT22 Đ.12–14)."""
    form = await form_of(request)
    facts = await _facts(request, state, school, class_id, subject)
    # every pupil of the class typed for is sent: one not to be re-assessed is refused by name
    entries = [
        (sid, form[f"rt-{subject}-{sid}"].strip())
        for sid in facts["roster"]
        if (form.get(f"rt-{subject}-{sid}") or "").strip()
    ]
    return await _saved(request, state, facts, entries, form, subject)


@post(
    YEAR_END_PAGE + "/ren-luyen-he",
    operation_id="page_summer_conduct_save",
    opt=page("summer_conduct.write"),
    status_code=303,
    include_in_schema=False,
)
async def summer_conduct_save(
    request: Request[Any, Any, Any], state: State, school: SchoolId, class_id: ClassId
) -> Response[Any]:
    """The principal's conduct after summer training, on the homeroom teacher's proposal (TT22 Đ.12–14)."""
    form = await form_of(request)
    facts = await _facts(request, state, school, class_id)
    entries = [(p["id"], form[f"he-{p['id']}"]) for p in facts["pupils"] if form.get(f"he-{p['id']}")]
    return await _saved(request, state, facts, entries, form, None)


async def _saved(
    request: Request[Any, Any, Any],
    state: State,
    facts: dict[str, Any],
    entries: list[tuple[str, str]],
    form: dict[str, str],
    subject: str | None,
) -> Response[Any]:
    """Record the entries, all or none; a refusal is shown with the page and what was typed."""
    year, school, class_id = need_year(request), facts["school"], facts["class_id"]
    principal = principal_of(request)
    try:
        if subject is None:
            events = await record_summer_conduct(
                ledger_of(state),
                school,
                actor_for(principal, "PRINCIPAL"),
                year=year,
                class_id=class_id,
                entries=entries,
            )
        else:
            actor = actor_for(principal, "SUBJECT_TEACHER")
            events = await record_reassessments(
                ledger_of(state), school, actor, year=year, class_id=class_id, subject=subject, entries=entries
            )
    except DomainError as error:
        return _page(request, facts, error.status, typed=form, **refusal_message(request, error))
    back = facts["page_path"] + (f"/kiem-tra-lai/{subject}" if subject else "")
    return Redirect(f"{back}?year={year}&luu={len(events)}", status_code=303)
