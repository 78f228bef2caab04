"""The transcript and class summary read models over the fixture school (a full year with summer)."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.app.demo import DemoSchool
from ledger.log.replay import replay
from ledger.school.assessments.tables import assessments, summer_conduct
from ledger.school.readmodels import PROJECTIONS
from ledger.school.rules.evaluation import evaluate
from ledger.school.transcripts.views import class_summary, load_student_year
from ledger.school.years.tables import subjects
from tests.support.helpers import hocba


async def raw_contract_input(engine: AsyncEngine, demo: DemoSchool, student: str, grade: int) -> dict[str, Any]:
    """Build the evaluation contract's input straight from the stored rows, independently of the
    transcript read model."""
    async with engine.connect() as conn:
        rows = (
            (
                await conn.execute(
                    select(assessments).where(
                        assessments.c.school_id == demo.school,
                        assessments.c.student_id == student,
                        assessments.c.seq_to.is_(None),
                    )
                )
            )
            .mappings()
            .all()
        )
        catalogue = (
            (
                await conn.execute(
                    select(subjects).where(
                        subjects.c.school_id == demo.school, subjects.c.grade == grade, subjects.c.seq_to.is_(None)
                    )
                )
            )
            .mappings()
            .all()
        )
    cells: dict[str, dict[str, dict[str, Any]]] = defaultdict(lambda: defaultdict(lambda: {"regular": {}}))
    for row in rows:
        term = cells[row["subject"]][str(row["term"])]
        if row["kind"] == "regular":
            term["regular"][row["slot"]] = row["value"]
        else:
            term[row["kind"]] = row["value"]
    doc_subjects = []
    for subject in catalogue:
        terms = {
            t: {
                "regular": [v for _, v in sorted(cells[subject["code"]][t]["regular"].items())],
                **{k: v for k, v in cells[subject["code"]][t].items() if k != "regular"},
            }
            for t in ("1", "2")
        }
        doc_subjects.append(
            {"code": subject["code"], "kind": subject["kind"], "periods_per_year": subject["periods"], "terms": terms}
        )
    return {"grade": grade, "subjects": doc_subjects}


async def test_transcripts_agree_with_the_public_evaluation_contract(app_engine: AsyncEngine, demo: DemoSchool) -> None:
    checked = 0
    for class_id, grade in demo.classes.items():
        async with app_engine.connect() as conn:
            views = (await class_summary(conn, demo.school, demo.year, class_id)).views
        for view in views:
            doc = await raw_contract_input(app_engine, demo, view.student["student_id"], grade)
            doc["conduct"] = {str(t): level.value for t, level in view.student_year.conduct.items()}
            doc["absences"] = view.student_year.absences
            contract = evaluate(doc)  # before any summer result
            transcript = view.to_json()
            for code, result in contract["subjects"].items():
                for key in ("term1", "term2", "year"):
                    assert transcript["subjects"][code][key] == result[key], (code, key)
            assert {k: transcript["learning"][k] for k in ("term1", "term2", "year")} == {
                k: contract["learning"][k] for k in ("term1", "term2", "year")
            }
            assert transcript["conduct"]["year"] == contract["conduct"]["year"]
            assert transcript["award"] == contract["award"]
            checked += 1
    assert checked == 40


async def test_term_average_is_recomputed_by_hand_tt22_d9_1(app_engine: AsyncEngine, demo: DemoSchool) -> None:
    student = demo.rosters["9A1"][2]
    async with app_engine.connect() as conn:
        view = await load_student_year(conn, demo.school, demo.year, student)
        rows = (
            await conn.execute(
                select(assessments.c.kind, assessments.c.value).where(
                    assessments.c.school_id == demo.school,
                    assessments.c.student_id == student,
                    assessments.c.subject == "TOAN",
                    assessments.c.term == 1,
                    assessments.c.seq_to.is_(None),
                )
            )
        ).all()
    weights = {"regular": 1, "midterm": 2, "final": 3}
    total = sum(Fraction(Decimal(v)) * weights[k] for k, v in rows)
    exact = total / sum(weights[k] for k, _ in rows)
    by_hand = Decimal(int(exact * 10 + Fraction(1, 2))) / 10
    toan = next(o for o in view.outcome.subjects if o.code == "TOAN")
    assert toan.term1 == by_hand


async def test_class_summary_lists_dieu_33_6_and_34_4(app_engine: AsyncEngine, demo: DemoSchool) -> None:
    async with app_engine.connect() as conn:
        summary = await class_summary(conn, demo.school, demo.year, "8A1")
    lists = summary.lists()
    decided = lists["promoted"] + lists["not_promoted"] + lists["re_assessment"] + lists["summer_training"]
    assert sorted(decided) == sorted(demo.rosters["8A1"])  # after the summer, everyone has a decision
    assert lists["pending"] == []
    absent = demo.rosters["8A1"][5]  # 48 sessions absent (TT22 Đ.12)
    assert absent in lists["not_promoted"]
    assert set(lists["excellent"]) | set(lists["good"]) <= set(lists["promoted"])
    doc = summary.to_json()
    assert doc["labels_vi"]["summer_training"] == "Rèn luyện trong kì nghỉ hè"


async def test_transcript_as_of_before_the_summer(app_engine: AsyncEngine, demo: DemoSchool) -> None:
    student = demo.rosters["7A1"][3]  # conduct Chưa đạt in term II: summer training
    async with app_engine.connect() as conn:
        [summer] = (
            await conn.execute(
                select(summer_conduct.c.seq_from).where(
                    summer_conduct.c.school_id == demo.school, summer_conduct.c.student_id == student
                )
            )
        ).all()
        before = await load_student_year(conn, demo.school, demo.year, student, as_of=summer[0] - 1)
        after = await load_student_year(conn, demo.school, demo.year, student)
    assert before.outcome.promotion is not None and before.outcome.promotion.value == "summer_training"
    assert after.outcome.conduct["after_summer"] is not None
    assert after.outcome.promotion is not None and after.outcome.promotion.value in {
        "promoted",
        "re_assessment",
        "not_promoted",
    }


async def test_replay_reproduces_the_fixture_school(auditor_engine: AsyncEngine, demo: DemoSchool) -> None:
    report = await replay(auditor_engine, PROJECTIONS, demo.school)
    assert report.ok, [t.table for t in report.tables if not t.equal]
    assert report.events > 5000


@pytest.mark.parametrize("command", ["transcript", "class-summary"])
async def test_cli_prints_the_read_models(env: dict[str, str], demo: DemoSchool, command: str) -> None:
    from ledger.app.demo import PRINCIPAL
    from tests.support.helpers import signed_in

    where = ["--student", demo.rosters["6A1"][0]] if command == "transcript" else ["--class", "6A1"]
    principal = await signed_in(demo.ledger.engine, env, demo.school, PRINCIPAL.user)
    result = hocba(command, "--school", demo.school, "--year", demo.year, *where, env=principal)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["year"] == demo.year
