"""The public evaluation contract (docs/ASSESSMENT.md): `hocba assess evaluate FILE.json`, the Python
function ledger.school.rules.evaluation.evaluate, and later POST /api/v1/assessment/evaluate."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from ledger.base.errors import ValidationError
from ledger.school.rules.evaluation import evaluate
from tests.support.helpers import hocba

SCORED = ["NGU_VAN", "TOAN", "NGOAI_NGU_1", "GDCD", "LICH_SU_DIA_LI", "KHTN", "CONG_NGHE", "TIN_HOC"]
COMMENT = ["GDTC", "NGHE_THUAT", "GDDP", "HDTN_HN"]


def scored(code: str, score: float | str, periods: int = 140) -> dict[str, Any]:
    count = 4 if periods > 70 else 3 if periods > 35 else 2
    term = {"regular": [score] * count, "midterm": score, "final": score}
    return {"code": code, "kind": "score", "periods_per_year": periods, "terms": {"1": term, "2": copy.deepcopy(term)}}


def comment(code: str, mark: str = "Đ") -> dict[str, Any]:
    term = {"regular": ["Đ", "Đ"], "midterm": "Đ", "final": mark}
    return {"code": code, "kind": "comment", "terms": {"1": term, "2": copy.deepcopy(term)}}


def year(scores: dict[str, float | str], marks: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    marks = marks or {}
    doc = {
        "grade": extra.pop("grade", 7),
        "subjects": [scored(c, scores.get(c, 8.0)) for c in SCORED] + [comment(c, marks.get(c, "Đ")) for c in COMMENT],
        "conduct": extra.pop("conduct", {"1": "Tốt", "2": "Tốt"}),
        "absences": extra.pop("absences", 2),
    }
    doc.update(extra)
    return doc


def test_the_issue_example_has_the_documented_shape() -> None:
    doc = {
        "grade": 7,
        "subjects": [
            {
                "code": "TOAN",
                "kind": "score",
                "periods_per_year": 140,
                "terms": {
                    "1": {"regular": [8, 7.5, 9, 8], "midterm": 7, "final": 8.5},
                    "2": {"regular": [8, 8, 8, 9], "midterm": 8, "final": 8.5},
                },
            },
            {
                "code": "GDTC",
                "kind": "comment",
                "terms": {
                    "1": {"regular": ["Đ", "Đ"], "midterm": "Đ", "final": "Đ"},
                    "2": {"regular": ["Đ", "CĐ"], "midterm": "Đ", "final": "Đ"},
                },
            },
        ],
        "conduct": {"1": "Tốt", "2": "Khá"},
        "absences": 3,
    }
    out = evaluate(doc)
    # TT22 Đ.9.1: (32.5 + 14 + 25.5) / 9 = 8.0; (33 + 16 + 25.5) / 9 = 8.28 → 8.3; (8.0 + 16.6) / 3 = 8.2
    assert out["subjects"]["TOAN"] == {"kind": "score", "term1": 8.0, "term2": 8.3, "year": 8.2, "reassessed": None}
    # TT22 Đ.9.1a: one CĐ in term II makes term II and the year CĐ
    assert out["subjects"]["GDTC"] == {"kind": "comment", "term1": "Đ", "term2": "CĐ", "year": "CĐ", "reassessed": None}
    assert out["conduct"]["year"] == "Khá"  # TT22 Đ.8.2: II Khá, I Đạt or better
    assert set(out) >= {"subjects", "learning", "conduct", "promotion", "award"}
    assert out["learning"]["year"] in {"Tốt", "Khá", "Đạt", "Chưa đạt"}


def test_an_excellent_student() -> None:
    out = evaluate(year({c: 9.0 for c in SCORED[:6]}))
    assert out["learning"] == {"term1": "Tốt", "term2": "Tốt", "year": "Tốt", "after_reassessment": None}
    assert (out["promotion"], out["award"], out["award_vi"]) == ("promoted", "excellent", "Học sinh Xuất sắc")


def test_grade_nine_completes_the_programme() -> None:
    assert evaluate(year({}, grade=9))["promotion"] == "completed"


def test_absences_45_versus_46_tt22_d12() -> None:
    assert evaluate(year({}, absences=45))["promotion"] == "promoted"
    assert evaluate(year({}, absences=46))["promotion"] == "not_promoted"


def test_reassessment_replaces_the_year_result_and_promotion_is_recomputed_tt22_d12_14() -> None:
    weak = year({"TOAN": 3.0, "NGU_VAN": 4.0}, conduct={"1": "Khá", "2": "Khá"})
    before = evaluate(weak)
    assert (before["learning"]["year"], before["promotion"]) == ("Chưa đạt", "re_assessment")
    passed = evaluate({**weak, "reassessment": {"TOAN": "6,0", "NGU_VAN": 5.5}})
    assert passed["subjects"]["TOAN"]["reassessed"] == 6.0
    assert (passed["learning"]["after_reassessment"], passed["promotion"]) == ("Khá", "promoted")
    # 3.5 is no longer below the floor of Đạt (no subject below 3.5, TT22 Đ.9.2c): promoted
    assert evaluate({**weak, "reassessment": {"TOAN": 3.5}})["promotion"] == "promoted"
    failed = evaluate({**weak, "reassessment": {"TOAN": 3.4}})
    assert (failed["learning"]["after_reassessment"], failed["promotion"]) == ("Chưa đạt", "not_promoted")


def test_summer_conduct_replaces_the_year_conduct_tt22_d12_14() -> None:
    doc = year({}, conduct={"1": "Đạt", "2": "Chưa đạt"})
    assert evaluate(doc)["promotion"] == "summer_training"
    assert evaluate({**doc, "summer_conduct": "Đạt"})["promotion"] == "promoted"
    assert evaluate({**doc, "summer_conduct": "Chưa đạt"})["promotion"] == "not_promoted"


def broken(path: str, value: Any) -> dict[str, Any]:
    doc = year({})
    target: Any = doc
    parts = path.split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() and isinstance(target, list) else target[part]
    last = parts[-1]
    target[int(last) if isinstance(target, list) else last] = value
    return doc


@pytest.mark.parametrize(
    ("doc", "field", "rule"),
    [
        (broken("subjects.1.terms.1.final", 10.5), "subjects[1].terms.1.final", "TT22 Đ.6, Đ.7"),
        (broken("subjects.1.terms.2.regular.0", "8,25"), "subjects[1].terms.2.regular[0]", "TT22 Đ.6, Đ.7"),
        (broken("subjects.1.terms.2.regular.0", -1), "subjects[1].terms.2.regular[0]", "TT22 Đ.6, Đ.7"),
        (broken("subjects.1.terms.2.regular", [8, 8, 8]), "subjects[1].terms.2.regular", "TT22 Đ.6.2"),
        (broken("subjects.9.terms.1.final", "8"), "subjects[9].terms.1.final", "TT22 Đ.5, Đ.9.1"),
        (broken("subjects.1.kind", "grade"), "subjects[1].kind", "TT22 Đ.5"),
        (broken("conduct", {"1": "Giỏi", "2": "Tốt"}), "conduct.1", "TT22 Đ.8, Đ.9.2"),
        (broken("grade", 10), "grade", None),
        ({**year({}), "reassessment": {"TOAN": 6}}, "reassessment", "TT22 Đ.12–14"),
        ({**year({}), "summer_conduct": "Tốt"}, "summer_conduct", "TT22 Đ.12–14"),
    ],
)
def test_bad_input_names_the_field_and_the_rule(doc: dict[str, Any], field: str, rule: str | None) -> None:
    with pytest.raises(ValidationError) as refused:
        evaluate(doc)
    assert refused.value.field == field
    assert refused.value.rule == rule


def test_cli_prints_json_and_refuses_bad_files(tmp_path: Path) -> None:
    env = dict(os.environ)  # `hocba assess evaluate` needs no database
    good = tmp_path / "year.json"
    good.write_text(json.dumps(year({}, absences=46), ensure_ascii=False), encoding="utf-8")
    done = hocba("assess", "evaluate", str(good), env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["promotion"] == "not_promoted"

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(broken("subjects.1.terms.1.final", "8,25")), encoding="utf-8")
    refused = hocba("assess", "evaluate", str(bad), env=env)
    assert refused.returncode == 2
    assert "subjects[1].terms.1.final" in refused.stderr and "một chữ số thập phân" in refused.stderr
    assert refused.stdout == ""
