"""One student's school year, evaluated with the TT22 rules. Pure: the same function serves the
public evaluation contract (`hocba assess evaluate`, POST /api/v1/assessment/evaluate) and the
transcript read model. Where data is still incomplete (a term in progress), results are None."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from ledger.base.errors import ValidationError
from ledger.school.rules.tt22 import (
    AWARD_VI,
    PROMOTION_VI,
    Award,
    Kind,
    LearningLevel,
    Level,
    Mark,
    Promotion,
    award,
    comment_term_result,
    comment_year_result,
    learning_level,
    parse_score,
    promotion,
    reassessable,
    required_regular,
    term_average,
    year_average,
    year_conduct,
)

Value = Decimal | Mark
SUBJECT_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")


@dataclass(frozen=True)
class SubjectTerm:
    regular: tuple[Value | None, ...] = ()
    midterm: Value | None = None
    final: Value | None = None


@dataclass(frozen=True)
class SubjectYear:
    code: str
    kind: Kind
    required: int  # regular assessments per term (TT22 Đ.6.2)
    terms: Mapping[int, SubjectTerm] = field(default_factory=dict)
    reassessment: Value | None = None


@dataclass(frozen=True)
class StudentYear:
    grade: int
    subjects: Sequence[SubjectYear]
    conduct: Mapping[int, Level | None] = field(default_factory=dict)
    absences: int | None = None
    summer_conduct: Level | None = None


@dataclass(frozen=True)
class SubjectOutcome:
    code: str
    kind: Kind
    term1: Value | None
    term2: Value | None
    year: Value | None
    reassessed: Value | None  # the summer re-assessment result, which replaces `year`

    @property
    def final(self) -> Value | None:
        return self.reassessed if self.reassessed is not None else self.year


@dataclass(frozen=True)
class YearOutcome:
    subjects: list[SubjectOutcome]
    learning: dict[str, LearningLevel | None]  # term1, term2, year, after_reassessment
    conduct: dict[str, Level | None]  # term1, term2, year, after_summer
    absences: int | None
    promotion: Promotion | None
    award: Award | None


def _term_result(subject: SubjectYear, term: SubjectTerm | None) -> Value | None:
    if term is None:
        return None
    values = [*term.regular, term.midterm, term.final]
    complete = len(term.regular) >= subject.required and all(v is not None for v in values)
    if subject.kind is Kind.COMMENT:
        marks = [v if isinstance(v, Mark) else None for v in values]
        return comment_term_result(marks, subject.required + 2) if complete else None
    if not complete:
        return None
    regular = [v for v in term.regular if isinstance(v, Decimal)]
    if not isinstance(term.midterm, Decimal) or not isinstance(term.final, Decimal):
        return None
    return term_average(regular, term.midterm, term.final)


def _subject(subject: SubjectYear) -> SubjectOutcome:
    term1 = _term_result(subject, subject.terms.get(1))
    term2 = _term_result(subject, subject.terms.get(2))
    year: Value | None = None
    if subject.kind is Kind.COMMENT and isinstance(term2, Mark):
        year = comment_year_result(term2)
    elif isinstance(term1, Decimal) and isinstance(term2, Decimal):
        year = year_average(term1, term2)
    return SubjectOutcome(subject.code, subject.kind, term1, term2, year, subject.reassessment)


def _level(outcomes: Sequence[SubjectOutcome], pick: str) -> LearningLevel | None:
    values = {o.code: getattr(o, pick) for o in outcomes}
    if not values or any(v is None for v in values.values()):
        return None
    scores = {c: v for c, v in values.items() if isinstance(v, Decimal)}
    marks = {c: v for c, v in values.items() if isinstance(v, Mark)}
    return learning_level(scores, marks)


def assess(student: StudentYear) -> YearOutcome:
    outcomes = [_subject(s) for s in student.subjects]
    learning = {
        "term1": _level(outcomes, "term1"),
        "term2": _level(outcomes, "term2"),
        "year": _level(outcomes, "year"),
    }
    reassessed = any(o.reassessed is not None for o in outcomes)
    learning["after_reassessment"] = _level(outcomes, "final") if reassessed else None

    t1, t2 = student.conduct.get(1), student.conduct.get(2)
    conduct: dict[str, Level | None] = {
        "term1": t1,
        "term2": t2,
        "year": year_conduct(t1, t2) if t1 and t2 else None,
        "after_summer": student.summer_conduct,
    }
    year_learning, year_conduct_level = learning["year"], conduct["year"]
    decision: Promotion | None = None
    honour: Award | None = None
    if year_learning is not None and year_conduct_level is not None and student.absences is not None:
        after = learning["after_reassessment"]
        decision = promotion(
            student.grade,
            student.absences,
            year_conduct_level,
            year_learning.level,
            conduct_after_summer=student.summer_conduct,
            learning_after_reassessment=after.level if after else None,
        )
        year_scores = [o.year for o in outcomes if isinstance(o.year, Decimal)]
        honour = award(year_conduct_level, year_learning.level, year_scores)
    return YearOutcome(outcomes, learning, conduct, student.absences, decision, honour)


# --- the public evaluation contract (docs/ASSESSMENT.md) ------------------------------------------


def _invalid(field: str, vi: str, en: str, rule: str | None = None) -> ValidationError:
    return ValidationError("evaluate.invalid", vi, en, field=field, rule=rule)


def _object(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _invalid(field, "phải là một đối tượng JSON", "must be a JSON object")
    return value


def _value(kind: Kind, raw: Any, field: str) -> Value:
    return parse_score(raw, field) if kind is Kind.SCORE else Mark.parse(raw, field)


def _parse_term(kind: Kind, required: int, raw: Any, field: str) -> SubjectTerm:
    doc = _object(raw, field)
    unknown = set(doc) - {"regular", "midterm", "final"}
    if unknown:
        raise _invalid(f"{field}.{sorted(unknown)[0]}", "trường không được hỗ trợ", "unknown field")
    regular = doc.get("regular")
    if not isinstance(regular, list):
        raise _invalid(f"{field}.regular", "phải là danh sách các lần ĐĐGtx", "must be a list of regular assessments")
    if len(regular) != required:
        raise _invalid(
            f"{field}.regular",
            f"cần đúng {required} lần ĐĐGtx cho môn này, nhận được {len(regular)}",
            f"this subject needs exactly {required} regular assessments per term, got {len(regular)}",
            "TT22 Đ.6.2",
        )
    for name in ("midterm", "final"):
        if name not in doc:
            raise _invalid(
                f"{field}.{name}", "thiếu điểm đánh giá định kì", "the periodic assessment is missing", "TT22 Đ.7"
            )
    return SubjectTerm(
        tuple(_value(kind, v, f"{field}.regular[{i}]") for i, v in enumerate(regular)),
        _value(kind, doc["midterm"], f"{field}.midterm"),
        _value(kind, doc["final"], f"{field}.final"),
    )


def _parse_subject(raw: Any, index: int) -> SubjectYear:
    field = f"subjects[{index}]"
    doc = _object(raw, field)
    code = doc.get("code")
    if not isinstance(code, str) or not SUBJECT_CODE.match(code):
        raise _invalid(
            f"{field}.code", "mã môn gồm chữ in hoa, số và _ (ví dụ TOAN)", "subject code is A-Z, 0-9 and _ (e.g. TOAN)"
        )
    try:
        kind = Kind(str(doc.get("kind")))
    except ValueError:
        raise _invalid(
            f"{field}.kind", "phải là 'score' hoặc 'comment'", "must be 'score' or 'comment'", "TT22 Đ.5"
        ) from None
    periods = doc.get("periods_per_year")
    if periods is not None and (isinstance(periods, bool) or not isinstance(periods, int)):
        raise _invalid(f"{field}.periods_per_year", "phải là số nguyên", "must be a whole number")
    try:
        required = required_regular(kind, periods)
    except ValidationError as exc:
        exc.field = f"{field}.periods_per_year"
        raise
    terms_doc = _object(doc.get("terms"), f"{field}.terms")
    if set(terms_doc) != {"1", "2"}:
        raise _invalid(f"{field}.terms", 'cần đúng hai học kì "1" và "2"', 'needs exactly the terms "1" and "2"')
    terms = {int(t): _parse_term(kind, required, terms_doc[t], f"{field}.terms.{t}") for t in ("1", "2")}
    return SubjectYear(code, kind, required, terms)


def parse_student_year(doc: Any) -> StudentYear:
    """Validate the evaluation contract's input strictly; every error names its field and rule."""
    doc = _object(doc, "$")
    grade = doc.get("grade")
    if isinstance(grade, bool) or grade not in (6, 7, 8, 9):
        raise _invalid("grade", "khối lớp phải là 6, 7, 8 hoặc 9", "grade must be 6, 7, 8 or 9")
    raw_subjects = doc.get("subjects")
    if not isinstance(raw_subjects, list) or not raw_subjects:
        raise _invalid("subjects", "cần danh sách các môn học", "needs a non-empty list of subjects")
    subjects = [_parse_subject(s, i) for i, s in enumerate(raw_subjects)]
    codes = [s.code for s in subjects]
    duplicate = next((c for c in codes if codes.count(c) > 1), None)
    if duplicate:
        raise _invalid("subjects", f"môn {duplicate} xuất hiện hai lần", f"subject {duplicate} appears twice")
    conduct_doc = _object(doc.get("conduct"), "conduct")
    if set(conduct_doc) != {"1", "2"}:
        raise _invalid(
            "conduct", 'cần kết quả rèn luyện của học kì "1" và "2"', 'needs conduct for terms "1" and "2"', "TT22 Đ.8"
        )
    conduct = {int(t): Level.parse(conduct_doc[t], f"conduct.{t}") for t in ("1", "2")}
    absences = doc.get("absences")
    if isinstance(absences, bool) or not isinstance(absences, int) or absences < 0:
        raise _invalid(
            "absences",
            "số buổi nghỉ phải là số nguyên không âm",
            "absences must be a whole number, 0 or more",
            "TT22 Đ.12",
        )
    student = StudentYear(grade, subjects, conduct, absences)
    return _with_summer_results(student, doc)


def _with_summer_results(student: StudentYear, doc: Mapping[str, Any]) -> StudentYear:
    before = assess(student)
    year_learning, year_conduct_level = before.learning["year"], before.conduct["year"]
    summer_raw = doc.get("summer_conduct")
    summer: Level | None = None
    if summer_raw is not None:
        if year_conduct_level is not Level.CHUA_DAT:
            raise _invalid(
                "summer_conduct",
                "chỉ học sinh có kết quả rèn luyện cả năm Chưa đạt mới rèn luyện trong hè",
                "only a student whose year conduct is Chưa đạt has summer training",
                "TT22 Đ.12–14",
            )
        summer = Level.parse(summer_raw, "summer_conduct")
    reassessment_raw = doc.get("reassessment")
    subjects = list(student.subjects)
    if reassessment_raw is not None:
        reassessment = _object(reassessment_raw, "reassessment")
        conduct_now = summer or year_conduct_level
        if year_learning is None or year_learning.level is not Level.CHUA_DAT or conduct_now is Level.CHUA_DAT:
            raise _invalid(
                "reassessment",
                "chỉ kiểm tra lại khi kết quả học tập cả năm Chưa đạt và rèn luyện từ Đạt trở lên",
                "re-assessment is for a year learning level of Chưa đạt with conduct Đạt or better",
                "TT22 Đ.12–14",
            )
        scores = {o.code: o.year for o in before.subjects if isinstance(o.year, Decimal)}
        marks = {o.code: o.year for o in before.subjects if isinstance(o.year, Mark)}
        eligible = reassessable(scores, marks)
        by_code = {s.code: s for s in subjects}
        for code, raw in reassessment.items():
            if code not in by_code:
                raise _invalid(f"reassessment.{code}", "môn không có trong danh sách môn học", "unknown subject")
            if code not in eligible:
                raise _invalid(
                    f"reassessment.{code}",
                    "chỉ kiểm tra lại môn có ĐTBmcn dưới 5,0 hoặc môn nhận xét Chưa đạt",
                    "only a subject with a year average below 5.0, or rated Chưa đạt, is re-assessed",
                    "TT22 Đ.12–14",
                )
            subject = by_code[code]
            by_code[code] = replace(subject, reassessment=_value(subject.kind, raw, f"reassessment.{code}"))
        subjects = [by_code[s.code] for s in subjects]
    return replace(student, subjects=subjects, summer_conduct=summer)


def _json_value(value: Value | None) -> float | str | None:
    if value is None:
        return None
    return float(value) if isinstance(value, Decimal) else value.value


def _json_level(level: LearningLevel | Level | None) -> str | None:
    if isinstance(level, LearningLevel):
        return level.level.value
    return level.value if level is not None else None


def outcome_json(student: StudentYear, outcome: YearOutcome) -> dict[str, Any]:
    adjustments = {
        name: {"from": level.before_adjustment.value, "to": level.level.value, "because_of": level.because_of}
        for name, level in outcome.learning.items()
        if level is not None and level.before_adjustment is not None
    }
    learning = {name: _json_level(outcome.learning[name]) for name in ("term1", "term2", "year")}
    learning["after_reassessment"] = _json_level(outcome.learning["after_reassessment"])
    conduct = {name: _json_level(level) for name, level in outcome.conduct.items()}
    return {
        "grade": student.grade,
        "subjects": {
            o.code: {
                "kind": o.kind.value,
                "term1": _json_value(o.term1),
                "term2": _json_value(o.term2),
                "year": _json_value(o.year),
                "reassessed": _json_value(o.reassessed),
            }
            for o in outcome.subjects
        },
        "learning": learning,
        "learning_adjustments": adjustments,
        "conduct": conduct,
        "absences": outcome.absences,
        "promotion": outcome.promotion.value if outcome.promotion else None,
        "promotion_vi": PROMOTION_VI[outcome.promotion] if outcome.promotion else None,
        "award": outcome.award.value if outcome.award else None,
        "award_vi": AWARD_VI[outcome.award] if outcome.award else None,
    }


def evaluate(doc: Any) -> dict[str, Any]:
    """The public evaluation contract: one student's year in, results out (docs/ASSESSMENT.md)."""
    student = parse_student_year(doc)
    return outcome_json(student, assess(student))
