"""The school's results for a term or the year, as it reports them to the Phòng (Điều 33.6): per class,
per grade and for the school, how many students reached each learning and conduct level (TT22 Đ.8,
Đ.9), and for the year how many are promoted, re-assessed in summer, trained in summer or held back,
and the awards. Counts with their share of the class, printable."""

from __future__ import annotations

from collections import Counter
from typing import Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.response import Template

from api.http.scope import entry_of, runtime_of
from api.pages.charts import LEVEL_COLOURS, Row, stacked_bars
from api.pages.staff import need_year
from api.pages.toolkit import SCHOOL_PAGE, class_order, page, render, text_of
from api.v1.params import SchoolId
from ledger.app.db import AUDITOR_ROLE
from ledger.base.vietnamese import name_order, number
from ledger.log.projection import read
from ledger.school.rules.tt22 import Level
from ledger.school.transcripts.views import class_summary
from ledger.school.years.tables import classes

PERIODS = {"1": "term1", "2": "term2", "ca-nam": "year"}
LEVELS = [level.value for level in Level]
OUTCOMES = ["promoted", "re_assessment", "summer_training", "not_promoted", "excellent", "good"]
LISTED = ["re_assessment", "summer_training", "not_promoted", "excellent", "good"]  # listed by name (Điều 33.6)


def _tally(views: list[Any], period: str) -> Counter[str]:
    counts: Counter[str] = Counter(students=len(views))
    for view in views:
        result = view.to_json()
        counts["learning:" + (result["learning"].get(period) or "none")] += 1
        counts["conduct:" + (result["conduct"].get(period) or "none")] += 1
    return counts


def _levels(counts: Counter[str], part: str) -> tuple[int, ...]:
    return tuple(counts[f"{part}:{level}"] for level in [*LEVELS, "none"])


def share(count: int, of: int) -> str:
    """A share of the class as a school writes it: 12,5%."""
    return number(f"{100 * count / of:.1f}") + "%" if of else ""


@get(SCHOOL_PAGE + "/tong-hop", operation_id="page_summary", opt=page("progress.read"), include_in_schema=False)
async def summary_page(request: Request[Any, Any, Any], state: State, school: SchoolId) -> Template:
    year = need_year(request)
    chosen = request.query_params.get("ky", "ca-nam")
    period = PERIODS.get(chosen, "year")
    rows: list[dict[str, Any]] = []
    grades: dict[int, Counter[str]] = {}
    total: Counter[str] = Counter()
    named: dict[str, list[tuple[str, str]]] = {name: [] for name in LISTED}  # (name, class) per list
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        listed = sorted(
            await read(conn, classes, school, year=year), key=lambda c: (c["grade"], class_order(c["class_id"]))
        )
        for row in listed:
            summary = await class_summary(conn, school, year, row["class_id"])
            entry_of(request).touch(v.student["student_id"] for v in summary.views)
            counts = _tally(summary.views, period)
            if period == "year":
                lists = summary.lists()
                counts.update({name: len(ids) for name, ids in lists.items()})
                names = {str(v.student["student_id"]): str(v.student["full_name"]) for v in summary.views}
                for name in LISTED:
                    people = sorted((names[sid] for sid in lists[name]), key=name_order)
                    named[name] += [(person, row["class_id"]) for person in people]
            rows.append({"label": row["class_id"], "grade": row["grade"], "counts": counts})
            grades.setdefault(row["grade"], Counter()).update(counts)
            total.update(counts)
    text = text_of(request)
    bars = [Row(text["grade_total"] % grade, _levels(c, "learning")) for grade, c in grades.items()]
    bars.append(Row(text["school_total"], _levels(total, "learning")))
    conduct = [Row(text["grade_total"] % grade, _levels(c, "conduct")) for grade, c in grades.items()]
    conduct.append(Row(text["school_total"], _levels(total, "conduct")))
    segments = [*LEVELS, text["not_rated"]]
    what = f"{school}, {year}"
    return render(
        request,
        "summary.html",
        "summary",
        school=school,
        learning_chart=stacked_bars("hoc-tap", text["learning_result"], what, bars, segments, LEVEL_COLOURS),
        conduct_chart=stacked_bars("ren-luyen", text["conduct_result"], what, conduct, segments, LEVEL_COLOURS),
        named={name: people for name, people in named.items() if people} if period == "year" else {},
        chosen=chosen,
        period=period,
        rows=rows,
        grades=grades,
        total=total,
        levels=LEVELS,
        outcomes=OUTCOMES if period == "year" else [],
        share=share,
    )
