"""The chain of authority over roles (Điều 5.3c, 24.3, 33.2): who may grant which role, the decision
that appoints a principal, and the principal's approval of the grants the administrator records.

- Teaching roles come from the sector database and take effect when recorded.
- Leadership, administration, the clerk's seal and the IT reviewer are the principal's to give: a
  grant recorded by anyone else waits, `pending`, until the principal approves it, and grants nothing
  meanwhile.
- The principal's own role comes from above the school: a decision of the Phòng or Sở GD&ĐT, recorded
  with its number, issuer, date and the SHA-256 of the document (and a detached CMS signature over it,
  where one is supplied).
- No one grants a role to themselves, and no one approves their own grant."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ledger.base.errors import Conflict, Forbidden, NotFound, ValidationError
from ledger.format.envelope import Actor, Event, NewEvent
from ledger.log.append import Ledger, SchoolSession
from ledger.log.projection import read
from ledger.school.rules import identity
from ledger.school.rules.policy import Principal
from ledger.school.rules.roles import Role
from ledger.school.years.model import Decision
from ledger.school.years.queries import holds
from ledger.school.years.tables import ASSIGNMENT_APPROVED, ASSIGNMENT_REFUSED, assignments

NEEDS_PRINCIPAL = frozenset({Role.LEADERSHIP, Role.ADMIN, Role.CLERK, Role.IT_REVIEWER})
PRIVILEGED = NEEDS_PRINCIPAL | {Role.PRINCIPAL}


def grant_terms(role: Role, decision: Decision | None, actor: Actor, *, bootstrap: bool, field: str) -> dict[str, Any]:
    """What an assignment.made payload adds for `role`: the decision it cites, and whether it waits
    for approval. A principal's role needs the appointing decision; recorded by anyone but the
    principal in force (a handover), it waits: for that principal's approval, or, when the school has
    no principal in force, for a vice-principal's, so that no one alone makes a principal."""
    terms: dict[str, Any] = {}
    if role is Role.PRINCIPAL and decision is None:
        raise ValidationError(
            "assignment.decision_required",
            "Phân công Hiệu trưởng cần quyết định bổ nhiệm của Phòng hoặc Sở GD&ĐT: số, cơ quan ban hành, "
            "ngày và mã băm SHA-256 của văn bản.",
            "The principal's role needs the appointing decision of the Phòng or Sở GD&ĐT: its number, issuer, "
            "date and the SHA-256 of the document.",
            field=f"{field}.decision_number",
            rule="Điều 24.3, 33.2",
        )
    if decision is not None:
        terms["decision"] = decision.to_json()
    by_principal = str(actor.role) == Role.PRINCIPAL.value
    if role in PRIVILEGED and not by_principal and not bootstrap:
        terms["pending"] = True
    return terms


def ending_authority(role: Role, actor: Actor, decision: str | None) -> None:
    """Who may end an assignment: the roles the principal gives, and the principal's own, end only by
    the principal's act, the principal's own citing the decision from above; teaching roles end by
    the administrator or the principal."""
    if role is Role.PRINCIPAL and not decision:
        raise ValidationError(
            "assignment.decision_required",
            "Kết thúc nhiệm vụ Hiệu trưởng cần quyết định của Phòng hoặc Sở GD&ĐT; hãy ghi số quyết định.",
            "Ending the principal's role needs the decision of the Phòng or Sở GD&ĐT; give its number.",
            field="decision",
            rule="Điều 24.3, 33.2",
        )
    if role in PRIVILEGED and str(actor.role) != Role.PRINCIPAL.value:
        raise Forbidden(
            "assignment.needs_principal",
            "Chỉ Hiệu trưởng kết thúc phân công vai trò này.",
            "Only the principal ends an assignment of this role.",
            field="assignment",
            rule="Điều 5.3c",
        )


async def acting_holds(session: SchoolSession, actor: Actor) -> None:
    """The principal's or the admin's act is checked when its events are appended: the actor holds
    the role it acts in that day, not only when the request was let through."""
    role = str(actor.role)
    if role in (Role.PRINCIPAL.value, Role.ADMIN.value) and not await holds(
        session, str(actor.user), Role(role), session.now().date()
    ):
        raise Forbidden(
            "role.not_held",
            f"{actor.user} không giữ vai trò {role} vào lúc ghi.",
            f"{actor.user} does not hold {role} at the time of writing.",
            field="actor",
            rule="Điều 5.3c",
        )


async def _pending_grant(session: SchoolSession, assignment_id: UUID) -> dict[str, Any]:
    rows = await read(session.conn, assignments, session.school, assignment_id=assignment_id)
    if not rows:
        raise NotFound("assignment.unknown", "không có phân công này", "no such assignment", field="assignment")
    if not rows[0]["pending"]:
        raise Conflict(
            "assignment.not_pending",
            "Phân công này không chờ phê duyệt.",
            "This assignment is not waiting for approval.",
            field="assignment",
        )
    return rows[0]


def deciding_role(principal: Principal) -> str:
    """The role a grant is decided in: the principal's when held, else a vice-principal's."""
    return Role.PRINCIPAL.value if Role.PRINCIPAL in principal.roles else Role.LEADERSHIP.value


async def _may_decide(session: SchoolSession, actor: Actor, role: Role) -> None:
    """Checked when the decision is appended, not only at the request's guard."""
    today, who = session.now().date(), str(actor.user)
    if str(actor.role) == Role.PRINCIPAL.value and await holds(session, who, Role.PRINCIPAL, today):
        return
    no_principal = not await holds(session, "", Role.PRINCIPAL, today, anyone=True)
    deputy = str(actor.role) == Role.LEADERSHIP.value and await holds(session, who, Role.LEADERSHIP, today)
    if role is Role.PRINCIPAL and no_principal and deputy:
        return
    raise Forbidden(
        "assignment.not_yours",
        "Chỉ Hiệu trưởng đương nhiệm phê duyệt phân công này (khi trường chưa có Hiệu trưởng đương nhiệm, "
        "Phó hiệu trưởng phê duyệt quyết định bổ nhiệm Hiệu trưởng).",
        "Only the principal in force decides this grant (when the school has no principal in force, a "
        "vice-principal decides the appointment of a principal).",
        field="assignment",
        rule="Điều 5.3c, 33.2",
    )


async def decide_grant(
    ledger: Ledger,
    school: str,
    actor: Actor,
    assignment_id: UUID,
    *,
    approve: bool,
    note: str | None = None,
) -> Event:
    """The principal approves a waiting grant (it takes effect) or refuses it (it never does), with a
    note (the decision's number, or the reason for a refusal); a new principal's grant, when the
    school has no principal in force, a vice-principal. No one decides their own grant."""
    note = identity.text(note, "note", required=not approve, limit=300)

    async def decide(session: SchoolSession) -> list[NewEvent]:
        row = await _pending_grant(session, assignment_id)
        await _may_decide(session, actor, Role(row["role"]))
        if row["staff_id"] == str(actor.user):
            raise Forbidden(
                "assignment.self",
                "Không ai tự phê duyệt phân công cho chính mình.",
                "No one approves a grant to themselves.",
                field="assignment",
                rule="Điều 5.3c",
            )
        payload = {"assignment": str(assignment_id), "note": note}
        return [NewEvent(ASSIGNMENT_APPROVED if approve else ASSIGNMENT_REFUSED, payload, actor)]

    [event] = await ledger.decide(school, decide)
    return event
