"""Every projection the service maintains, in the order they are applied."""

from __future__ import annotations

from ledger.log.projection import Projection
from ledger.school import assessments, class_sheets, corrections, issuance, schools, signatures, transfers
from ledger.school import calendar as deadlines
from ledger.school import years as school_year

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
