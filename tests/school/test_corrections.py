"""Correction requests with four-eyes approval (the regulation's Điều 4.4, 17.3; DOMAIN §5): the
assigned teacher files, the principal or a vice-principal holding that role at that moment decides,
nobody decides their own request, a request is decided once, and the approved change is a new event
that names the request and the approval."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.app.demo import PRINCIPAL, VICE_PRINCIPAL, DemoSchool, build_demo_school
from ledger.base.clock import VN_TZ
from ledger.base.errors import DomainError
from ledger.format.envelope import Actor
from ledger.log.projection import history, read
from ledger.school.assessments.tables import assessments, conduct
from ledger.school.corrections.commands import decide_request, file_request
from ledger.school.corrections.model import assessment_target, conduct_target
from ledger.school.corrections.tables import corrections
from ledger.school.rules.roles import Role
from ledger.school.transcripts.views import load_student_year
from ledger.school.years.commands import end_assignment, make_assignments
from ledger.school.years.model import Assignment
from ledger.school.years.tables import assignments
from tests.support import helpers

YEAR = "2025-2026"


@pytest.fixture
async def demo(app_engine: AsyncEngine, school: str) -> DemoSchool:
    """Term I entered on 20 December; the clock then stands on 10 January, inside term I's window."""
    built = await build_demo_school(app_engine, school, students_per_class=2, terms=(1,), summer=False)
    built.clock.set(datetime(2026, 1, 10, 9, tzinfo=VN_TZ))
    return built


async def refused(demo: DemoSchool, code: str, attempt: Callable[[], Awaitable[Any]]) -> DomainError:
    return await helpers.refused(demo.ledger, demo.school, code, attempt)


async def current(demo: DemoSchool, student: str, kind: str = "final", slot: int = 0) -> str:
    async with demo.ledger.engine.connect() as conn:
        [row] = await read(
            conn, assessments, demo.school, year=YEAR, student_id=student, subject="TOAN", term=1, kind=kind, slot=slot
        )
    return str(row["value"])


async def file(demo: DemoSchool, student: str, new: str, *, by: Actor | None = None) -> UUID:
    target = assessment_target(YEAR, 1, "6A1", "TOAN", student, "final", None)
    event = await file_request(
        demo.ledger,
        demo.school,
        by or demo.teacher("TOAN"),
        target,
        old_value=await current(demo, student),
        new_value=new,
        reason="Cộng nhầm điểm bài kiểm tra cuối kì",
    )
    return UUID(event.payload["request"])


async def test_an_approved_correction_is_a_new_event_naming_the_request_and_the_approval_dieu_17_3(
    demo: DemoSchool,
) -> None:
    student = demo.rosters["6A1"][0]
    old = await current(demo, student)
    new = "9.5" if old != "9.5" else "9.0"
    target = assessment_target(YEAR, 1, "6A1", "TOAN", student, "final", None)
    attachment = "ab" * 32
    filed = await file_request(
        demo.ledger,
        demo.school,
        demo.teacher("TOAN"),
        target,
        old_value=old,
        new_value=new.replace(".", ","),
        reason="Cộng nhầm điểm bài kiểm tra cuối kì",
        attachment_sha256=attachment,
    )
    assert filed.type == "correction.requested"
    assert (filed.payload["old"], filed.payload["new"], filed.payload["attachment_sha256"]) == (old, new, attachment)
    assert await current(demo, student) == old  # a request changes nothing by itself
    request = UUID(filed.payload["request"])

    approval, change = await decide_request(
        demo.ledger, demo.school, VICE_PRINCIPAL, request, approve=True, reason="Đã đối chiếu bài làm"
    )
    assert (approval.type, change.type) == ("correction.approved", "assessment.corrected")
    assert change.payload["request"] == str(request) and change.payload["approval"] == str(approval.event_id)
    assert (change.payload["previous"], change.payload["value"]) == (old, new)
    assert change.seq == approval.seq + 1 and change.prev_hash == approval.hash

    assert await current(demo, student) == new
    async with demo.ledger.engine.connect() as conn:
        versions = await history(
            conn, assessments, demo.school, student_id=student, subject="TOAN", term=1, kind="final"
        )
        [row] = await read(conn, corrections, demo.school, request_id=request)
        view = await load_student_year(conn, demo.school, YEAR, student)
    assert [v["value"] for v in versions] == [old, new]
    assert versions[-1]["recorded_by"] == demo.subject_teachers["TOAN"]  # the teacher's value, approved
    assert versions[-1]["source"] == {"correction": str(request)}
    assert (row["status"], row["decided_by"], row["decision_reason"]) == (
        "approved",
        VICE_PRINCIPAL.user,
        "Đã đối chiếu bài làm",
    )
    doc = view.to_json()
    assert doc["subjects"]["TOAN"]["corrections"] == 1
    assert doc["corrections"] == {"total": 1, "subjects": ["Toán"]}


async def test_nobody_approves_their_own_request_dieu_17_3(demo: DemoSchool) -> None:
    teacher = demo.teacher("TOAN")
    await make_assignments(
        demo.ledger, demo.school, PRINCIPAL, [Assignment(teacher.user, Role.LEADERSHIP, date(2026, 1, 1))]
    )
    request = await file(demo, demo.rosters["6A1"][0], "10")
    as_leader = Actor(teacher.user, Role.LEADERSHIP)
    error = await refused(
        demo,
        "correction.own_request",
        lambda: decide_request(demo.ledger, demo.school, as_leader, request, approve=True, reason="Đúng"),
    )
    assert error.rule == "Điều 17.3"
    await refused(
        demo,
        "correction.own_request",
        lambda: decide_request(demo.ledger, demo.school, as_leader, request, approve=False, reason="Thôi"),
    )


async def test_a_leadership_role_that_has_ended_cannot_approve_dieu_17_3(demo: DemoSchool) -> None:
    deputy = "gv.tinhoc08"
    await make_assignments(demo.ledger, demo.school, PRINCIPAL, [Assignment(deputy, Role.LEADERSHIP, date(2025, 9, 1))])
    request = await file(demo, demo.rosters["6A1"][0], "10")
    async with demo.ledger.engine.connect() as conn:
        [grant] = await read(conn, assignments, demo.school, staff_id=deputy, role="LEADERSHIP")
    await end_assignment(demo.ledger, demo.school, PRINCIPAL, grant["assignment_id"], date(2026, 1, 9))
    error = await refused(
        demo,
        "correction.not_leadership",
        lambda: decide_request(
            demo.ledger, demo.school, Actor(deputy, Role.LEADERSHIP), request, approve=True, reason="Đúng"
        ),
    )
    assert "2026-01-10" in error.en
    # A teacher never held it.
    await refused(
        demo,
        "correction.not_leadership",
        lambda: decide_request(demo.ledger, demo.school, demo.teacher("NGU_VAN"), request, approve=True, reason="Đúng"),
    )


async def test_a_request_is_decided_once_dieu_17_3(demo: DemoSchool) -> None:
    approved = await file(demo, demo.rosters["6A1"][0], "10")
    await decide_request(demo.ledger, demo.school, PRINCIPAL, approved, approve=True, reason="Đúng")
    await refused(
        demo,
        "correction.approved",
        lambda: decide_request(demo.ledger, demo.school, VICE_PRINCIPAL, approved, approve=True, reason="Lại"),
    )
    rejected = await file(demo, demo.rosters["6A1"][1], "10")
    [event] = await decide_request(
        demo.ledger, demo.school, VICE_PRINCIPAL, rejected, approve=False, reason="Không có minh chứng"
    )
    assert event.type == "correction.rejected"
    await refused(
        demo,
        "correction.rejected",
        lambda: decide_request(demo.ledger, demo.school, PRINCIPAL, rejected, approve=True, reason="Đúng"),
    )
    assert await current(demo, demo.rosters["6A1"][1]) != "10.0"


async def test_only_the_assigned_teacher_files_and_only_against_the_recorded_value(demo: DemoSchool) -> None:
    student = demo.rosters["6A1"][0]
    target = assessment_target(YEAR, 1, "6A1", "TOAN", student, "final", None)
    recorded = await current(demo, student)

    def attempt(actor: Actor, old: Any, new: Any = "10") -> Callable[[], Awaitable[Any]]:
        return lambda: file_request(
            demo.ledger, demo.school, actor, target, old_value=old, new_value=new, reason="Nhập nhầm"
        )

    await refused(demo, "correction.not_assigned", attempt(demo.teacher("NGU_VAN"), recorded))
    await refused(demo, "correction.not_assigned", attempt(PRINCIPAL, recorded))
    stale = await refused(demo, "correction.stale", attempt(demo.teacher("TOAN"), "1.5"))
    assert stale.field == "old_value"
    await refused(demo, "correction.same", attempt(demo.teacher("TOAN"), recorded, recorded))
    await refused(demo, "score.invalid", attempt(demo.teacher("TOAN"), recorded, "10.5"))
    await attempt(demo.teacher("TOAN"), recorded)()
    await refused(demo, "correction.pending", attempt(demo.teacher("TOAN"), recorded, "9"))


async def test_a_second_correction_starts_from_the_corrected_value_and_both_are_counted(demo: DemoSchool) -> None:
    student = demo.rosters["6A1"][0]
    first = await file(demo, student, "10")
    await decide_request(demo.ledger, demo.school, PRINCIPAL, first, approve=True, reason="Đúng")
    second = await file(demo, student, "9")
    async with demo.ledger.engine.connect() as conn:
        [row] = await read(conn, corrections, demo.school, request_id=second)
    assert row["old_value"] == "10.0"
    await decide_request(demo.ledger, demo.school, VICE_PRINCIPAL, second, approve=True, reason="Đúng")
    assert await current(demo, student) == "9.0"
    async with demo.ledger.engine.connect() as conn:
        view = await load_student_year(conn, demo.school, YEAR, student)
    assert view.to_json()["subjects"]["TOAN"]["corrections"] == 2


async def test_the_homeroom_teacher_corrects_a_conduct_rating(demo: DemoSchool) -> None:
    student = demo.rosters["6A1"][1]
    async with demo.ledger.engine.connect() as conn:
        [before] = await read(conn, conduct, demo.school, year=YEAR, student_id=student, term=1)
    new = "Tốt" if before["level"] != "Tốt" else "Khá"
    target = conduct_target(YEAR, 1, "6A1", student)
    await refused(
        demo,
        "correction.not_assigned",
        lambda: file_request(
            demo.ledger,
            demo.school,
            demo.teacher("TOAN"),
            target,
            old_value=before["level"],
            new_value=new,
            reason="Nhầm học sinh",
        ),
    )
    filed = await file_request(
        demo.ledger,
        demo.school,
        demo.homeroom_teacher("6A1"),
        target,
        old_value=before["level"],
        new_value=new,
        reason="Nhầm học sinh",
    )
    _, change = await decide_request(
        demo.ledger, demo.school, PRINCIPAL, UUID(filed.payload["request"]), approve=True, reason="Đúng"
    )
    assert change.type == "conduct.corrected"
    async with demo.ledger.engine.connect() as conn:
        [after] = await read(conn, conduct, demo.school, year=YEAR, student_id=student, term=1)
    assert after["level"] == new
