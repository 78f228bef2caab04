"""Every projection the service maintains, in the order they are applied."""

from __future__ import annotations

from ledger import schools
from ledger.projection import Projection

PROJECTIONS: tuple[Projection, ...] = (schools.PROJECTION,)
