"""How account events fold into `account_records`."""

from __future__ import annotations

from ledger.format.envelope import Event
from ledger.log.projection import Projection, ProjectionWriter, copy_payload
from ledger.school.accounts.tables import ACCOUNT_DISABLED, ACCOUNT_OPENED, account_records


def _by(event: Event) -> str:
    """The account that acted, else the person (a bootstrap, or the service)."""
    return str(event.actor.account or event.actor.user)


async def _on_disabled(w: ProjectionWriter, e: Event) -> None:
    key = {"username": e.payload["username"]}
    await w.amend(account_records, key, disabled_by=_by(e), reason=e.payload.get("reason"))


PROJECTION = Projection(
    "accounts",
    (account_records,),
    {
        ACCOUNT_OPENED: copy_payload(
            account_records,
            {
                "username": "username",
                "kind": "kind",
                "staff_id": "staff",
                "student_id": "student",
                "opened_by": _by,
                "disabled_by": lambda _e: None,
                "reason": lambda _e: None,
            },
        ),
        ACCOUNT_DISABLED: _on_disabled,
    },
)
