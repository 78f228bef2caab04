"""Filing, deciding and expiring correction requests (Điều 17.3): nobody decides their own, the approver
holds a leadership role at that moment, and an approval appends the corrected value itself."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from ledger.base import vietnamese
from ledger.base.clock import format_time
from ledger.base.errors import Conflict, NotFound, Refused, ValidationError
from ledger.format.envelope import SYSTEM, Actor, Event, NewEvent
from ledger.log.append import Ledger, SchoolSession
from ledger.log.projection import read
from ledger.school.assessments.tables import assessments, conduct
from ledger.school.calendar.checks import calendar_of, check_change, reopened, summer_pending
from ledger.school.calendar.model import Change
from ledger.school.corrections.model import SHA256_HEX, CorrectionTarget
from ledger.school.corrections.queries import request_row
from ledger.school.corrections.tables import (
    ASSESSMENT_CORRECTED,
    CONDUCT_CORRECTED,
    CORRECTION_APPROVED,
    CORRECTION_EXPIRED,
    CORRECTION_REJECTED,
    CORRECTION_REQUESTED,
    RULE,
    corrections,
)
from ledger.school.rules import identity
from ledger.school.rules.roles import Role
from ledger.school.rules.tt22 import Kind, Level, value_text
from ledger.school.years.queries import class_grade, holds, roster, subject_row, year_row


async def _current(session: SchoolSession, target: CorrectionTarget) -> tuple[str | None, Any]:
    """The value recorded now, and how to read a new one (a parser for this target's kind)."""
    await year_row(session, target.year)
    grade = await class_grade(session, target.year, target.class_id)
    if target.student not in await roster(session, target.year, target.class_id):
        raise NotFound(
            "student.not_enrolled",
            f"học sinh không học lớp {target.class_id}",
            f"the student is not enrolled in {target.class_id}",
            field="student",
        )
    if target.what == "conduct":
        rows = await read(
            session.conn, conduct, session.school, year=target.year, student_id=target.student, term=target.term
        )
        return (rows[0]["level"] if rows else None), (lambda raw, field: Level.parse(raw, field).value)
    catalogue = await subject_row(session, target.year, target.subject or "", grade)
    kind = Kind(catalogue["kind"])
    if target.kind == "regular" and not 1 <= target.slot <= int(catalogue["regular_count"]):
        raise ValidationError(
            "assessment.slot",
            "lần ĐĐGtx không có với môn này",
            "no such regular assessment slot for this subject",
            field="slot",
            rule="TT22 Đ.6.2",
        )
    where: dict[str, Any] = {"subject": target.subject, "term": target.term, "kind": target.kind, "slot": target.slot}
    rows = await read(session.conn, assessments, session.school, year=target.year, student_id=target.student, **where)
    return (rows[0]["value"] if rows else None), (lambda raw, field: value_text(kind, raw, field))


async def file_request(
    ledger: Ledger,
    school: str,
    actor: Actor,
    target: CorrectionTarget,
    *,
    old_value: Any,
    new_value: Any,
    reason: str,
    attachment_sha256: str | None = None,
) -> Event:
    """A teacher's written request to correct one value (Điều 17.3)."""
    why = identity.text(reason, "reason", limit=2000)
    if attachment_sha256 is not None and not SHA256_HEX.match(attachment_sha256):
        raise ValidationError(
            "correction.attachment",
            "mã băm tệp đính kèm là SHA-256, 64 chữ số hex",
            "the attachment hash is SHA-256, 64 hex digits",
            field="attachment_sha256",
        )

    async def decide(session: SchoolSession) -> list[NewEvent]:
        return await request_events(session, actor, target, old_value, new_value, why, attachment_sha256)

    [event] = await ledger.decide(school, decide)
    return event


async def request_events(
    session: SchoolSession,
    actor: Actor,
    target: CorrectionTarget,
    old_value: Any,
    new_value: Any,
    why: str | None,
    attachment_sha256: str | None,
) -> list[NewEvent]:
    """The `correction.requested` event of a teacher's request, checked against the deadlines, the
    teacher's assignment, the recorded value and the requests already waiting."""
    await check_change(
        session, Change.CORRECTION, year=target.year, term=target.term, students=[target.student], field="new_value"
    )
    role, scope = (
        (Role.HOMEROOM_TEACHER, {"year": target.year, "class_id": target.class_id})
        if target.what == "conduct"
        else (
            Role.SUBJECT_TEACHER,
            {"year": target.year, "class_id": target.class_id, "subject": target.subject, "term": target.term},
        )
    )
    if not await holds(session, str(actor.user), role, session.now().date(), **scope):
        raise Refused(
            "correction.not_assigned",
            "Chỉ giáo viên được phân công nhập dữ liệu này mới gửi đề nghị điều chỉnh nó.",
            "Only the teacher assigned to this data may request its correction.",
            field="actor",
            rule=RULE,
        )
    current, parse = await _current(session, target)
    old = None if old_value in (None, "") else parse(old_value, "old_value")
    if old != current:
        raise Conflict(
            "correction.stale",
            f"Giá trị đang ghi là {current or '(trống)'}, không phải {old or '(trống)'}.",
            f"The recorded value is {current or '(none)'}, not {old or '(none)'}.",
            field="old_value",
            recorded=current,
        )
    new = parse(new_value, "new_value")
    if new == current:
        raise ValidationError(
            "correction.same",
            "giá trị mới trùng giá trị đang ghi",
            "the new value equals the recorded one",
            field="new_value",
        )
    pending = [
        r
        for r in await read(session.conn, corrections, session.school, status="pending")
        if r["target"] == target.payload()
    ]
    if pending:
        raise Conflict(
            "correction.pending",
            "Đã có một đề nghị điều chỉnh đang chờ duyệt cho giá trị này.",
            "A correction request for this value is already waiting for a decision.",
            field="target",
            request=str(pending[0]["request_id"]),
        )
    payload = {
        "request": str(uuid4()),
        "target": target.payload(),
        "old": old,
        "new": new,
        "reason": why,
        "attachment_sha256": attachment_sha256,
    }
    return [NewEvent(CORRECTION_REQUESTED, payload, actor)]


async def decide_request(
    ledger: Ledger, school: str, actor: Actor, request_id: UUID, *, approve: bool, reason: str
) -> list[Event]:
    """Leadership approves or rejects a request, with a reason. The approver holds the principal's or
    a vice-principal's role at that moment and is not the requester; a request is decided once."""
    why = identity.text(reason, "reason", limit=2000)

    async def decide(session: SchoolSession) -> list[NewEvent]:
        request = await request_row(session, request_id)
        if request["status"] != "pending":
            verb = {"approved": "đã được duyệt", "rejected": "đã bị từ chối", "expired": "đã hết hạn"}[
                request["status"]
            ]
            raise Conflict(
                f"correction.{request['status']}",
                f"Đề nghị này {verb}; không thể quyết định lại.",
                f"This request is already {request['status']}; it cannot be decided again.",
                field="request",
                rule=RULE,
            )
        if str(actor.user) == request["requested_by"]:
            raise Refused(
                "correction.own_request",
                "Không ai được tự duyệt đề nghị điều chỉnh của chính mình.",
                "Nobody decides their own correction request.",
                field="actor",
                rule=RULE,
            )
        today = session.now().date()
        if not (
            await holds(session, str(actor.user), Role.PRINCIPAL, today)
            or await holds(session, str(actor.user), Role.LEADERSHIP, today)
        ):
            raise Refused(
                "correction.not_leadership",
                f"{actor.user} không giữ vai trò hiệu trưởng hay phó hiệu trưởng vào ngày {vietnamese.day(today)}.",
                f"{actor.user} is not the principal or a vice-principal on {today.isoformat()}.",
                field="actor",
                rule=RULE,
            )
        target = CorrectionTarget.from_payload(request["target"])
        if not approve:
            return [NewEvent(CORRECTION_REJECTED, {"request": str(request_id), "reason": why}, actor)]
        await check_change(
            session, Change.CORRECTION, year=target.year, term=target.term, students=[target.student], field="request"
        )
        current, _parse = await _current(session, target)
        if current != request["old_value"]:
            raise Conflict(
                "correction.stale",
                f"Giá trị đã đổi thành {current} từ khi gửi đề nghị; đề nghị này không còn đúng.",
                f"The value has changed to {current} since the request; it no longer applies.",
                field="request",
            )
        approval = NewEvent(CORRECTION_APPROVED, {"request": str(request_id), "reason": why}, actor)
        change = {
            **request["target"],
            "request": str(request_id),
            "approval": str(approval.event_id),
            "value": request["new_value"],
            "previous": request["old_value"],
            "requested_by": request["requested_by"],
        }
        kind = CONDUCT_CORRECTED if target.what == "conduct" else ASSESSMENT_CORRECTED
        return [approval, NewEvent(kind, change, actor)]

    return await ledger.decide(school, decide)


async def expire_pending(ledger: Ledger, school: str) -> list[Event]:
    """Expire pending requests whose deadline has passed: the close, or the final date for a
    student with summer work (Điều 25)."""

    async def decide(session: SchoolSession) -> list[NewEvent]:
        now = session.now()
        expired = []
        for request in await read(session.conn, corrections, session.school, status="pending"):
            target = CorrectionTarget.from_payload(request["target"])
            calendar = await calendar_of(session, target.year)
            if now <= calendar.close or await reopened(session, target.year, now):
                continue
            summer = await summer_pending(session, target.year, target.student)
            deadline = calendar.final if summer else calendar.close
            if now > deadline:
                payload = {"request": str(request["request_id"]), "deadline": format_time(deadline)}
                expired.append(NewEvent(CORRECTION_EXPIRED, payload, SYSTEM))
        return expired

    return await ledger.decide(school, decide)
