"""Registering a school, or changing its registered details."""

from __future__ import annotations

from typing import Any

from ledger.base.errors import ValidationError
from ledger.format.envelope import Actor, NewEvent
from ledger.school.schools.tables import SCHOOL_REGISTERED


def registration(
    name: str,
    actor: Actor,
    *,
    ministry_code: str | None = None,
    province: str | None = None,
    district: str | None = None,
    address: str | None = None,
) -> NewEvent:
    """The event that registers a school (or changes its registered details)."""
    if not name or not name.strip():
        raise ValidationError(
            "school.name", "tên trường không được để trống", "the school name is required", field="name"
        )
    if ministry_code is not None and not ministry_code.isalnum():
        raise ValidationError(
            "school.ministry_code",
            f"mã trường {ministry_code!r} chỉ gồm chữ và số",
            f"the school code {ministry_code!r} must be letters and digits only",
            field="ministry_code",
        )
    payload: dict[str, Any] = {
        "name": name.strip(),
        "ministry_code": ministry_code,
        "province": province,
        "address": address,
    }
    if district:  # absent from registrations made before the district was recorded
        payload["district"] = district.strip()
    return NewEvent(SCHOOL_REGISTERED, payload, actor)
