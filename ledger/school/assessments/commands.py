"""Recording assessment data, each command under the school's lock.

Every entry is checked against the school-year model: the class and subject exist, the student is
enrolled in the class, the slot is within the subject's required count, and the value fits the
subject's kind. An assessment once recorded is never overwritten by plain entry: a different value is
refused with the way forward, a correction request (Điều 17.3). Re-sending the same value appends
nothing.

Each command decides ahead of the school's lock (`Ledger.decide_ahead`): it reads and checks on a
snapshot, and says which later events would change its decision: any event that is not data entry
(the calendar, a lock, an assignment, the year's classes, subjects and rolls, a correction), and data
entry that touches what it read. Under the lock only that is checked; if such an event was appended
meanwhile, or a deadline passed, it decides again under the lock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import Table, select

from ledger.base import vietnamese
from ledger.base.errors import Forbidden, NotFound, Refused, ValidationError
from ledger.format.envelope import Actor, Event, NewEvent
from ledger.log.append import Decision, Ledger, SchoolSession
from ledger.log.projection import read
from ledger.school.assessments.tables import (
    ABSENCES_RECORDED,
    ASSESSMENT_RECORDED,
    CONDUCT_RECORDED,
    HOMEROOM_COMMENT_RECORDED,
    REASSESSMENT_RECORDED,
    SUBJECT_COMMENT_RECORDED,
    SUMMER_CONDUCT_RECORDED,
    Slot,
    absences,
    assessments,
    conduct,
    homeroom_comments,
    subject_comments,
)
from ledger.school.calendar.checks import check_change
from ledger.school.calendar.model import Change
from ledger.school.rules import identity
from ledger.school.rules.roles import Role
from ledger.school.rules.tt22 import Kind, Level, value_text
from ledger.school.transcripts.views import load_student_year
from ledger.school.years.queries import class_grade, holds, roster, subject_row, year_row

_WORK_VI = {
    Role.SUBJECT_TEACHER: "dạy môn này ở lớp này",
    Role.HOMEROOM_TEACHER: "chủ nhiệm lớp này",
    Role.PRINCIPAL: "làm Hiệu trưởng",
}


async def check_assigned(session: SchoolSession, actor: Actor, role: Role, **scope: Any) -> None:
    """The writer holds the assignment for this data at the moment its events are appended, not only
    when the request was let through: an assignment that ended, a year that is not theirs, or a
    class they do not teach is refused here too (Điều 17.2, 18.3, 35)."""
    today = session.now().date()
    # An assignment holds from one day to another: the answer may change at the next midnight.
    session.changes_at(datetime.combine(today + timedelta(days=1), time(), tzinfo=session.now().tzinfo))
    if str(actor.role) == role.value and await holds(session, str(actor.user), role, today, **scope):
        return
    where = ", ".join(f"{k}={v}" for k, v in scope.items() if v is not None)
    raise Forbidden(
        "assignment.not_held",
        f"{actor.user} không được phân công {_WORK_VI[role]} ({where}) vào lúc ghi; dữ liệu này do người được "
        "phân công nhập.",
        f"{actor.user} does not hold the assignment ({role.value}, {where}) at the time of writing; this data is "
        "entered by the person assigned to it.",
        field="actor",
        rule="Điều 17.2, 18.3",
    )


CORRECTION_HINT_VI = "Muốn sửa, hãy gửi đề nghị điều chỉnh để lãnh đạo nhà trường phê duyệt (Điều 17.3)."
CORRECTION_HINT_EN = "To change it, file a correction request for leadership approval (Điều 17.3)."


@dataclass(frozen=True)
class SheetEntry:
    """One cell of a class × subject × term sheet: a regular slot, mid-term, end-of-term or comment."""

    student: str
    kind: str  # "regular", "midterm", "final" or "comment"
    value: Any
    slot: int | None = None
    source: Mapping[str, Any] | None = None  # where an imported value came from (file hash, row)


def _slot(entry: SheetEntry, regular_count: int, field: str) -> tuple[Slot | None, int]:
    if entry.kind == "comment":
        return None, 0
    try:
        kind = Slot(entry.kind)
    except ValueError:
        raise ValidationError(
            "assessment.kind",
            "loại đánh giá là regular, midterm, final hoặc comment",
            "the kind is regular, midterm, final or comment",
            field=f"{field}.kind",
        ) from None
    if kind is not Slot.REGULAR:
        return kind, 0
    if isinstance(entry.slot, bool) or not isinstance(entry.slot, int) or not 1 <= entry.slot <= regular_count:
        raise ValidationError(
            "assessment.slot",
            f"lần ĐĐGtx phải từ 1 đến {regular_count} với môn này (nhận được {entry.slot!r})",
            f"the regular assessment slot must be 1 to {regular_count} for this subject (got {entry.slot!r})",
            field=f"{field}.slot",
            rule="TT22 Đ.6.2",
        )
    return kind, entry.slot


ENTRY_TYPES = frozenset(
    {
        ASSESSMENT_RECORDED,
        SUBJECT_COMMENT_RECORDED,
        CONDUCT_RECORDED,
        ABSENCES_RECORDED,
        HOMEROOM_COMMENT_RECORDED,
        REASSESSMENT_RECORDED,
        SUMMER_CONDUCT_RECORDED,
    }
)


async def sheet_events(
    session: SchoolSession,
    actor: Actor,
    year: str,
    term_no: int,
    class_id: str,
    code: str,
    entries: Sequence[SheetEntry],
) -> list[NewEvent]:
    """The events of a sheet's entries that change something; an entry that would overwrite a
    recorded value is refused (Điều 17.3), and so is the whole sheet when the calendar or a lock
    forbids entry."""
    return list((await sheet_decision(session, actor, year, term_no, class_id, code, entries)).events)


async def sheet_decision(
    session: SchoolSession,
    actor: Actor,
    year: str,
    term_no: int,
    class_id: str,
    code: str,
    entries: Sequence[SheetEntry],
) -> Decision:
    """sheet_events, with the later events that would change them: any but data entry, and data
    entry of this sheet's subject and term for a student of the class; after the close, when the
    named students' summer state was read, any data entry for them."""
    await year_row(session, year)
    grade = await class_grade(session, year, class_id)
    catalogue = await subject_row(session, year, code, grade)
    kind, regular_count = Kind(catalogue["kind"]), int(catalogue["regular_count"])
    enrolled = set(await roster(session, year, class_id))

    # What the class's students already have for this subject and term, whatever class they were
    # in when it was recorded (the key is the student's, not the class's).
    def current(table: Table) -> Any:
        c = table.c
        return select(table).where(
            c.school_id == session.school,
            c.year == year,
            c.subject == code,
            c.term == term_no,
            c.student_id.in_(sorted(enrolled)),
            c.seq_to.is_(None),
        )

    stored = {
        (r["student_id"], r["kind"], r["slot"]): r["value"]
        for r in (await session.conn.execute(current(assessments))).mappings()
    }
    comments = {r["student_id"]: r["text"] for r in (await session.conn.execute(current(subject_comments))).mappings()}
    named = sorted({e.student for e in entries if isinstance(e.student, str)})
    calendar = await check_change(
        session,
        Change.ENTRY,
        year=year,
        term=term_no,
        class_id=class_id,
        subject=code,
        students=named,
        field="entries",
    )
    await check_assigned(session, actor, Role.SUBJECT_TEACHER, year=year, class_id=class_id, subject=code, term=term_no)
    events: list[NewEvent] = []
    seen: set[tuple[str, str, int]] = set()
    for index, entry in enumerate(entries):
        field = f"entries[{index}]"
        student = identity.personal_id(entry.student, f"{field}.student")
        if student not in enrolled:
            raise NotFound(
                "student.not_enrolled",
                f"học sinh không học lớp {class_id} năm học {year}",
                f"the student is not enrolled in class {class_id} in {year}",
                field=f"{field}.student",
            )
        slot_kind, slot = _slot(entry, regular_count, field)
        key = (student, entry.kind, slot)
        if key in seen:
            raise ValidationError(
                "assessment.duplicate", "một ô được nhập hai lần", "the same cell is entered twice", field=field
            )
        seen.add(key)
        base = {"year": year, "term": term_no, "class": class_id, "subject": code, "student": student}
        if slot_kind is None:
            text = identity.text(entry.value, f"{field}.value", limit=2000)
            if comments.get(student) != text:
                events.append(NewEvent(SUBJECT_COMMENT_RECORDED, {**base, "text": text}, actor))
            continue
        value = value_text(kind, entry.value, f"{field}.value")
        previous = stored.get((student, slot_kind.value, slot))
        if previous == value:
            continue
        if previous is not None:
            raise Refused(
                "assessment.already_recorded",
                f"Điểm này đã được nhập ({vietnamese.number(previous)}); không thể ghi đè bằng "
                f"{vietnamese.number(value)}. {CORRECTION_HINT_VI}",
                f"This assessment is already recorded ({previous}); it cannot be overwritten with {value}. "
                + CORRECTION_HINT_EN,
                field=f"{field}.value",
                rule="Điều 17.3",
                recorded=previous,
            )
        payload: dict[str, Any] = {**base, "kind": slot_kind.value, "slot": slot, "value": value}
        if entry.source is not None:
            payload["source"] = dict(entry.source)
        events.append(NewEvent(ASSESSMENT_RECORDED, payload, actor))
    summer = {*named, *(key[0] for key in seen)} if session.now() > calendar.close else set()

    def depends_on(event: Event) -> bool:
        if event.type not in ENTRY_TYPES:
            return True
        p = event.payload
        if p.get("student") in summer:
            return True
        return (
            event.type in (ASSESSMENT_RECORDED, SUBJECT_COMMENT_RECORDED)
            and p.get("student") in enrolled
            and (p.get("year"), p.get("term"), p.get("subject")) == (year, term_no, code)
        )

    return Decision(events, depends_on)


async def record_sheet(
    ledger: Ledger,
    school: str,
    actor: Actor,
    *,
    year: str,
    term: Any,
    class_id: str,
    subject: str,
    entries: Sequence[SheetEntry],
) -> list[Event]:
    """Record entries of one class × subject × term sheet, all or nothing."""
    year, term_no, class_id = identity.school_year(year), identity.term(term), identity.class_id(class_id)
    code = subject.strip().upper()

    async def decide(session: SchoolSession) -> Decision:
        return await sheet_decision(session, actor, year, term_no, class_id, code, entries)

    return await ledger.decide_ahead(school, decide)


StateLoader = Callable[[SchoolSession], Awaitable[Any]]
EntryBuilder = Callable[[SchoolSession, Any, str, Sequence[Any], str], Awaitable[dict[str, Any] | None]]


async def _per_student(
    ledger: Ledger,
    school: str,
    actor: Actor,
    event_type: str,
    year: str,
    class_id: str,
    entries: Sequence[Sequence[Any]],
    load: StateLoader,
    build: EntryBuilder,
    *,
    change: Change = Change.ENTRY,
    term: int | None = None,
    holder: tuple[Role, dict[str, Any]] | None = None,
) -> list[Event]:
    """A command over students of one class: each entry is (student, ...). `load` reads the state the
    entries are compared with, once; `build` returns an entry's payload, or None when it changes
    nothing, or raises to refuse the whole command. `holder` is the assignment the writer must hold
    (default: homeroom teacher of the class that year). Decided ahead of the lock: later data entry
    matters if it is of the same type, or for a named student (whose whole year `build` may read)."""
    role, scope = holder or (Role.HOMEROOM_TEACHER, {})

    async def decide(session: SchoolSession) -> Decision:
        await year_row(session, year)
        await class_grade(session, year, class_id)
        enrolled = set(await roster(session, year, class_id))
        named = sorted({str(entry[0]) for entry in entries if entry})
        await check_change(session, change, year=year, term=term, class_id=class_id, students=named, field="entries")
        await check_assigned(session, actor, role, **{"year": year, "class_id": class_id, **scope})
        state = await load(session)
        events = []
        students = set(named)  # as sent, and as recorded
        for index, (raw_student, *rest) in enumerate(entries):
            field = f"entries[{index}]"
            student = identity.personal_id(raw_student, f"{field}.student")
            students.add(student)
            if student not in enrolled:
                raise NotFound(
                    "student.not_enrolled",
                    f"học sinh không học lớp {class_id}",
                    f"the student is not enrolled in class {class_id}",
                    field=f"{field}.student",
                )
            payload = await build(session, state, student, rest, field)
            if payload is not None:
                base = {"year": year, "class": class_id, "student": student}
                events.append(NewEvent(event_type, {**base, **payload}, actor))

        def depends_on(event: Event) -> bool:
            return event.type not in ENTRY_TYPES or event.type == event_type or event.payload.get("student") in students

        return Decision(events, depends_on)

    return await ledger.decide_ahead(school, decide)


def _already(what_vi: str, what_en: str, previous: str, field: str) -> Refused:
    return Refused(
        f"{what_en.replace(' ', '_')}.already_recorded",
        f"{what_vi} đã được ghi ({previous}). {CORRECTION_HINT_VI}",
        f"The {what_en} is already recorded ({previous}). {CORRECTION_HINT_EN}",
        field=field,
        rule="Điều 17.3",
    )


async def record_conduct(
    ledger: Ledger,
    school: str,
    actor: Actor,
    *,
    year: str,
    term: Any,
    class_id: str,
    entries: Sequence[tuple[str, Any]],
) -> list[Event]:
    """Conduct (kết quả rèn luyện) per term, set by the homeroom teacher (Điều 34.1; TT22 Đ.8)."""
    year, term_no, class_id = identity.school_year(year), identity.term(term), identity.class_id(class_id)

    async def load(session: SchoolSession) -> dict[str, str]:
        rows = await read(session.conn, conduct, session.school, year=year, term=term_no)
        return {r["student_id"]: r["level"] for r in rows}

    async def build(
        session: SchoolSession, stored: Any, student: str, rest: Sequence[Any], field: str
    ) -> dict[str, Any] | None:
        level = Level.parse(rest[0], f"{field}.level").value
        if stored.get(student) == level:
            return None
        if student in stored:
            raise _already("Kết quả rèn luyện", "conduct", stored[student], f"{field}.level")
        return {"term": term_no, "level": level}

    return await _per_student(
        ledger, school, actor, CONDUCT_RECORDED, year, class_id, entries, load, build, term=term_no
    )


async def record_absences(
    ledger: Ledger,
    school: str,
    actor: Actor,
    *,
    year: str,
    term: Any,
    class_id: str,
    entries: Sequence[tuple[str, Any, Any]],
) -> list[Event]:
    """Sessions absent in a term, excused and unexcused; updated as the term goes (Điều 34.1)."""
    year, term_no, class_id = identity.school_year(year), identity.term(term), identity.class_id(class_id)

    def count(raw: Any, field: str) -> int:
        if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= 400:
            raise ValidationError(
                "absences.invalid", "số buổi nghỉ là số nguyên từ 0", "absences are a whole number from 0", field=field
            )
        return raw

    async def load(session: SchoolSession) -> dict[str, tuple[int, int]]:
        rows = await read(session.conn, absences, session.school, year=year, term=term_no)
        return {r["student_id"]: (r["excused"], r["unexcused"]) for r in rows}

    async def build(
        session: SchoolSession, stored: Any, student: str, rest: Sequence[Any], field: str
    ) -> dict[str, Any] | None:
        numbers = (count(rest[0], f"{field}.excused"), count(rest[1], f"{field}.unexcused"))
        if stored.get(student) == numbers:
            return None
        return {"term": term_no, "excused": numbers[0], "unexcused": numbers[1]}

    return await _per_student(
        ledger, school, actor, ABSENCES_RECORDED, year, class_id, entries, load, build, term=term_no
    )


async def record_homeroom_comments(
    ledger: Ledger,
    school: str,
    actor: Actor,
    *,
    year: str,
    period: str,
    class_id: str,
    entries: Sequence[tuple[str, str]],
) -> list[Event]:
    """The homeroom teacher's overall comments, for term "1", term "2" or the "year" (Điều 34.6)."""
    year, class_id = identity.school_year(year), identity.class_id(class_id)
    if period not in ("1", "2", "year"):
        raise ValidationError(
            "comment.period",
            "kì nhận xét là học kì 1, học kì 2 hoặc cả năm (year)",
            "the period is 1, 2 or year",
            field="period",
        )

    async def load(session: SchoolSession) -> dict[str, str]:
        rows = await read(session.conn, homeroom_comments, session.school, year=year, period=period)
        return {r["student_id"]: r["text"] for r in rows}

    async def build(
        session: SchoolSession, stored: Any, student: str, rest: Sequence[Any], field: str
    ) -> dict[str, Any] | None:
        comment = identity.text(rest[0], f"{field}.text", limit=2000)
        return None if stored.get(student) == comment else {"period": period, "text": comment}

    term = 1 if period == "1" else 2  # the year's comment is written with term II
    return await _per_student(
        ledger, school, actor, HOMEROOM_COMMENT_RECORDED, year, class_id, entries, load, build, term=term
    )


async def record_reassessments(
    ledger: Ledger,
    school: str,
    actor: Actor,
    *,
    year: str,
    class_id: str,
    subject: str,
    entries: Sequence[tuple[str, Any]],
) -> list[Event]:
    """Summer re-assessment results (kiểm tra lại, TT22 Đ.12–14). Only a student whose year learning
    level is Chưa đạt with conduct Đạt or better, and only in a subject below 5.0 or rated Chưa đạt."""
    year, class_id, code = identity.school_year(year), identity.class_id(class_id), subject.strip().upper()

    async def load(session: SchoolSession) -> tuple[Kind, str]:
        grade = await class_grade(session, year, class_id)
        row = await subject_row(session, year, code, grade)
        return Kind(row["kind"]), str(row["name"])

    async def build(
        session: SchoolSession, subject: Any, student: str, rest: Sequence[Any], field: str
    ) -> dict[str, Any] | None:
        kind, name = subject
        view = await load_student_year(session.conn, session.school, year, student)
        if code not in view.reassessable:
            raise Refused(
                "reassessment.not_eligible",
                f"{view.student['full_name']} không thuộc diện kiểm tra lại môn {name}",
                f"{view.student['full_name']} is not to be re-assessed in {name}",
                field=f"{field}.student",
                rule="TT22 Đ.12–14",
            )
        previous = next((o.reassessed for o in view.outcome.subjects if o.code == code), None)
        if previous is not None:
            raise _already("Kết quả kiểm tra lại", "re-assessment", str(previous), f"{field}.value")
        return {"subject": code, "value": value_text(kind, rest[0], f"{field}.value")}

    return await _per_student(
        ledger,
        school,
        actor,
        REASSESSMENT_RECORDED,
        year,
        class_id,
        entries,
        load,
        build,
        change=Change.SUMMER,
        holder=(Role.SUBJECT_TEACHER, {"subject": code}),
    )


async def record_summer_conduct(
    ledger: Ledger, school: str, actor: Actor, *, year: str, class_id: str, entries: Sequence[tuple[str, Any]]
) -> list[Event]:
    """The principal's conduct re-assessment after summer training, on the homeroom teacher's
    proposal; it replaces the year conduct (TT22 Đ.12–14)."""
    year, class_id = identity.school_year(year), identity.class_id(class_id)

    async def load(session: SchoolSession) -> None:
        return None

    async def build(
        session: SchoolSession, _: Any, student: str, rest: Sequence[Any], field: str
    ) -> dict[str, Any] | None:
        view = await load_student_year(session.conn, session.school, year, student)
        if view.outcome.conduct["year"] is not Level.CHUA_DAT or view.outcome.conduct["after_summer"] is not None:
            raise Refused(
                "summer_conduct.not_eligible",
                f"{view.student['full_name']}: chỉ đánh giá lại rèn luyện sau hè cho học sinh có rèn luyện cả năm "
                "Chưa đạt, một lần",
                f"{view.student['full_name']}: conduct is re-assessed after summer only for a year conduct of "
                "Chưa đạt, once",
                field=f"{field}.student",
                rule="TT22 Đ.12–14",
            )
        return {"level": Level.parse(rest[0], f"{field}.level").value}

    return await _per_student(
        ledger,
        school,
        actor,
        SUMMER_CONDUCT_RECORDED,
        year,
        class_id,
        entries,
        load,
        build,
        change=Change.SUMMER,
        holder=(Role.PRINCIPAL, {"year": None, "class_id": None}),
    )
