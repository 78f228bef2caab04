"""The transcript per student per school year, and the class summary, read from the projections and
evaluated with the TT22 rules (ledger.evaluation). As pure functions of the projection rows, both can
be read as of any seq: `as_of=None` is now.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base.errors import NotFound
from ledger.school.assessments.tables import (
    absences,
    assessments,
    conduct,
    homeroom_comments,
    reassessments,
    subject_comments,
    summer_conduct,
)
from ledger.school.rules.evaluation import (
    StudentYear,
    SubjectTerm,
    SubjectYear,
    Value,
    YearOutcome,
    assess,
    outcome_json,
)
from ledger.school.rules.tt22 import AWARD_VI, PROMOTION_VI, Award, Kind, Level, Mark, Promotion, reassessable
from ledger.school.years.model import hocba_order
from ledger.school.years.tables import classes, enrolments, students, subjects


@dataclass
class SubjectLine:
    code: str
    name: str
    kind: Kind
    required: int
    comments: dict[int, str] = field(default_factory=dict)
    corrections: int = 0


@dataclass
class StudentYearView:
    year: str
    student: dict[str, Any]
    class_id: str
    grade: int
    lines: list[SubjectLine]
    student_year: StudentYear
    outcome: YearOutcome
    absences: dict[int, tuple[int, int]]
    homeroom_comments: dict[str, str]

    @property
    def reassessable(self) -> set[str]:
        """Subjects open to summer re-assessment, when the rules call for it."""
        if self.outcome.promotion is not Promotion.RE_ASSESSMENT and not any(
            o.reassessed for o in self.outcome.subjects
        ):
            return set()
        scores = {o.code: o.year for o in self.outcome.subjects if isinstance(o.year, Decimal)}
        marks = {o.code: o.year for o in self.outcome.subjects if isinstance(o.year, Mark)}
        return reassessable(scores, marks)

    def to_json(self) -> dict[str, Any]:

        doc = outcome_json(self.student_year, self.outcome)
        by_code = {line.code: line for line in self.lines}
        for code, subject in doc["subjects"].items():
            line = by_code[code]
            subject.update(
                {
                    "name": line.name,
                    "corrections": line.corrections,
                    "comments": {str(t): c for t, c in sorted(line.comments.items())},
                }
            )
        corrected = [line for line in self.lines if line.corrections]
        doc.update(
            {
                "year": self.year,
                "class": self.class_id,
                "student": {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in self.student.items()},
                "absences_by_term": {
                    str(t): {"excused": e, "unexcused": u} for t, (e, u) in sorted(self.absences.items())
                },
                "homeroom_comments": self.homeroom_comments,
                "corrections": {
                    "total": sum(line.corrections for line in corrected),
                    "subjects": [line.name for line in corrected],
                },
            }
        )
        return doc


def _visible(table: Table, as_of: int | None) -> Any:
    if as_of is None:
        return table.c.seq_to.is_(None)
    return and_(table.c.seq_from <= as_of, or_(table.c.seq_to.is_(None), table.c.seq_to > as_of))


async def _rows(
    conn: AsyncConnection, table: Table, school: str, year: str, ids: Sequence[str], as_of: int | None
) -> list[Any]:
    query = select(table).where(
        table.c.school_id == school, table.c.year == year, table.c.student_id.in_(ids), _visible(table, as_of)
    )
    return list((await conn.execute(query)).mappings())


async def _corrections(
    conn: AsyncConnection, school: str, year: str, ids: Sequence[str], as_of: int | None
) -> dict[tuple[str, str], int]:
    """Changes to already-recorded assessments: row versions beyond the first, per student and subject."""
    t = assessments
    versions = func.count()
    cells = func.count(func.distinct(func.concat(t.c.term, "/", t.c.kind, "/", t.c.slot)))
    query = (
        select(t.c.student_id, t.c.subject, versions - cells)
        .where(t.c.school_id == school, t.c.year == year, t.c.student_id.in_(ids))
        .group_by(t.c.student_id, t.c.subject)
    )
    if as_of is not None:
        query = query.where(t.c.seq_from <= as_of)
    return {(row[0], row[1]): int(row[2]) for row in await conn.execute(query)}


async def load_views(
    conn: AsyncConnection, school: str, year: str, ids: Sequence[str], as_of: int | None = None
) -> list[StudentYearView]:
    """Transcripts of several students of one school year (a class, usually), in one pass."""
    if not ids:
        return []
    enrolled = {r["student_id"]: r for r in await _rows(conn, enrolments, school, year, ids, as_of)}
    profiles = {
        r["student_id"]: r
        for r in (
            await conn.execute(
                select(students).where(
                    students.c.school_id == school, students.c.student_id.in_(ids), _visible(students, as_of)
                )
            )
        ).mappings()
    }
    grades = {
        r["class_id"]: r["grade"]
        for r in (
            await conn.execute(
                select(classes).where(classes.c.school_id == school, classes.c.year == year, _visible(classes, as_of))
            )
        ).mappings()
    }
    catalogue: dict[int, list[Any]] = defaultdict(list)
    for row in (
        await conn.execute(
            select(subjects).where(subjects.c.school_id == school, subjects.c.year == year, _visible(subjects, as_of))
        )
    ).mappings():
        catalogue[row["grade"]].append(row)
    for rows in catalogue.values():
        rows.sort(key=lambda row: hocba_order(row["code"], row["name"]))

    grouped: dict[Table, dict[str, list[Any]]] = {}
    for table in (assessments, subject_comments, conduct, absences, homeroom_comments, reassessments, summer_conduct):
        per_student: dict[str, list[Any]] = defaultdict(list)
        for row in await _rows(conn, table, school, year, ids, as_of):
            per_student[row["student_id"]].append(row)
        grouped[table] = per_student
    corrections = await _corrections(conn, school, year, ids, as_of)

    views = []
    for student_id in ids:
        if student_id not in enrolled or student_id not in profiles:
            raise NotFound(
                "student.not_enrolled",
                f"học sinh không học ở trường trong năm học {year}",
                f"the student is not enrolled in {year}",
                field="student",
            )
        class_id = enrolled[student_id]["class_id"]
        grade = int(grades[class_id])
        views.append(
            _view(
                year,
                profiles[student_id],
                class_id,
                grade,
                catalogue[grade],
                {t: g[student_id] for t, g in grouped.items()},
                corrections,
            )
        )
    return views


def _view(
    year: str,
    profile: Any,
    class_id: str,
    grade: int,
    catalogue: list[Any],
    rows: dict[Table, list[Any]],
    corrections: dict[tuple[str, str], int],
) -> StudentYearView:
    student_id = profile["student_id"]
    cells: dict[tuple[str, int, str, int], str] = {
        (r["subject"], r["term"], r["kind"], r["slot"]): r["value"] for r in rows[assessments]
    }
    retakes = {r["subject"]: r["value"] for r in rows[reassessments]}
    lines, subject_years = [], []
    for row in catalogue:
        kind, required, code = Kind(row["kind"]), int(row["regular_count"]), row["code"]

        def value(text: str | None, kind: Kind = kind) -> Value | None:
            if text is None:
                return None
            return Decimal(text) if kind is Kind.SCORE else Mark(text)

        terms = {
            t: SubjectTerm(
                tuple(value(cells.get((code, t, "regular", k))) for k in range(1, required + 1)),
                value(cells.get((code, t, "midterm", 0))),
                value(cells.get((code, t, "final", 0))),
            )
            for t in (1, 2)
        }
        subject_years.append(SubjectYear(code, kind, required, terms, value(retakes.get(code))))
        line = SubjectLine(code, row["name"], kind, required, corrections=corrections.get((student_id, code), 0))
        line.comments = {r["term"]: r["text"] for r in rows[subject_comments] if r["subject"] == code}
        lines.append(line)
    levels = {r["term"]: Level(r["level"]) for r in rows[conduct]}
    absent = {r["term"]: (int(r["excused"]), int(r["unexcused"])) for r in rows[absences]}
    summer = rows[summer_conduct]
    student_year = StudentYear(
        grade,
        subject_years,
        levels,
        sum(e + u for e, u in absent.values()),
        Level(summer[0]["level"]) if summer else None,
    )
    profile_doc = {k: v for k, v in profile.items() if k not in {"school_id", "seq_from", "seq_to"}}
    return StudentYearView(
        year,
        profile_doc,
        class_id,
        grade,
        lines,
        student_year,
        assess(student_year),
        absent,
        {r["period"]: r["text"] for r in rows[homeroom_comments]},
    )


async def load_student_year(
    conn: AsyncConnection, school: str, year: str, student: str, as_of: int | None = None
) -> StudentYearView:
    (view,) = await load_views(conn, school, year, [student], as_of)
    return view


@dataclass
class ClassSummary:
    year: str
    class_id: str
    views: list[StudentYearView]

    def lists(self) -> dict[str, list[str]]:
        """The lists of Điều 33.6 and 34.4, by personal identifier."""
        out: dict[str, list[str]] = {
            "promoted": [],
            "not_promoted": [],
            "re_assessment": [],
            "summer_training": [],
            "excellent": [],
            "good": [],
            "pending": [],
        }
        for view in self.views:
            sid = view.student["student_id"]
            decision, honour = view.outcome.promotion, view.outcome.award
            if decision is None:
                out["pending"].append(sid)
            elif decision in (Promotion.PROMOTED, Promotion.COMPLETED):
                out["promoted"].append(sid)
            else:
                out[decision.value].append(sid)
            if honour is Award.EXCELLENT:
                out["excellent"].append(sid)
            elif honour is Award.GOOD:
                out["good"].append(sid)
        return out

    def to_json(self) -> dict[str, Any]:
        names = {v.student["student_id"]: v.student["full_name"] for v in self.views}
        lists = self.lists()
        return {
            "year": self.year,
            "class": self.class_id,
            "students": len(self.views),
            "lists": {name: [{"student": s, "full_name": names[s]} for s in ids] for name, ids in lists.items()},
            "labels_vi": {
                "promoted": PROMOTION_VI[Promotion.PROMOTED],
                "not_promoted": PROMOTION_VI[Promotion.NOT_PROMOTED],
                "re_assessment": PROMOTION_VI[Promotion.RE_ASSESSMENT],
                "summer_training": PROMOTION_VI[Promotion.SUMMER_TRAINING],
                "excellent": AWARD_VI[Award.EXCELLENT],
                "good": AWARD_VI[Award.GOOD],
                "pending": "Chưa đủ dữ liệu",
            },
        }


async def class_summary(
    conn: AsyncConnection, school: str, year: str, class_id: str, as_of: int | None = None
) -> ClassSummary:
    rows = await conn.execute(
        select(enrolments.c.student_id)
        .where(
            enrolments.c.school_id == school,
            enrolments.c.year == year,
            enrolments.c.class_id == class_id,
            enrolments.c.until.is_(None),
            _visible(enrolments, as_of),
        )
        .order_by(enrolments.c.student_id)
    )
    ids = [row[0] for row in rows]
    return ClassSummary(year, class_id, await load_views(conn, school, year, ids, as_of))
