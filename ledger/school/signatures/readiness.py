"""When a học bạ may be signed (Điều 18.3–18.6): once the year's results can no longer change by entry
(term II's entry window has closed, or the principal has had entry locked), with every result the
signer vouches for entered, and in the order of Điều 18: the subject teachers, the homeroom teacher,
the principal, then the school's seal."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base.errors import Refused
from ledger.log.append import SchoolSession
from ledger.school.calendar.checks import entry_still_open, period_open
from ledger.school.calendar.model import Window

YEAR_TERM = 2  # the year's results stand once term II's entry is over
ORDER = ["HOMEROOM_TEACHER", "PRINCIPAL", "ORGANISATION"]
SIGNERS_VI = {
    "HOMEROOM_TEACHER": "giáo viên chủ nhiệm",
    "PRINCIPAL": "hiệu trưởng",
    "ORGANISATION": "dấu của nhà trường (văn thư)",
}
SIGNERS_EN = {"HOMEROOM_TEACHER": "the homeroom teacher", "PRINCIPAL": "the principal", "ORGANISATION": "the seal"}


def missing_signers(role: str, rows: list[dict[str, Any]], subjects: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """Who must sign before `role` may (Điều 18, 24.5), in Vietnamese and in English, named by role
    and subject name; `subjects` maps the học bạ's subject codes to their names, in its order."""
    if role == "SUBJECT_TEACHER":
        return [], []
    signed_subjects = {r["subject"] for r in rows if r["role"] == "SUBJECT_TEACHER"}
    roles = {r["role"] for r in rows}
    waiting = [name for code, name in subjects.items() if code not in signed_subjects]
    before = [r for r in ORDER[: ORDER.index(role)] if r not in roles]
    return (
        [f"giáo viên môn {name}" for name in waiting] + [SIGNERS_VI[r] for r in before],
        [f"the {name} teacher" for name in waiting] + [SIGNERS_EN[r] for r in before],
    )


def missing_results(model: Mapping[str, Any], role: str, subject: str | None) -> list[str]:
    """The year's results a signer of `role` vouches for that are not entered: the subject's year
    result for its teacher; every subject's and the year's conduct for the others (TT22 Đ.9, 10)."""
    [year] = model["years"]
    lines = [s for s in year["subjects"] if role != "SUBJECT_TEACHER" or s["code"] == subject]
    missing = [f"kết quả cả năm môn {s['name']}" for s in lines if s.get("year") in (None, "")]
    if role != "SUBJECT_TEACHER" and not (year.get("conduct") or {}).get("year"):
        missing.append("kết quả rèn luyện cả năm")
    return missing


def _incomplete(model: Mapping[str, Any], missing: list[str]) -> Refused:
    name = model["student"]["full_name"]
    return Refused(
        "signature.incomplete",
        f"Học bạ của {name} còn thiếu {', '.join(missing)}: chỉ ký khi đã có đủ kết quả.",
        f"The học bạ of {name} lacks {len(missing)} result(s): it is signed once every one is entered.",
        field="student",
        rule="Điều 18.3, 18.4",
    )


def _what(model: Mapping[str, Any]) -> tuple[str, str]:
    name = model["student"]["full_name"]
    return f"học bạ của {name}", f"the học bạ of {name}"


class Readiness:
    """The readiness rules for one batch of học bạ of one year, at one moment: each class's entry
    window (and lock) read once, whatever the number of pupils."""

    def __init__(self, conn: AsyncConnection, school: str, year: str, now: datetime) -> None:
        self.conn, self.school, self.year, self.now = conn, school, year, now
        self._windows: dict[tuple[str, str | None], Window | None] = {}

    async def window(self, class_id: str, role: str, subject: str | None) -> Window | None:
        """Term II's entry window while the class's results (the subject's, for its teacher) may still
        change by entry; None once they cannot."""
        key = (class_id, subject if role == "SUBJECT_TEACHER" else None)
        if key not in self._windows:
            self._windows[key] = await entry_still_open(
                self.conn, self.school, self.year, YEAR_TERM, self.now, class_id=class_id, subject=key[1]
            )
        return self._windows[key]

    async def refusal(self, model: Mapping[str, Any], class_id: str, role: str, subject: str | None) -> Refused | None:
        """Why this học bạ cannot be signed by `role` now, as the append path would say; None if it
        can (the order of signatures apart). What a page shows before the signer clicks."""
        window = await self.window(class_id, role, subject)
        if window is not None:
            return period_open(window, YEAR_TERM, _what(model))
        missing = missing_results(model, role, subject)
        return _incomplete(model, missing) if missing else None

    async def check(
        self, session: SchoolSession, model: Mapping[str, Any], class_id: str, role: str, subject: str | None
    ) -> None:
        """The refusal on the append path, under the school's lock (whose session reads this batch)."""
        window = await self.window(class_id, role, subject)
        if window is not None:
            session.changes_at(window.closes)
        refused = await self.refusal(model, class_id, role, subject)
        if refused is not None:
            raise refused
