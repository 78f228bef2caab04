"""The school registry: the first events of every chain."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Text

from ledger.format.envelope import Actor, NewEvent
from ledger.log.projection import Projection, copy_payload
from ledger.log.schema import projection_table

SCHOOL_REGISTERED = "school.registered"

schools = projection_table(
    "schools",
    keys=[],
    values=[
        Column("name", Text),
        Column("ministry_code", Text),
        Column("province", Text),
        Column("address", Text),
    ],
)


class SchoolError(ValueError):
    """A school registration is incomplete or malformed."""


def registration(
    name: str,
    actor: Actor,
    *,
    ministry_code: str | None = None,
    province: str | None = None,
    address: str | None = None,
) -> NewEvent:
    """The event that registers a school (or changes its registered details)."""
    if not name or not name.strip():
        raise SchoolError("name: tên trường không được để trống / the school name is required")
    if ministry_code is not None and not ministry_code.isalnum():
        raise SchoolError(f"ministry_code: {ministry_code!r} must be letters and digits only")
    payload: dict[str, Any] = {
        "name": name.strip(),
        "ministry_code": ministry_code,
        "province": province,
        "address": address,
    }
    return NewEvent(SCHOOL_REGISTERED, payload, actor)


PROJECTION = Projection(
    "schools",
    (schools,),
    {
        SCHOOL_REGISTERED: copy_payload(
            schools, {"name": "name", "ministry_code": "ministry_code", "province": "province", "address": "address"}
        )
    },
)
