"""What a correction request is about: an assessment of a sheet, or a term's conduct rating."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ledger.base.errors import ValidationError
from ledger.school.rules import identity

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class CorrectionTarget:
    """The value to correct: an assessment of a sheet, or a term's conduct rating."""

    what: str  # "assessment" or "conduct"
    year: str
    term: int
    class_id: str
    student: str
    subject: str | None = None
    kind: str | None = None  # regular, midterm, final
    slot: int = 0

    def payload(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "year": self.year,
            "term": self.term,
            "class": self.class_id,
            "student": self.student,
            "subject": self.subject,
            "kind": self.kind,
            "slot": self.slot,
        }

    @classmethod
    def from_payload(cls, p: dict[str, Any]) -> CorrectionTarget:
        return cls(p["what"], p["year"], p["term"], p["class"], p["student"], p["subject"], p["kind"], p["slot"])


def assessment_target(
    year: str, term: Any, class_id: str, subject: str, student: str, kind: str | None, slot: int | None
) -> CorrectionTarget:
    if kind not in ("regular", "midterm", "final"):
        raise ValidationError(
            "correction.kind",
            "loại đánh giá là regular, midterm hoặc final",
            "the kind is regular, midterm or final",
            field="kind",
        )
    return CorrectionTarget(
        "assessment",
        identity.school_year(year),
        identity.term(term),
        identity.class_id(class_id),
        identity.personal_id(student),
        subject.strip().upper(),
        kind,
        (slot or 0) if kind == "regular" else 0,
    )


def conduct_target(year: str, term: Any, class_id: str, student: str) -> CorrectionTarget:
    return CorrectionTarget(
        "conduct",
        identity.school_year(year),
        identity.term(term),
        identity.class_id(class_id),
        identity.personal_id(student),
    )
