"""Path and query parameters shared by the routes, and the answer of a command that appends."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar.params import PathParameter, QueryParameter

from ledger.format.envelope import Event

V1 = "/api/v1"
SCHOOL = V1 + "/schools/{school:str}"
SchoolId = Annotated[str, PathParameter(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$", description="school id")]
StudentId = Annotated[str, PathParameter(pattern=r"^\d{12}$", description="12-digit personal identifier")]
ClassId = Annotated[str, PathParameter(pattern=r"^[6-9][A-Za-z0-9]{1,7}$", description="class, e.g. 6A1")]
SubjectCode = Annotated[
    str,
    PathParameter(pattern=r"^[^/]{1,64}$", description="catalogue code (TOAN) or the subject's name (Toán, ngữ văn)"),
]
Term = Annotated[int, PathParameter(ge=1, le=2, description="term 1 or 2 (also by name: I, II, HK I, Học kì 1)")]
Period = Annotated[Literal["1", "2", "year"], PathParameter(description="term 1, term 2 or the year")]
ImportKind = Annotated[Literal["staff", "students", "assignments"], PathParameter()]
IssuanceId = Annotated[str, PathParameter(pattern=r"^[a-z0-9-]{2,120}$", description="an issued học bạ's id")]
TransferId = Annotated[str, PathParameter(pattern=r"^[a-z0-9-]{2,120}$", description="a transfer record's id")]
Fingerprint = Annotated[str, PathParameter(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the certificate, hex")]
YearPath = Annotated[str, PathParameter(pattern=r"^\d{4}-\d{4}$", description="school year, e.g. 2025-2026")]
Year = Annotated[str, QueryParameter(pattern=r"^\d{4}-\d{4}$", description="school year, e.g. 2025-2026")]
AsOf = Annotated[int | None, QueryParameter(ge=1, description="read as of this seq")]


def appended(events: list[Event]) -> dict[str, Any]:
    return {"appended": len(events), "seqs": [e.seq for e in events], "event_ids": [str(e.event_id) for e in events]}


SCHOOL_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._@-]{1,63}$"
SchoolField = Annotated[str, msgspec.Meta(pattern=SCHOOL_PATTERN)]
UsernameField = Annotated[str, msgspec.Meta(pattern=USERNAME_PATTERN)]


class RevocationIn(msgspec.Struct):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
