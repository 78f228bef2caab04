"""Creating an account as a signed-in person, by whichever door (the API, `hocba account create`):
auditor and integration accounts, which read every record, are made by the principal only and each
raises an alert (Điều 5.3c); every other account by the admin."""

from __future__ import annotations

from audit.rules import alert
from audit.trail import AccessTrail
from ledger.base.clock import Clock
from ledger.base.errors import Forbidden
from ledger.format.envelope import Actor
from ledger.log.append import Ledger
from ledger.school.accounts.commands import PRIVILEGED, NewAccount, create_account
from ledger.school.rules.policy import AccountKind, Principal
from ledger.school.rules.roles import Role


def maker_of(kind: AccountKind) -> Role:
    """The role that makes an account of this kind."""
    return Role.PRINCIPAL if kind in PRIVILEGED else Role.ADMIN


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
    needed = maker_of(kind)
    if needed not in principal.roles:
        who = "Hiệu trưởng" if needed is Role.PRINCIPAL else "quản trị viên"
        raise Forbidden(
            "account.not_yours",
            f"Tài khoản loại {kind.value} chỉ do {who} tạo.",
            f"A {kind.value} account is made by the {needed.value.lower()} only.",
            field="kind",
            rule="Điều 5.3c",
        )
    actor = Actor(principal.staff_id or principal.username, needed.value, account=principal.username)
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
