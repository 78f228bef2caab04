"""Passed dates stay passed: what a new calendar may change in the one in force (Điều 25, 33.3c, 36.2).

A calendar change never moves a moment that has already passed (an entry window's opening or
closing, the close, the final date), and never moves a moment that is still ahead into the past: a
period closes early through a lock on the principal's order (Điều 36.2), an event that names that
order, not by rewriting the date after the fact. Data changes after the final date only within a
reopening that names the Sở's authorising decision (`reopenings`), never by a new calendar.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from ledger.base.clock import format_time
from ledger.base.errors import Refused
from ledger.school.calendar.model import Calendar, vietnamese_time


def moments(calendar: Calendar) -> Iterator[tuple[str, str, str, str, datetime]]:
    """Each moment a change can be judged against: field, Vietnamese and English name, article, time."""
    for term, window in sorted(calendar.entry.items()):
        yield (
            f"entry.{term}.opens",
            f"thời điểm mở nhập học kì {term}",
            f"term {term}'s entry opening",
            ("Điều 33.3c"),
            window.opens,
        )
        yield (
            f"entry.{term}.closes",
            f"hạn đóng nhập học kì {term}",
            f"term {term}'s entry closing",
            ("Điều 33.3c"),
            window.closes,
        )
    yield "close", "hạn chốt dữ liệu", "the close", "Điều 25.1", calendar.close
    yield "final", "ngày cuối cùng", "the final date", "Điều 25.4", calendar.final


def check_move(current: Calendar, new: Calendar, now: datetime) -> None:
    """Refuse a new calendar that moves a passed moment, or moves a coming one into the past."""
    after = {field: moment for field, *_, moment in moments(new)}
    for field, vi, en, rule, before in moments(current):
        moved = after[field]
        if moved == before:
            continue
        if before <= now:
            raise Refused(
                "calendar.passed",
                f"{vi.capitalize()} ({vietnamese_time(before)}) đã qua, không thể dời sang "
                f"{vietnamese_time(moved)}. Sau hạn, dữ liệu chỉ thay đổi qua đề nghị điều chỉnh; sau ngày "
                "cuối cùng, chỉ khi Sở Giáo dục và Đào tạo có quyết định cho mở lại.",
                f"{en.capitalize()} ({format_time(before)}) has passed and cannot move to {format_time(moved)}. "
                "After a deadline data changes only through a correction request; after the final date only "
                "within a reopening authorised by the Department of Education.",
                field=field,
                rule=rule,
                deadline=format_time(before),
            )
        if moved <= now:
            raise Refused(
                "calendar.into_past",
                f"Không thể dời {vi} về thời điểm đã qua ({vietnamese_time(moved)}). Muốn dừng nhập sớm, quản "
                "trị viên khóa nhập liệu theo quyết định của Hiệu trưởng (Điều 36.2).",
                f"{en.capitalize()} cannot move into the past ({format_time(moved)}). To stop entry early, the "
                "admin locks entry on the principal's order (Điều 36.2).",
                field=field,
                rule=f"{rule}, Điều 36.2",
                deadline=format_time(before),
            )
