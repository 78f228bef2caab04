"""A year's calendar and a lock's scope, as values: parsed, validated and written without a database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

from ledger.base.clock import VN_TZ, format_time, parse_time
from ledger.base.errors import ValidationError
from ledger.school.calendar.tables import ANY
from ledger.school.rules import identity


class Change(StrEnum):
    """What kind of change is being made, for the rule."""

    ENTRY = "entry"  # typed or imported entry of a term's data: window, lock, close, final
    SUMMER = "summer"  # summer re-assessment and conduct re-assessment: close (pending students), final
    CORRECTION = "correction"  # filing or applying a correction: close (pending students), final
    TRANSFER = "transfer"  # results inherited from the sending school (Điều 26): close, final


@dataclass(frozen=True)
class Window:
    opens: datetime
    closes: datetime


@dataclass(frozen=True)
class Calendar:
    year: str
    terms: Mapping[int, tuple[date, date]]
    entry: Mapping[int, Window]
    close: datetime  # the year's data is closed (chốt) after this moment (Điều 25.1)
    final: datetime  # nothing changes after this moment (Điều 25.2, 25.4)
    order: str

    def payload(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "terms": {
                str(t): {"starts": s.isoformat(), "ends": e.isoformat()} for t, (s, e) in sorted(self.terms.items())
            },
            "entry": {
                str(t): {"opens": format_time(w.opens), "closes": format_time(w.closes)}
                for t, w in sorted(self.entry.items())
            },
            "close": format_time(self.close),
            "final": format_time(self.final),
            "order": self.order,
        }

    @classmethod
    def from_payload(cls, doc: Mapping[str, Any]) -> Calendar:
        return cls(
            doc["year"],
            {int(t): (date.fromisoformat(v["starts"]), date.fromisoformat(v["ends"])) for t, v in doc["terms"].items()},
            {int(t): Window(parse_time(v["opens"]), parse_time(v["closes"])) for t, v in doc["entry"].items()},
            parse_time(doc["close"]),
            parse_time(doc["final"]),
            doc["order"],
        )


@dataclass(frozen=True)
class Decision:
    """The Department of Education's written decision that authorises a reopening: its number, who
    issued it, when, and the SHA-256 of the document as filed."""

    number: str
    issued_by: str
    issued_on: date
    sha256: str

    @classmethod
    def parse(cls, number: Any, issued_by: Any, issued_on: Any, sha256: Any) -> Decision:
        return cls(
            str(identity.text(number, "document.number", limit=120)),
            str(identity.text(issued_by, "document.issued_by", limit=200)),
            identity.parse_date(issued_on, "document.issued_on"),
            identity.sha256_hex(sha256, "document.sha256"),
        )

    def payload(self) -> dict[str, str]:
        return {
            "number": self.number,
            "issued_by": self.issued_by,
            "issued_on": self.issued_on.isoformat(),
            "sha256": self.sha256,
        }


def end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, VN_TZ)


def start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, VN_TZ)


def default_calendar(year: str, order: str) -> Calendar:
    """The usual calendar: terms of the school year, entry open through each term and a week after,
    the close at the end of 31 May and the final date at the end of 30 August (Điều 25)."""
    first, last = (int(y) for y in identity.school_year(year).split("-"))
    terms = {1: (date(first, 9, 5), date(last, 1, 15)), 2: (date(last, 1, 19), date(last, 5, 25))}
    entry = {
        1: Window(start_of(date(first, 9, 5)), end_of(date(last, 1, 22))),
        2: Window(start_of(date(last, 1, 19)), end_of(date(last, 5, 31))),
    }
    return Calendar(year, terms, entry, end_of(date(last, 5, 31)), end_of(date(last, 8, 30)), order)


def parse_calendar(year: str, raw: Mapping[str, Any], order: str) -> Calendar:
    """A calendar from its JSON form (see Calendar.payload), validated."""
    try:
        calendar = Calendar.from_payload({**raw, "year": year, "order": order})
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise ValidationError(
            "calendar.invalid",
            f"lịch năm học không hợp lệ: {exc}",
            f"the calendar is not valid: {exc}",
            field="calendar",
        ) from None
    check_calendar(calendar)
    return calendar


def calendar_from(year: str, order: str, changes: Mapping[str, Any] | None = None) -> Calendar:
    """The usual calendar with the parts that differ (terms, entry, close, final), validated."""
    if changes is not None and not isinstance(changes, Mapping):
        raise ValidationError(
            "calendar.invalid", "lịch năm học là một đối tượng JSON", "a calendar is a JSON object", field="calendar"
        )
    return parse_calendar(year, {**default_calendar(year, order).payload(), **(changes or {})}, order)


def check_calendar(calendar: Calendar) -> None:
    def bad(field: str, vi: str, en: str) -> ValidationError:
        return ValidationError("calendar.invalid", vi, en, field=field)

    if set(calendar.terms) != {1, 2} or set(calendar.entry) != {1, 2}:
        raise bad("terms", "cần đúng học kì 1 và 2", "needs exactly terms 1 and 2")
    for term, (starts, ends) in calendar.terms.items():
        if not starts < ends:
            raise bad(f"terms.{term}", "học kì phải bắt đầu trước khi kết thúc", "a term starts before it ends")
        window = calendar.entry[term]
        if not window.opens < window.closes:
            raise bad(f"entry.{term}", "thời hạn nhập phải mở trước khi đóng", "an entry window opens before it closes")
    if calendar.terms[1][1] >= calendar.terms[2][0]:
        raise bad("terms.2", "học kì 2 bắt đầu sau khi học kì 1 kết thúc", "term 2 starts after term 1 ends")
    if not calendar.entry[2].closes <= calendar.close < calendar.final:
        raise bad(
            "close",
            "hạn chốt dữ liệu phải sau khi đóng nhập học kì 2 và trước ngày cuối cùng",
            "the close comes after term 2's entry closes and before the final date",
        )
    if not calendar.order.strip():
        raise bad("order", "cần số quyết định của hiệu trưởng", "the principal's order is required")


@dataclass(frozen=True)
class LockScope:
    year: str
    class_id: str = ANY
    subject: str = ANY
    term: int = 0  # 0: every term

    def key(self) -> dict[str, Any]:
        return {"year": self.year, "class_id": self.class_id, "subject": self.subject, "term": self.term}

    def describe(self, subject_name: str | None = None) -> str:
        """The scope as a school says it: "năm học 2025-2026, lớp 6A1, môn Toán, học kì I"."""
        parts = [f"năm học {self.year}"]
        if self.class_id != ANY:
            parts.append(f"lớp {self.class_id}")
        if self.subject != ANY:
            parts.append(f"môn {subject_name or self.subject}")
        if self.term:
            parts.append(f"học kì {'I' * self.term}")
        return ", ".join(parts)


def vietnamese_time(moment: datetime) -> str:
    return moment.astimezone(VN_TZ).strftime("%H:%M ngày %d/%m/%Y")
