"""Opening an account as a signed-in person, by whichever door (the API, the pages, `hocba account
create`): the principal opens the accounts that read every record (auditors, integration clients) and
those of the staff who hold a leadership, admin or clerk role, each with an alert; the admin or the
principal every other one (Điều 5.3c)."""

from __future__ import annotations

from collections.abc import Sequence

from audit.rules import alert
from audit.trail import AccessTrail
from ledger.base.clock import Clock
from ledger.format.envelope import Actor, Event
from ledger.log.append import Ledger
from ledger.school.accounts.commands import NewAccount, create_account
from ledger.school.rules.policy import AccountKind, Principal
from ledger.school.rules.roles import Role
from ledger.school.years.grants import PRIVILEGED as LEADING_ROLES
from ledger.school.years.tables import ASSIGNMENT_MADE


def acting_role(principal: Principal) -> str:
    """The role a signed-in person manages accounts in: the principal's when they hold it (it reaches
    every account), else the admin's; the ledger refuses anyone else."""
    for role in (Role.PRINCIPAL, Role.ADMIN):
        if role in principal.roles:
            return role.value
    return ",".join(sorted(r.value for r in principal.roles)) or "NONE"


async def create_account_as(
    ledger: Ledger,
    trail: AccessTrail,
    clock: Clock,
    principal: Principal,
    username: str,
    kind: AccountKind,
    *,
    staff_id: str | None = None,
    student_id: str | None = None,
    password: str | None = None,
) -> NewAccount:
    """Open an account in the principal's school as `principal` (the account.opened event names them);
    refused when the kind is not theirs to make."""
    actor = Actor(principal.staff_id or principal.username, acting_role(principal), account=principal.username)
    made = await create_account(
        ledger,
        principal.school,
        username,
        kind,
        actor=actor,
        staff_id=staff_id,
        student_id=student_id,
        password=password,
    )
    if made.privileged:  # every account that reads all records, or a leader's, is known to auditors
        now = clock.now()
        detail = {"kind": kind.value, "staff": staff_id, "created_by": principal.username}
        await trail.raise_alerts(principal.school, [alert("privileged_account", made.username, now, now, detail)])
    return made


async def grant_alerts(trail: AccessTrail, clock: Clock, school: str, events: Sequence[Event], by: str) -> None:
    """A grant of a leadership, admin, clerk or IT-reviewer role (or the principal's), in force or
    waiting for the principal, raises an alert to the principal and auditors, by whichever door it
    came (the API's import, `hocba import assignments`)."""
    now = clock.now()
    found = [
        alert(
            "privileged_grant",
            str(e.payload["staff"]),
            now,
            now,
            {"role": e.payload["role"], "pending": bool(e.payload.get("pending")), "granted_by": by},
        )
        for e in events
        if e.type == ASSIGNMENT_MADE and Role(e.payload["role"]) in LEADING_ROLES
    ]
    if found:
        await trail.raise_alerts(school, found)
