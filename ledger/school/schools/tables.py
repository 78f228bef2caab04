"""The school's registration event and its read model."""

from __future__ import annotations

from sqlalchemy import Column, Text

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
        Column("district", Text),  # huyện, quận, thị xã or thành phố: the học bạ's place line
    ],
)
