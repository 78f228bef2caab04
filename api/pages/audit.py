"""The auditors' pages: the ledger's status and verification, the timeline of a student or a class with
replay as of a date, the access log and alerts, and a class's charts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.response import Template

from api.http.scope import entry_of, runtime_of, year_of
from api.pages.charts import BAND_COLOURS, LEVEL_COLOURS, LEVELS, SCORE_BANDS, level_rows, score_rows, stacked_bars
from api.pages.staff import CLASS_PAGE, class_subjects, student_names
from api.pages.text import EVENTS, OPERATIONS, ROLES
from api.pages.toolkit import (
    SCHOOL_PAGE,
    day,
    form_of,
    lang_of,
    page,
    render,
    score,
    staff_names,
    text_of,
    when,
)
from api.v1.params import ClassId, SchoolId
from audit.trail import query_access, query_alerts, verifications
from ledger.app.db import AUDITOR_ROLE
from ledger.app.jobs import nightly_verification
from ledger.base.clock import VN_TZ
from ledger.base.errors import DomainError, ValidationError
from ledger.format.envelope import Event
from ledger.log import store
from ledger.log.projection import read
from ledger.log.schema import ACCESS
from ledger.log.schema import EVENTS as EVENT_CHAIN
from ledger.school.assessments.tables import assessments
from ledger.school.calendar.tables import reopenings
from ledger.school.rules import identity
from ledger.school.transcripts.views import class_summary, load_student_year
from ledger.school.years.tables import subjects

AUDIT_PAGE = SCHOOL_PAGE + "/kiem-toan"
OUTCOMES = ("allowed", "denied", "refused", "failed")
# Payload fields too long or too technical to show in a timeline row.
HIDDEN_FIELDS = {"element", "document", "digests", "parts", "der", "receipt", "leaves", "scans", "record"}


async def _status(request: Request[Any, Any, Any], state: State, school: str, **extra: Any) -> Template:
    runtime = runtime_of(state)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        heads = {chain.name: await store.read_head(conn, school, chain) for chain in (EVENT_CHAIN, ACCESS)}
        checkpoint = await store.latest_checkpoint(conn, school)
        checks = {row["log"]: row for row in await read(conn, verifications, school)}
        reopened = await read(conn, reopenings, school, order_by=["year", "opens_at"])
    return render(
        request,
        "audit.html",
        "audit",
        school=school,
        heads=heads,
        checkpoint=checkpoint,
        checks=checks,
        reopenings=reopened,
        **extra,
    )


@get(AUDIT_PAGE, operation_id="page_audit", opt=page("audit.read"), include_in_schema=False)
async def audit_page(request: Request[Any, Any, Any], state: State, school: SchoolId) -> Template:
    return await _status(request, state, school)


@post(
    AUDIT_PAGE + "/kiem-tra",
    operation_id="page_audit_verify",
    opt=page("ledger.verify"),
    status_code=200,
    include_in_schema=False,
)
async def audit_verify(request: Request[Any, Any, Any], state: State, school: SchoolId) -> Template:
    """Verify the school's ledger and access trail now, as the nightly job does: the outcome is kept in
    the trail, and a failure raises an alert."""
    await form_of(request)
    results = await nightly_verification(runtime_of(state), [school])
    text = text_of(request)
    summary = ", ".join(f"{text['log_' + r['log']]}: {text['intact'] if r['ok'] else text['broken']}" for r in results)
    return await _status(request, state, school, notice=text["verified"] % summary)


# Payload members as an auditor reads them, and how each value is written.
_FIELDS = {
    "vi": {"year": "năm học", "class": "lớp", "subject": "môn", "term": "học kì", "kind": "cột", "slot": "lần",
           "value": "giá trị", "student": "học sinh", "reason": "lý do", "old_value": "giá trị cũ",
           "new_value": "giá trị mới", "role": "vai trò", "staff": "người", "username": "tài khoản",
           "excused": "nghỉ có phép", "unexcused": "nghỉ không phép", "comment": "nhận xét", "level": "mức",
           "deadline": "mốc", "at": "lúc", "since": "từ ngày", "until": "đến ngày", "valid_from": "từ ngày",
           "valid_to": "đến ngày", "hocba_id": "số học bạ", "issued_on": "ngày ban hành", "order": "theo lệnh",
           "decision": "quyết định", "recipients": "số người nhận", "text": "nội dung", "period": "kì"},
    "en": {"year": "year", "class": "class", "subject": "subject", "term": "term", "kind": "column", "slot": "entry",
           "value": "value", "student": "student", "reason": "reason", "old_value": "old value",
           "new_value": "new value", "role": "role", "staff": "person", "username": "account",
           "excused": "excused", "unexcused": "unexcused", "comment": "comment", "level": "level",
           "deadline": "deadline", "at": "at", "since": "since", "until": "until", "valid_from": "from",
           "valid_to": "to", "hocba_id": "học bạ", "issued_on": "issued on", "order": "ordered by",
           "decision": "decision", "recipients": "recipients", "text": "text", "period": "period"},
}  # fmt: skip
_KINDS = {"regular": "ĐĐGtx", "midterm": "ĐĐGgk", "final": "ĐĐGck"}
_DEADLINES = {"vi": {"close": "khóa sổ cuối năm", "final": "hạn cuối điều chỉnh"}, "en": {}}


@dataclass(frozen=True)
class Names:
    """What the timeline names instead of codes: subjects, students, staff."""

    subjects: dict[str, str]
    students: dict[str, str]
    staff: dict[str, str]


def _value(key: str, value: Any, names: Names, lang: str) -> str:
    text = "" if value is None else str(value)
    if key == "subject":
        return names.subjects.get(text, text)
    if key == "student":
        return names.students.get(text, text)
    if key in ("staff", "username"):
        return names.staff.get(text, text)
    if key == "role":
        return ROLES[lang].get(text, text)
    if key == "kind":
        return _KINDS.get(text, text)
    if key == "deadline":
        return _DEADLINES[lang].get(text, text)
    if key in ("value", "old_value", "new_value"):
        return score(text, lang)
    if key in ("at", "since", "until", "valid_from", "valid_to", "issued_on") and text:
        return when(text) if "T" in text else day(text)
    return text


def _details(event: Event, names: Names, lang: str) -> str:
    labels = _FIELDS[lang]
    shown = []
    for key, value in event.payload.items():
        if key in HIDDEN_FIELDS or isinstance(value, dict | list) or value is None or key not in labels:
            continue
        shown.append(f"{labels[key]}: {_value(key, value, names, lang)}")
    return "; ".join(shown)[:300]


def _actor(event: Event, names: Names, lang: str) -> str:
    user, role = str(event.actor.user), str(event.actor.role)
    return f"{names.staff.get(user, user)} ({ROLES[lang].get(role, role)})"


def _rows(events: list[Event], lang: str, names: Names) -> list[dict[str, Any]]:
    kinds = EVENTS[lang]
    return [
        {
            "seq": e.seq,
            "at": e.recorded_at.astimezone(VN_TZ),
            "type": kinds.get(e.type, e.type),
            "code": e.type,
            "actor": _actor(e, names, lang),
            "details": _details(e, names, lang),
        }
        for e in events
    ]


async def _names(conn: Any, runtime: Any, school: str, events: list[Event]) -> Names:
    ids = sorted({str(e.payload["student"]) for e in events if isinstance(e.payload.get("student"), str)})
    subject_rows = await read(conn, subjects, school)
    return Names(
        subjects={row["code"]: row["name"] for row in subject_rows},
        students=await student_names(conn, school, ids),
        staff=await staff_names(runtime, school),
    )


def _end_of(day: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(day), time.max, VN_TZ)
    except ValueError:
        raise ValidationError("as_of", "ngày phải có dạng YYYY-MM-DD", "a date is YYYY-MM-DD", field="ngay") from None


async def _student_facts(
    conn: Any, school: str, year: str, student: str, as_of: int | None, text: dict[str, str]
) -> dict[str, Any]:
    """A student's year at seq `as_of` (None: now): every recorded assessment, then the results the
    TT22 rules give (term and year averages, learning, conduct, promotion)."""
    facts: dict[str, Any] = {}
    for row in await read(conn, assessments, school, as_of=as_of, year=year, student_id=student):
        slot = f" {row['slot']}" if row["slot"] else ""
        facts[f"{row['subject']} · {text['term']} {row['term']} · {text[row['kind']]}{slot}"] = row["value"]
    try:
        view = (await load_student_year(conn, school, year, student, as_of)).to_json()
    except DomainError:
        return facts  # not enrolled yet at that moment
    for code, subject in view["subjects"].items():
        for part in ("term1", "term2", "year"):
            label = text["year_avg"] if part == "year" else f"{text['term']} {part[-1]}"
            facts[f"{code} · {label}"] = subject[part]
    facts.update(
        {
            text["learning"]: view["learning"]["year"],
            text["conduct"]: view["conduct"].get("year"),
            text["promotion"]: view["promotion_vi"],
        }
    )
    return facts


def _compare(then: dict[str, Any], now: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"label": key, "then": then.get(key), "now": now.get(key), "changed": then.get(key) != now.get(key)}
        for key in dict.fromkeys([*then, *now])
    ]


async def _replay(
    conn: Any, school: str, year: str, student: str | None, class_id: str | None, as_of: int, text: dict[str, str]
) -> list[dict[str, Any]]:
    """What the record said at seq `as_of` beside what it says now, fact by fact."""
    if student is not None:
        before = await _student_facts(conn, school, year, student, as_of, text)
        return _compare(before, await _student_facts(conn, school, year, student, None, text))
    assert class_id is not None
    views = await class_summary(conn, school, year, class_id, as_of)
    then = {v.student["student_id"]: v.to_json() for v in views.views}
    rows = []
    for view in (await class_summary(conn, school, year, class_id)).views:
        now, earlier = view.to_json(), then.get(view.student["student_id"])
        for part in ("learning", "conduct", "promotion"):
            then_value = None
            if earlier is not None:
                then_value = earlier["promotion_vi"] if part == "promotion" else earlier[part].get("year")
            now_value = now["promotion_vi"] if part == "promotion" else now[part].get("year")
            rows.append({"label": f"{view.student['full_name']} — {text[part]}", "then": then_value, "now": now_value})
    return [{**row, "changed": row["then"] != row["now"]} for row in rows]


@get(AUDIT_PAGE + "/dong-thoi-gian", operation_id="page_timeline", opt=page("audit.read"), include_in_schema=False)
async def timeline(request: Request[Any, Any, Any], state: State, school: SchoolId) -> Template:
    runtime = runtime_of(state)
    query = request.query_params
    student = query.get("hoc-sinh") or None
    class_id = query.get("lop") or None
    day = query.get("ngay") or None
    before = query.get("truoc")
    year = year_of(request)
    context: dict[str, Any] = {"school": school, "student": student or "", "class_id": class_id or "", "day": day or ""}
    if student is not None:
        student = identity.personal_id(student, "hoc-sinh")
        entry_of(request).touch([student])
        needle = student
    elif class_id is not None:
        class_id = identity.class_id(class_id, "lop")
        needle = f'"class":"{class_id}"'
    else:
        needle = ""
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:  # every reopening is counted here too
        context["reopenings"] = await read(conn, reopenings, school, order_by=["year", "opens_at"])
    if student is None and class_id is None:
        return render(request, "timeline.html", "timeline", events=[], replay=None, **context)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        as_of = await store.seq_at_time(conn, school, _end_of(day)) if day else None
        events = await store.events_mentioning(
            conn, school, needle, after=as_of or 0, before=int(before) if before and before.isdigit() else None
        )
        replay = (
            await _replay(conn, school, year, student, class_id, as_of, text_of(request))
            if as_of is not None and year
            else None
        )
        names = await _names(conn, runtime, school, events)
    more = str(events[-1].seq) if len(events) == 200 else None
    return render(
        request,
        "timeline.html",
        "timeline",
        events=_rows(events, lang_of(request), names),
        as_of=as_of,
        replay=replay,
        more=more,
        **context,
    )


@get(AUDIT_PAGE + "/truy-cap", operation_id="page_access", opt=page("audit.read"), include_in_schema=False)
async def access_log(request: Request[Any, Any, Any], state: State, school: SchoolId) -> Template:
    query = request.query_params
    user = query.get("tai-khoan") or None
    student = query.get("hoc-sinh") or None
    outcome = query.get("ket-qua") if query.get("ket-qua") in OUTCOMES else None
    before = query.get("truoc")
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        rows = await query_access(
            conn,
            school,
            student=student,
            username=user,
            outcome=outcome,
            before_entry=int(before) if before and before.isdigit() else None,
            limit=100,
        )
        alerts = await query_alerts(conn, school)
    if student:
        entry_of(request).touch([student])
    more = str(rows[-1]["entry"]) if len(rows) == 100 else None
    return render(
        request,
        "access.html",
        "access_log",
        school=school,
        rows=rows,
        alerts=alerts,
        outcomes=OUTCOMES,
        operations=OPERATIONS[lang_of(request)],
        user_filter=user or "",
        student_filter=student or "",
        outcome_filter=outcome or "",
        more=more,
    )


@get(CLASS_PAGE + "/bieu-do", operation_id="page_charts", opt=page("class.read"), include_in_schema=False)
async def charts(request: Request[Any, Any, Any], state: State, school: SchoolId, class_id: ClassId) -> Template:
    runtime = runtime_of(state)
    year = year_of(request)
    text = text_of(request)
    subject_rows = await class_subjects(runtime, school, year or "", class_id)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        summary = await class_summary(conn, school, year or "", class_id)
    entry_of(request).touch(v.student["student_id"] for v in summary.views)
    views = [v.to_json() for v in summary.views]
    scored = [(s["code"], s["name"]) for s in subject_rows if s["kind"] == "score"]
    grades = score_rows(views, scored)
    levels = level_rows(views, (text["learning"], text["conduct"]))
    level_names = [*LEVELS, text["unknown"]]
    band_names = [band[0] for band in SCORE_BANDS]
    return render(
        request,
        "charts.html",
        "charts",
        heading=f"{text['charts']} — {class_id}",
        school=school,
        class_id=class_id,
        grades=grades,
        levels=levels,
        band_names=band_names,
        level_names=level_names,
        grade_chart=stacked_bars(
            "diem", text["grade_distribution"], f"{class_id}, {year}", grades, band_names, BAND_COLOURS
        )
        if grades
        else None,
        level_chart=stacked_bars("muc", text["levels"], f"{class_id}, {year}", levels, level_names, LEVEL_COLOURS),
    )
