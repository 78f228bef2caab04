"""Every projection the service maintains, in the order they are applied."""

from __future__ import annotations

from ledger import (
    assessments,
    class_sheets,
    corrections,
    deadlines,
    issuance,
    school_year,
    schools,
    signatures,
    transfers,
)
from ledger.projection import Projection

PROJECTIONS: tuple[Projection, ...] = (
    schools.PROJECTION,
    school_year.PROJECTION,
    assessments.PROJECTION,
    deadlines.PROJECTION,
    corrections.PROJECTION,
    signatures.PROJECTION,
    issuance.PROJECTION,
    transfers.PROJECTION,
    class_sheets.PROJECTION,
)
