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
from ledger.school.calendar.checks import check_entry_over, entry_still_open, period_open

YEAR_TERM = 2  # the year's results stand once term II's entry is over
ORDER = ["HOMEROOM_TEACHER", "PRINCIPAL", "ORGANISATION"]
SIGNERS_VI = {
    "HOMEROOM_TEACHER": "giáo viên chủ nhiệm",
    "PRINCIPAL": "hiệu trưởng",
    "ORGANISATION": "dấu của nhà trường (văn thư)",
}
SIGNERS_EN = {"HOMEROOM_TEACHER": "the homeroom teacher", "PRINCIPAL": "the principal", "ORGANISATION": "the seal"}


def missing_signers(
    role: str, rows: list[dict[str, Any]], subjects: Mapping[str, str]
) -> tuple[list[str], list[str]]:
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


def _subject_scope(role: str, subject: str | None) -> str | None:
    return subject if role == "SUBJECT_TEACHER" else None


async def signing_refusal(
    conn: AsyncConnection,
    school: str,
    year: str,
    model: Mapping[str, Any],
    class_id: str,
    role: str,
    subject: str | None,
    now: datetime,
) -> Refused | None:
    """Why this học bạ cannot be signed by `role` now, as the append path would say; None if it can
    (the order of signatures apart). What a page shows before the signer clicks."""
    scope = _subject_scope(role, subject)
    window = await entry_still_open(conn, school, year, YEAR_TERM, now, class_id=class_id, subject=scope)
    if window is not None:
        return period_open(window, YEAR_TERM, _what(model))
    missing = missing_results(model, role, subject)
    return _incomplete(model, missing) if missing else None


async def check_signable(
    session: SchoolSession, year: str, model: Mapping[str, Any], class_id: str, role: str, subject: str | None
) -> None:
    """signing_refusal on the append path, under the school's lock."""
    scope = _subject_scope(role, subject)
    await check_entry_over(session, year, YEAR_TERM, _what(model), class_id=class_id, subject=scope)
    missing = missing_results(model, role, subject)
    if missing:
        raise _incomplete(model, missing)
