"""The TT22 rules (Thông tư 22/2021/TT-BGDĐT), table-driven; every case cites its article."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.base.errors import ValidationError
from ledger.school.rules.tt22 import (
    Award,
    Kind,
    Level,
    Mark,
    Promotion,
    award,
    comment_term_result,
    comment_year_result,
    learning_level,
    parse_score,
    promotion,
    required_regular,
    term_average,
    year_average,
    year_conduct,
)

D = Decimal
T, K, DA, CD = Level.TOT, Level.KHA, Level.DAT, Level.CHUA_DAT


# --- TT22 Đ.6, Đ.7: scores --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("8,5", "8.5"),
        ("8.5", "8.5"),
        (8.5, "8.5"),
        (8, "8"),
        ("10", "10"),
        ("10,0", "10.0"),
        ("0", "0"),
        (" 7,0 ", "7.0"),
    ],
)
def test_scores_accept_the_vietnamese_decimal_comma_tt22_d6(raw: object, expected: str) -> None:
    assert parse_score(raw, "value") == D(expected)


@pytest.mark.parametrize(
    "raw", ["8.25", "10.5", "-1", "abc", "NaN", float("nan"), float("inf"), True, "", "8,", ",5", 11, "1e1", None]
)
def test_scores_outside_0_to_10_or_with_two_decimals_are_refused_tt22_d6(raw: object) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_score(raw, "entries[0].value")
    assert refused.value.field == "entries[0].value"
    assert "một chữ số thập phân" in refused.value.vi and "at most one decimal" in refused.value.en


@pytest.mark.parametrize(
    ("kind", "periods", "count"),
    [
        (Kind.SCORE, 35, 2),  # TT22 Đ.6.2: up to 35 periods a year, 2 regular assessments
        (Kind.SCORE, 36, 3),  # more than 35 up to 70: 3
        (Kind.SCORE, 52, 3),
        (Kind.SCORE, 70, 3),
        (Kind.SCORE, 71, 4),  # more than 70: 4
        (Kind.SCORE, 140, 4),
        (Kind.COMMENT, 70, 2),  # comment-only subjects: 2 per term
        (Kind.COMMENT, None, 2),
    ],
)
def test_required_regular_assessments_tt22_d6_2(kind: Kind, periods: int | None, count: int) -> None:
    assert required_regular(kind, periods) == count


def test_scored_subject_without_periods_is_refused_tt22_d6_2() -> None:
    with pytest.raises(ValidationError, match="periods"):
        required_regular(Kind.SCORE, None)


# --- TT22 Đ.9.1: averages -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("regular", "midterm", "final", "expected"),
    [
        (["8", "8", "8"], "8", "8", "8.0"),
        (["8", "8", "8.5"], "8", "8.5", "8.3"),  # 66 / 8 = 8.25 exactly: half up gives 8.3 (a float rounds to 8.2)
        (["8", "7.5", "9", "8"], "7", "8.5", "8.0"),  # 72 / 9
        (["8", "8", "8", "9"], "8", "8.5", "8.3"),  # 74.5 / 9 = 8.277…
        (["5", "5"], "5", "4.9", "5.0"),  # 34.7 / 7 = 4.957… rounds up to the pass mark
        (["10", "10", "10", "10"], "10", "10", "10.0"),
        (["0", "0"], "0", "0", "0.0"),
    ],
)
def test_term_average_tt22_d9_1(regular: list[str], midterm: str, final: str, expected: str) -> None:
    assert term_average([D(r) for r in regular], D(midterm), D(final)) == D(expected)


@pytest.mark.parametrize(
    ("term1", "term2", "expected"),
    [("8.0", "8.3", "8.2"), ("6.4", "6.5", "6.5"), ("9.0", "8.9", "8.9"), ("4.9", "5.0", "5.0"), ("5.0", "4.9", "4.9")],
)
def test_year_average_is_from_rounded_term_averages_tt22_d9_1(term1: str, term2: str, expected: str) -> None:
    assert year_average(D(term1), D(term2)) == D(expected)


one_decimal = st.integers(min_value=0, max_value=100).map(lambda n: D(n) / 10)


@given(st.lists(one_decimal, min_size=2, max_size=4), one_decimal, one_decimal)
def test_term_average_is_the_exact_weighted_mean_rounded_half_up_tt22_d9_1(
    regular: list[Decimal], midterm: Decimal, final: Decimal
) -> None:
    exact = (sum(map(Fraction, regular)) + 2 * Fraction(midterm) + 3 * Fraction(final)) / (len(regular) + 5)
    tenths = exact * 10
    expected = D(int(tenths) + (1 if tenths - int(tenths) >= Fraction(1, 2) else 0)) / 10
    result = term_average(regular, midterm, final)
    assert result == expected
    assert min([*regular, midterm, final]) <= result <= max([*regular, midterm, final])
    assert result.as_tuple().exponent == -1


@given(one_decimal, one_decimal)
def test_year_average_lies_between_the_terms_and_leans_to_term_two_tt22_d9_1(t1: Decimal, t2: Decimal) -> None:
    result = year_average(t1, t2)
    assert min(t1, t2) <= result <= max(t1, t2)
    assert abs(result - t2) <= abs(result - t1) + D("0.05")


@given(st.lists(one_decimal, min_size=2, max_size=4), one_decimal, one_decimal, one_decimal)
def test_a_higher_final_never_lowers_the_average_tt22_d9_1(
    regular: list[Decimal], midterm: Decimal, final: Decimal, bump: Decimal
) -> None:
    higher = min(final + bump, D(10))
    assert term_average(regular, midterm, higher) >= term_average(regular, midterm, final)


# --- TT22 Đ.9.1a: comment-only subjects ---------------------------------------------------------


@pytest.mark.parametrize(
    ("marks", "expected"),
    [
        ([Mark.DAT] * 4, Mark.DAT),
        ([Mark.DAT, Mark.DAT, Mark.DAT, Mark.CHUA_DAT], Mark.CHUA_DAT),
        ([Mark.DAT, Mark.DAT, None, Mark.DAT], Mark.CHUA_DAT),  # a missing assessment counts against
        ([Mark.DAT] * 3, Mark.CHUA_DAT),
    ],
)
def test_comment_subject_term_result_tt22_d9_1a(marks: list[Mark | None], expected: Mark) -> None:
    assert comment_term_result(marks, required=4) is expected


def test_comment_subject_year_result_is_term_two_tt22_d9_1a() -> None:
    assert comment_year_result(Mark.CHUA_DAT) is Mark.CHUA_DAT
    assert comment_year_result(Mark.DAT) is Mark.DAT


# --- TT22 Đ.9.2 and Đ.9.3: learning levels ------------------------------------------------------


def level_of(scores: list[str], fails: int = 0) -> tuple[Level, Level | None, str | None]:
    scored = {f"S{i}": D(s) for i, s in enumerate(scores)}
    marks = {f"C{i}": Mark.CHUA_DAT if i < fails else Mark.DAT for i in range(4)}
    result = learning_level(scored, marks)
    return result.level, result.before_adjustment, result.because_of


@pytest.mark.parametrize(
    ("scores", "fails", "level"),
    [
        # TT22 Đ.9.2a Tốt: all comment subjects Đạt, every score >= 6.5, at least six >= 8.0
        (["8.0"] * 6 + ["6.5"] * 2, 0, T),
        (["8.0"] * 5 + ["7.9"] * 3, 0, K),  # only five at 8.0
        (["9.0"] * 7 + ["6.4"], 0, K),  # one below 6.5: one level down, no adjustment
        # TT22 Đ.9.2b Khá: every score >= 5.0, at least six >= 6.5
        (["6.5"] * 6 + ["5.0"] * 2, 0, K),
        (["6.5"] * 5 + ["6.4"] * 3, 0, DA),
        # TT22 Đ.9.2c Đạt: at most one comment subject Chưa đạt, six >= 5.0, none below 3.5
        (["5.0"] * 6 + ["3.5"] * 2, 0, DA),
        (["5.0"] * 5 + ["4.9"] * 3, 0, CD),
        (["6.5"] * 8, 1, DA),
        (["6.5"] * 8, 2, CD),
        # TT22 Đ.9.2d Chưa đạt: the rest
        (["5.0"] * 6 + ["3.4", "3.4"], 0, CD),
    ],
)
def test_learning_level_boundaries_tt22_d9_2(scores: list[str], fails: int, level: Level) -> None:
    assert level_of(scores, fails)[0] is level


@pytest.mark.parametrize(
    ("scores", "fails", "level", "before", "because"),
    [
        # TT22 Đ.9.3: Tốt but for one subject, fallen to Đạt → Khá
        (["9.0"] * 7 + ["4.0"], 0, K, DA, "S7"),
        # Tốt but for one subject, fallen to Chưa đạt → Đạt
        (["9.0"] * 7 + ["3.0"], 0, DA, CD, "S7"),
        # Tốt but for one comment subject Chưa đạt (Đạt) → Khá
        (["9.0"] * 8, 1, K, DA, "C0"),
        # Khá but for one subject, fallen to Chưa đạt → Đạt
        (["7.0"] * 6 + ["5.5", "3.0"], 0, DA, CD, "S7"),
    ],
)
def test_one_subject_adjustment_raises_one_level_tt22_d9_3(
    scores: list[str], fails: int, level: Level, before: Level, because: str
) -> None:
    assert level_of(scores, fails) == (level, before, because)


@pytest.mark.parametrize(
    ("scores", "fails", "level"),
    [
        (["9.0"] * 6 + ["3.0", "3.0"], 0, CD),  # two subjects hold it down: no adjustment
        (["9.0"] * 7 + ["3.0"], 1, CD),  # a score and a comment subject: two subjects
        (["9.0"] * 7 + ["6.0"], 0, K),  # only one level down: no adjustment
        (["5.0"] * 6 + ["3.0", "5.0"], 0, CD),  # not Khá but for one subject (fewer than six >= 6.5)
    ],
)
def test_no_adjustment_otherwise_tt22_d9_3(scores: list[str], fails: int, level: Level) -> None:
    result, before, _ = level_of(scores, fails)
    assert (result, before) == (level, None)


# --- TT22 Đ.8.2: year conduct, every combination ------------------------------------------------

CONDUCT_TABLE = {
    # (term I, term II): year
    (T, T): T,
    (K, T): T,
    (DA, T): K,
    (CD, T): K,
    (T, K): K,
    (K, K): K,
    (DA, K): K,
    (CD, K): DA,
    (T, DA): K,
    (K, DA): DA,
    (DA, DA): DA,
    (CD, DA): DA,
    (T, CD): CD,
    (K, CD): CD,
    (DA, CD): CD,
    (CD, CD): CD,
}


@pytest.mark.parametrize(("terms", "year"), list(CONDUCT_TABLE.items()))
def test_year_conduct_every_combination_tt22_d8_2(terms: tuple[Level, Level], year: Level) -> None:
    assert year_conduct(*terms) is year


# --- TT22 Đ.12–14: promotion -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("grade", "absences", "conduct", "learning", "summer", "retake", "expected"),
    [
        (7, 45, DA, DA, None, None, Promotion.PROMOTED),  # 45 sessions absent is still allowed
        (7, 46, T, T, None, None, Promotion.NOT_PROMOTED),  # 46 is over the limit
        (9, 0, K, K, None, None, Promotion.COMPLETED),  # grade 9: hoàn thành chương trình THCS
        (9, 46, K, K, None, None, Promotion.NOT_PROMOTED),
        (7, 0, CD, K, None, None, Promotion.SUMMER_TRAINING),
        (7, 0, CD, K, DA, None, Promotion.PROMOTED),  # the summer result replaces year conduct
        (7, 0, CD, K, CD, None, Promotion.NOT_PROMOTED),
        (7, 0, DA, CD, None, None, Promotion.RE_ASSESSMENT),
        (7, 0, DA, CD, None, DA, Promotion.PROMOTED),  # the recomputed level replaces year learning
        (7, 0, DA, CD, None, CD, Promotion.NOT_PROMOTED),
        (7, 0, CD, CD, None, None, Promotion.SUMMER_TRAINING),  # conduct first
        (7, 0, CD, CD, K, None, Promotion.RE_ASSESSMENT),  # then re-assessment
        (9, 0, DA, CD, None, K, Promotion.COMPLETED),
    ],
)
def test_promotion_tt22_d12_to_14(
    grade: int,
    absences: int,
    conduct: Level,
    learning: Level,
    summer: Level | None,
    retake: Level | None,
    expected: Promotion,
) -> None:
    decision = promotion(
        grade, absences, conduct, learning, conduct_after_summer=summer, learning_after_reassessment=retake
    )
    assert decision is expected


# --- TT22 Đ.15: awards -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("conduct", "learning", "scores", "expected"),
    [
        (T, T, ["9.0"] * 6 + ["8.0"] * 2, Award.EXCELLENT),  # exactly six at 9.0
        (T, T, ["9.0"] * 5 + ["8.9"] * 3, Award.GOOD),
        (K, T, ["10"] * 8, None),
        (T, K, ["9.0"] * 8, None),
    ],
)
def test_awards_tt22_d15(conduct: Level, learning: Level, scores: list[str], expected: Award | None) -> None:
    assert award(conduct, learning, [D(s) for s in scores]) is expected
