"""Assessment events: entry of a class × subject × term sheet, conduct, absences, comments, summer
results. Every refusal names the field and the rule and appends nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.app.demo import PRINCIPAL, DemoSchool, build_demo_school
from ledger.base.errors import DomainError, NotFound, Refused, ValidationError
from ledger.log.append import Ledger
from ledger.log.projection import history, read
from ledger.school.assessments.commands import (
    SheetEntry,
    record_absences,
    record_conduct,
    record_reassessments,
    record_sheet,
    record_summer_conduct,
)
from ledger.school.assessments.tables import assessments
from tests.support.helpers import head

YEAR = "2025-2026"


@pytest.fixture
async def setup(app_engine: AsyncEngine, school: str) -> tuple[Ledger, DemoSchool]:
    demo = await build_demo_school(app_engine, school, students_per_class=3, terms=())
    return demo.ledger, demo


async def sheet(ledger: Ledger, demo: DemoSchool, entries: list[SheetEntry], **where: Any) -> list[Any]:
    args = {"year": YEAR, "term": 1, "class_id": "7A1", "subject": "TOAN", **where}
    teacher = demo.teacher(args["subject"] if args["subject"] in demo.subject_teachers else "TOAN")
    return await record_sheet(ledger, demo.school, teacher, entries=entries, **args)


async def test_a_full_sheet_is_recorded_and_decimal_commas_are_accepted(setup: tuple[Ledger, DemoSchool]) -> None:
    ledger, demo = setup
    student = demo.rosters["7A1"][0]
    entries = [SheetEntry(student, "regular", v, k + 1) for k, v in enumerate(["8,5", "7", 9, "10,0"])]
    entries += [
        SheetEntry(student, "midterm", "6.5"),
        SheetEntry(student, "final", "8,0"),
        SheetEntry(student, "comment", "Chăm chỉ"),
    ]
    events = await sheet(ledger, demo, entries)
    assert [e.type for e in events] == ["assessment.recorded"] * 6 + ["subject_comment.recorded"]
    async with ledger.engine.connect() as conn:
        rows = await read(conn, assessments, demo.school, year=YEAR, student_id=student, subject="TOAN", term=1)
    values = {(r["kind"], r["slot"]): r["value"] for r in rows}
    assert values == {
        ("regular", 1): "8.5",
        ("regular", 2): "7.0",
        ("regular", 3): "9.0",
        ("regular", 4): "10.0",
        ("midterm", 0): "6.5",
        ("final", 0): "8.0",
    }
    assert {r["recorded_by"] for r in rows} == {demo.subject_teachers["TOAN"]}


@pytest.mark.parametrize(
    ("where", "entry", "error", "field", "code"),
    [
        ({}, SheetEntry("S0", "final", "10.5"), ValidationError, "entries[1].value", "score.invalid"),
        ({}, SheetEntry("S0", "final", "8.25"), ValidationError, "entries[1].value", "score.invalid"),
        ({}, SheetEntry("S0", "final", "-1"), ValidationError, "entries[1].value", "score.invalid"),
        ({}, SheetEntry("S0", "regular", "8", 5), ValidationError, "entries[1].slot", "assessment.slot"),  # TOAN: 4
        (
            {"subject": "GDCD"},
            SheetEntry("S0", "regular", "8", 3),
            ValidationError,
            "entries[1].slot",
            "assessment.slot",
        ),  # 35 periods: 2
        ({"subject": "GDTC"}, SheetEntry("S0", "final", "8"), ValidationError, "entries[1].value", "mark.invalid"),
        ({}, SheetEntry("OTHER", "final", "8"), NotFound, "entries[1].student", "student.not_enrolled"),
        ({}, SheetEntry("123", "final", "8"), ValidationError, "entries[1].student", "personal_id.format"),
        ({"subject": "HOA_HOC"}, SheetEntry("S0", "final", "8"), NotFound, "subject", "subject.unknown"),
        ({"class_id": "7A9"}, SheetEntry("S0", "final", "8"), NotFound, "class", "class.unknown"),
        ({}, SheetEntry("S0", "oral", "8"), ValidationError, "entries[1].kind", "assessment.kind"),
    ],
)
async def test_bad_entries_are_refused_and_nothing_is_appended(
    setup: tuple[Ledger, DemoSchool],
    where: dict[str, Any],
    entry: SheetEntry,
    error: type[DomainError],
    field: str,
    code: str,
) -> None:
    ledger, demo = setup
    student, stranger = demo.rosters["7A1"][0], demo.rosters["8A1"][0]
    named = {"S0": student, "OTHER": stranger}.get(entry.student, entry.student)
    good = SheetEntry(student, "midterm", "Đ" if where.get("subject") == "GDTC" else "7")
    before = await head(ledger, demo.school)
    with pytest.raises(error) as refused:
        await sheet(ledger, demo, [good, SheetEntry(named, entry.kind, entry.value, entry.slot)], **where)
    assert (refused.value.field, refused.value.code) == (field, code)
    assert refused.value.vi and refused.value.en
    assert await head(ledger, demo.school) == before  # the good entry of the sheet is not kept either


async def test_a_recorded_assessment_is_never_overwritten_by_entry_dieu_17_3(setup: tuple[Ledger, DemoSchool]) -> None:
    ledger, demo = setup
    student = demo.rosters["7A1"][1]
    await sheet(ledger, demo, [SheetEntry(student, "final", "8,5")])
    assert await sheet(ledger, demo, [SheetEntry(student, "final", "8.5")]) == []  # same value: nothing
    before = await head(ledger, demo.school)
    with pytest.raises(Refused) as refused:
        await sheet(ledger, demo, [SheetEntry(student, "final", "9")])
    assert refused.value.rule == "Điều 17.3"
    assert "đề nghị điều chỉnh" in refused.value.vi and "correction request" in refused.value.en
    assert await head(ledger, demo.school) == before
    async with ledger.engine.connect() as conn:
        versions = await history(conn, assessments, demo.school, student_id=student, kind="final")
    assert [v["value"] for v in versions] == ["8.5"]


async def test_conduct_is_set_once_absences_may_be_updated(setup: tuple[Ledger, DemoSchool]) -> None:
    ledger, demo = setup
    student = demo.rosters["6A1"][0]
    homeroom = demo.homeroom_teacher("6A1")
    where = {"year": YEAR, "term": 1, "class_id": "6A1"}
    await record_conduct(ledger, demo.school, homeroom, entries=[(student, "Khá")], **where)
    with pytest.raises(Refused, match="correction request"):
        await record_conduct(ledger, demo.school, homeroom, entries=[(student, "Tốt")], **where)
    with pytest.raises(ValidationError, match="Tốt, Khá, Đạt, Chưa đạt"):
        await record_conduct(ledger, demo.school, homeroom, entries=[(demo.rosters["6A1"][1], "Giỏi")], **where)
    await record_absences(ledger, demo.school, homeroom, entries=[(student, 1, 0)], **where)
    [update] = await record_absences(ledger, demo.school, homeroom, entries=[(student, 2, 1)], **where)
    assert (update.payload["excused"], update.payload["unexcused"]) == (2, 1)
    with pytest.raises(ValidationError, match="whole number"):
        await record_absences(ledger, demo.school, homeroom, entries=[(student, -1, 0)], **where)


async def test_summer_results_only_for_students_who_need_them_tt22_d12_14(setup: tuple[Ledger, DemoSchool]) -> None:
    ledger, demo = setup
    student = demo.rosters["6A1"][0]
    with pytest.raises(Refused) as refused:
        await record_reassessments(
            ledger,
            demo.school,
            demo.teacher("TOAN"),
            year=YEAR,
            class_id="6A1",
            subject="TOAN",
            entries=[(student, "6")],
        )
    assert refused.value.rule == "TT22 Đ.12–14"
    with pytest.raises(Refused, match="summer only for a year conduct of Chưa đạt"):
        await record_summer_conduct(
            ledger, demo.school, PRINCIPAL, year=YEAR, class_id="6A1", entries=[(student, "Đạt")]
        )


async def test_the_writer_holds_the_assignment_when_the_events_are_appended_dieu_17_2_18_3(
    setup: tuple[Ledger, DemoSchool],
) -> None:
    """The guard let the request through, but by the time it is appended the teacher's assignment has
    ended, or the teacher writes a class, a subject or a year that is not theirs (the August overlap:
    a new year's teacher recording last year's results): refused at the append, nothing appended."""
    from uuid import UUID

    from ledger.format.envelope import Actor
    from ledger.log.projection import read as read_rows
    from ledger.school.years.commands import end_assignment
    from ledger.school.years.tables import assignments

    ledger, demo = setup
    student = demo.rosters["7A1"][0]
    teacher = demo.teacher("TOAN")
    before = await head(ledger, demo.school)
    literature = demo.teacher("NGU_VAN")
    other = next(c for c in sorted(demo.rosters) if demo.homeroom[c] != teacher.user)
    for attempt in (
        lambda: record_sheet(  # a subject that is not theirs
            ledger, demo.school, literature, year=YEAR, term=1, class_id="7A1", subject="TOAN",
            entries=[SheetEntry(student, "regular", "9", 1)],
        ),
        lambda: record_sheet(  # acting in a role they do not hold
            ledger, demo.school, Actor(teacher.user, "LEADERSHIP"), year=YEAR, term=1, class_id="7A1",
            subject="TOAN", entries=[SheetEntry(student, "regular", "9", 1)],
        ),
        lambda: record_conduct(  # a class they are not homeroom teacher of
            ledger, demo.school, Actor(teacher.user, "HOMEROOM_TEACHER"), year=YEAR, term=1, class_id=other,
            entries=[(demo.rosters[other][0], "Tốt")],
        ),
        lambda: record_summer_conduct(  # the principal's own act
            ledger, demo.school, demo.homeroom_teacher("7A1"), year=YEAR, class_id="7A1", entries=[(student, "Đạt")]
        ),
    ):  # fmt: skip
        with pytest.raises(DomainError) as caught:
            await attempt()
        assert caught.value.code == "assignment.not_held" and "Điều 17.2" in str(caught.value.rule)
    async with ledger.engine.connect() as conn:
        grants = await read_rows(conn, assignments, demo.school, staff_id=teacher.user, class_id="7A1", term=1)
    await end_assignment(ledger, demo.school, PRINCIPAL, UUID(str(grants[0]["assignment_id"])), "2025-09-30")
    assert await head(ledger, demo.school) == before + 1
    with pytest.raises(DomainError) as caught:  # ended: the same teacher, the same sheet, refused now
        await sheet(ledger, demo, [SheetEntry(student, "regular", "9", 1)])
    assert caught.value.code == "assignment.not_held"
    assert await head(ledger, demo.school) == before + 1
