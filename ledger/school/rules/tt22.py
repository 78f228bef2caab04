"""The assessment rules of Thông tư 22/2021/TT-BGDĐT (TT22) for grades 6–9, as pure functions.

No database, no web: plain values in, plain values out. Scores are Decimal, rounded half up to one
decimal, never binary floats. Article references ("TT22 Đ.9.2") name the rule each function follows;
docs/ASSESSMENT.md restates them.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum
from typing import Any

from ledger.base.errors import ValidationError

ONE_DECIMAL = Decimal("0.1")
MAX_ABSENCES = 45  # TT22 Đ.12: more than 45 sessions in a year means not promoted
AT_LEAST = 6  # "ít nhất 06 môn học" in TT22 Đ.9.2 and Đ.15


class Level(StrEnum):
    """Learning and conduct levels (TT22 Đ.8, Đ.9.2), in their exact Vietnamese words."""

    TOT = "Tốt"
    KHA = "Khá"
    DAT = "Đạt"
    CHUA_DAT = "Chưa đạt"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @staticmethod
    def of_rank(rank: int) -> Level:
        return _BY_RANK[rank]

    @classmethod
    def parse(cls, value: Any, field: str) -> Level:
        text = unicodedata.normalize("NFC", str(value)).strip() if isinstance(value, str) else None
        for level in cls:
            if text is not None and text.casefold() == level.value.casefold():
                return level
        raise ValidationError(
            "level.invalid",
            f"Mức đánh giá phải là một trong: Tốt, Khá, Đạt, Chưa đạt (nhận được {value!r})",
            f"level must be one of Tốt, Khá, Đạt, Chưa đạt (got {value!r})",
            field=field,
            rule="TT22 Đ.8, Đ.9.2",
        )


_RANK = {Level.CHUA_DAT: 0, Level.DAT: 1, Level.KHA: 2, Level.TOT: 3}
_BY_RANK = {rank: level for level, rank in _RANK.items()}


class Mark(StrEnum):
    """The result of a comment-only assessment or subject: Đạt (Đ) or Chưa đạt (CĐ)."""

    DAT = "Đ"
    CHUA_DAT = "CĐ"

    @classmethod
    def parse(cls, value: Any, field: str) -> Mark:
        if isinstance(value, str):
            text = unicodedata.normalize("NFC", value).strip().casefold()
            if text in {"đ", "đạt"}:
                return cls.DAT
            if text in {"cđ", "chưa đạt"}:
                return cls.CHUA_DAT
        raise ValidationError(
            "mark.invalid",
            f"Môn đánh giá bằng nhận xét chỉ nhận Đ (Đạt) hoặc CĐ (Chưa đạt), không nhận {value!r}",
            f"a comment-only assessment is Đ (Đạt) or CĐ (Chưa đạt), not {value!r}",
            field=field,
            rule="TT22 Đ.5, Đ.9.1",
        )


class Kind(StrEnum):
    """How a subject is assessed: with scores (and comments), or with comments only (TT22 Đ.5)."""

    SCORE = "score"
    COMMENT = "comment"


class Promotion(StrEnum):
    PROMOTED = "promoted"
    COMPLETED = "completed"  # grade 9: hoàn thành chương trình THCS
    RE_ASSESSMENT = "re_assessment"
    SUMMER_TRAINING = "summer_training"
    NOT_PROMOTED = "not_promoted"


class Award(StrEnum):
    EXCELLENT = "excellent"  # Học sinh Xuất sắc
    GOOD = "good"  # Học sinh Giỏi


PROMOTION_VI = {
    Promotion.PROMOTED: "Được lên lớp",
    Promotion.COMPLETED: "Hoàn thành chương trình THCS",
    Promotion.RE_ASSESSMENT: "Kiểm tra lại trong hè",
    Promotion.SUMMER_TRAINING: "Rèn luyện trong kì nghỉ hè",
    Promotion.NOT_PROMOTED: "Không được lên lớp",
}
AWARD_VI = {Award.EXCELLENT: "Học sinh Xuất sắc", Award.GOOD: "Học sinh Giỏi"}

# --- scores -------------------------------------------------------------------------------------

_SCORE_TEXT = re.compile(r"^\d{1,2}(?:[.,]\d)?$")


def _bad_score(value: Any, field: str) -> ValidationError:
    return ValidationError(
        "score.invalid",
        f"Điểm phải là số từ 0 đến 10, có tối đa một chữ số thập phân, ví dụ 8,5 (nhận được {value!r})",
        f"a score is a number from 0 to 10 with at most one decimal, e.g. 8,5 or 8.5 (got {value!r})",
        field=field,
        rule="TT22 Đ.6, Đ.7",
    )


def parse_score(value: Any, field: str) -> Decimal:
    """A score of the 10-point scale: "8,5" (Vietnamese decimal comma), "8.5", 8.5 and 8 are
    accepted; more than one decimal, out of range, NaN and text are refused."""
    if isinstance(value, bool):
        raise _bad_score(value, field)
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _bad_score(value, field)
        text = repr(value)
    elif isinstance(value, Decimal):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise _bad_score(value, field)
    if not _SCORE_TEXT.match(text):
        raise _bad_score(value, field)
    score = Decimal(text.replace(",", "."))
    if score > 10:
        raise _bad_score(value, field)
    return score


def round_half_up(value: Decimal) -> Decimal:
    """Round to one decimal, halves up: 8.25 → 8.3, 8.24 → 8.2 (TT22 Đ.9.1)."""
    return value.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def score_text(value: Decimal) -> str:
    """The ledger's text form of a score: one decimal, point separator ("8.0", "10.0")."""
    return str(value.quantize(ONE_DECIMAL))


# --- counts and averages ------------------------------------------------------------------------


def value_text(kind: Kind, raw: Any, field: str) -> str:
    """The stored text of an assessment value: "8.5" for scores, "Đ"/"CĐ" for comment-only."""
    return score_text(parse_score(raw, field)) if kind is Kind.SCORE else Mark.parse(raw, field).value


def required_regular(kind: Kind, periods_per_year: int | None) -> int:
    """Regular assessments (ĐĐGtx) per term, TT22 Đ.6.2: comment-only subjects 2; scored subjects
    2 for at most 35 periods a year, 3 for more than 35 up to 70, 4 above 70."""
    if kind is Kind.COMMENT:
        return 2
    if periods_per_year is None or periods_per_year < 1:
        raise ValidationError(
            "periods.invalid",
            "Môn tính điểm cần số tiết/năm (số nguyên dương) để biết số lần ĐĐGtx",
            "a scored subject needs its periods per year (a positive whole number) to fix the ĐĐGtx count",
            field="periods_per_year",
            rule="TT22 Đ.6.2",
        )
    if periods_per_year <= 35:
        return 2
    if periods_per_year <= 70:
        return 3
    return 4


def term_average(regular: Sequence[Decimal], midterm: Decimal, final: Decimal) -> Decimal:
    """ĐTBmhk = (ΣĐĐGtx + 2·ĐĐGgk + 3·ĐĐGck) / (number of ĐĐGtx + 5), rounded half up (TT22 Đ.9.1)."""
    with localcontext() as context:
        context.prec = 50
        total = sum(regular, Decimal(0)) + 2 * midterm + 3 * final
        return round_half_up(total / (len(regular) + 5))


def year_average(term1: Decimal, term2: Decimal) -> Decimal:
    """ĐTBmcn = (ĐTBmhk I + 2·ĐTBmhk II) / 3, from the rounded term averages (TT22 Đ.9.1)."""
    with localcontext() as context:
        context.prec = 50
        return round_half_up((term1 + 2 * term2) / 3)


def comment_term_result(marks: Sequence[Mark | None], required: int) -> Mark:
    """A comment-only subject's term result, TT22 Đ.9.1a: Đạt when every required assessment was
    made and all are Đạt; Chưa đạt otherwise (a missing assessment counts against)."""
    done = [m for m in marks if m is not None]
    return Mark.DAT if len(done) >= required and all(m is Mark.DAT for m in done) else Mark.CHUA_DAT


def comment_year_result(term2: Mark) -> Mark:
    """A comment-only subject's year result is its term II result (TT22 Đ.9.1a)."""
    return term2


# --- levels -------------------------------------------------------------------------------------

_FLOORS = {Level.TOT: (Decimal("6.5"), Decimal("8.0")), Level.KHA: (Decimal("5.0"), Decimal("6.5"))}
_PASS, _LOWEST = Decimal("5.0"), Decimal("3.5")


def _base_level(scores: Iterable[Decimal], marks: Iterable[Mark]) -> Level:
    scores, failed = list(scores), sum(1 for m in marks if m is Mark.CHUA_DAT)
    for level in (Level.TOT, Level.KHA):
        floor, high = _FLOORS[level]
        if failed == 0 and all(s >= floor for s in scores) and sum(s >= high for s in scores) >= AT_LEAST:
            return level
    if failed <= 1 and sum(s >= _PASS for s in scores) >= AT_LEAST and all(s >= _LOWEST for s in scores):
        return Level.DAT
    return Level.CHUA_DAT


@dataclass(frozen=True)
class LearningLevel:
    level: Level
    before_adjustment: Level | None = None  # set when TT22 Đ.9.3 raised the level
    because_of: str | None = None  # the one subject that held it down


def learning_level(scores: Mapping[str, Decimal], marks: Mapping[str, Mark]) -> LearningLevel:
    """Kết quả học tập for a term (with ĐTBmhk) or the year (with ĐTBmcn), TT22 Đ.9.2, with the
    adjustment of Đ.9.3: when exactly one subject pulls the level two or more below Tốt or Khá, the
    level is raised to the next one up."""
    base = _base_level(scores.values(), marks.values())
    for target in (Level.TOT, Level.KHA):
        if base.rank > target.rank - 2:
            continue
        floor = _FLOORS[target][0]
        culprits = [code for code, s in scores.items() if s < floor]
        culprits += [code for code, m in marks.items() if m is Mark.CHUA_DAT]
        if len(culprits) != 1:
            continue
        (culprit,) = culprits
        lifted_scores = {code: floor if code == culprit else s for code, s in scores.items()}
        lifted_marks = {code: Mark.DAT if code == culprit else m for code, m in marks.items()}
        if _base_level(lifted_scores.values(), lifted_marks.values()).rank >= target.rank:
            return LearningLevel(Level.of_rank(base.rank + 1), base, culprit)
    return LearningLevel(base)


def year_conduct(term1: Level, term2: Level) -> Level:
    """Kết quả rèn luyện cả năm from the two terms, TT22 Đ.8.2."""
    t1, t2 = term1.rank, term2.rank
    tot, kha, dat = Level.TOT.rank, Level.KHA.rank, Level.DAT.rank
    if t2 == tot and t1 >= kha:
        return Level.TOT
    if (t2 == kha and t1 >= dat) or (t2 == dat and t1 == tot) or (t2 == tot and t1 <= dat):
        return Level.KHA
    if (t2 == dat and t1 <= kha) or (t2 == kha and t1 < dat):
        return Level.DAT
    return Level.CHUA_DAT


# --- promotion and awards -------------------------------------------------------------------------


def reassessable(year_scores: Mapping[str, Decimal], year_marks: Mapping[str, Mark]) -> set[str]:
    """Subjects a student may re-take in the summer (TT22 Đ.13): scored subjects with ĐTBmcn below
    5.0 and comment-only subjects rated Chưa đạt for the year."""
    return {c for c, s in year_scores.items() if s < _PASS} | {c for c, m in year_marks.items() if m is Mark.CHUA_DAT}


def promotion(
    grade: int,
    absences: int,
    conduct: Level,
    learning: Level,
    *,
    conduct_after_summer: Level | None = None,
    learning_after_reassessment: Level | None = None,
) -> Promotion:
    """TT22 Đ.12–14. Promoted (grade 9: completed) with year conduct ≥ Đạt, year learning ≥ Đạt and
    at most 45 sessions absent. Year conduct Chưa đạt: summer training, then the principal's new
    assessment replaces it. Conduct ≥ Đạt and learning Chưa đạt: summer re-assessment, then the
    recomputed level replaces it. Still failing afterwards, or absent too often: not promoted."""
    if absences > MAX_ABSENCES:
        return Promotion.NOT_PROMOTED
    if conduct is Level.CHUA_DAT:
        if conduct_after_summer is None:
            return Promotion.SUMMER_TRAINING
        conduct = conduct_after_summer
        if conduct is Level.CHUA_DAT:
            return Promotion.NOT_PROMOTED
    if learning is Level.CHUA_DAT:
        if learning_after_reassessment is None:
            return Promotion.RE_ASSESSMENT
        if learning_after_reassessment is Level.CHUA_DAT:
            return Promotion.NOT_PROMOTED
    return Promotion.COMPLETED if grade == 9 else Promotion.PROMOTED


def award(conduct: Level, learning: Level, year_scores: Iterable[Decimal]) -> Award | None:
    """TT22 Đ.15: Học sinh Xuất sắc with year conduct and learning Tốt and at least six scored
    subjects with ĐTBmcn ≥ 9.0; Học sinh Giỏi with year conduct and learning Tốt."""
    if conduct is not Level.TOT or learning is not Level.TOT:
        return None
    return Award.EXCELLENT if sum(s >= Decimal("9.0") for s in year_scores) >= AT_LEAST else Award.GOOD
