"""How a school's registration folds into its read model."""

from __future__ import annotations

from ledger.log.projection import Projection, copy_payload
from ledger.school.schools.tables import SCHOOL_REGISTERED, schools

PROJECTION = Projection(
    "schools",
    (schools,),
    {
        SCHOOL_REGISTERED: copy_payload(
            schools,
            {
                "name": "name",
                "ministry_code": "ministry_code",
                "province": "province",
                "district": "district",
                "address": "address",
            },
        )
    },
)
