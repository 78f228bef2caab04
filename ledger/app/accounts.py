"""Creating an account as a signed-in person, by whichever door (the API, `hocba account create`):
auditor and integration accounts, which read every record, are made by the principal only and each
raises an alert (Điều 5.3c); every other account by the admin."""

from __future__ import annotations

from audit.rules import alert
from audit.trail import AccessTrail
from ledger.base.clock import Clock
from ledger.format.envelope import Actor
from ledger.log.append import Ledger
from ledger.school.accounts.commands import PRIVILEGED, NewAccount, create_account, maker_of
from ledger.school.rules.policy import AccountKind, Principal


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
    needed = maker_of(kind)  # create_account refuses an actor acting in any other role
    acting = needed.value if needed in principal.roles else ",".join(sorted(r.value for r in principal.roles))
    actor = Actor(principal.staff_id or principal.username, acting or "NONE", account=principal.username)
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
    if kind in PRIVILEGED:  # every account that reads all records is known to auditors and the principal
        now = clock.now()
        detail = {"kind": kind.value, "created_by": principal.username}
        await trail.raise_alerts(principal.school, [alert("privileged_account", made.username, now, now, detail)])
    return made
