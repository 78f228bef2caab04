"""Every read model of the school domain, in the order they are applied, and the ledger that keeps them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.base.clock import Clock
from ledger.log.append import Ledger
from ledger.log.projection import Projection
from ledger.school.accounts.projection import PROJECTION as ACCOUNTS
from ledger.school.assessments.projection import PROJECTION as ASSESSMENTS
from ledger.school.calendar.projection import PROJECTION as CALENDAR
from ledger.school.class_sheets.projection import PROJECTION as CLASS_SHEETS
from ledger.school.corrections.projection import PROJECTION as CORRECTIONS
from ledger.school.issuance.projection import PROJECTION as ISSUANCE
from ledger.school.notices.projection import PROJECTION as NOTICES
from ledger.school.schools.projection import PROJECTION as SCHOOLS
from ledger.school.signatures.projection import PROJECTION as SIGNATURES
from ledger.school.transfers.projection import PROJECTION as TRANSFERS
from ledger.school.years.projection import PROJECTION as YEARS

PROJECTIONS: tuple[Projection, ...] = (
    SCHOOLS,
    YEARS,
    ASSESSMENTS,
    CALENDAR,
    CORRECTIONS,
    SIGNATURES,
    ISSUANCE,
    NOTICES,
    TRANSFERS,
    CLASS_SHEETS,
    ACCOUNTS,
)


def school_ledger(engine: AsyncEngine, *, clock: Clock | None = None, linger: float = 0.0) -> Ledger:
    """The schools' ledger: the events chain, folding every read model above on each append."""
    return Ledger(engine, PROJECTIONS, clock=clock, linger=linger)
