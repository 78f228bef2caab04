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
from api.pages.staff import need_year
from api.pages.toolkit import SCHOOL_PAGE, class_order, page, render
from api.v1.params import SchoolId
from ledger.app.db import AUDITOR_ROLE
from ledger.base.vietnamese import number
from ledger.log.projection import read
from ledger.school.rules.tt22 import Level
from ledger.school.transcripts.views import class_summary
from ledger.school.years.tables import classes

PERIODS = {"1": "term1", "2": "term2", "ca-nam": "year"}
LEVELS = [level.value for level in Level]
OUTCOMES = ["promoted", "re_assessment", "summer_training", "not_promoted", "excellent", "good"]


def _tally(views: list[Any], period: str) -> Counter[str]:
    counts: Counter[str] = Counter(students=len(views))
    for view in views:
        result = view.to_json()
        counts["learning:" + (result["learning"].get(period) or "none")] += 1
        counts["conduct:" + (result["conduct"].get(period) or "none")] += 1
    return counts


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
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        listed = sorted(
            await read(conn, classes, school, year=year), key=lambda c: (c["grade"], class_order(c["class_id"]))
        )
        for row in listed:
            summary = await class_summary(conn, school, year, row["class_id"])
            entry_of(request).touch(v.student["student_id"] for v in summary.views)
            counts = _tally(summary.views, period)
            if period == "year":
                counts.update({name: len(ids) for name, ids in summary.lists().items()})
            rows.append({"label": row["class_id"], "grade": row["grade"], "counts": counts})
            grades.setdefault(row["grade"], Counter()).update(counts)
            total.update(counts)
    return render(
        request,
        "summary.html",
        "summary",
        school=school,
        chosen=chosen,
        period=period,
        rows=rows,
        grades=grades,
        total=total,
        levels=LEVELS,
        outcomes=OUTCOMES if period == "year" else [],
        share=share,
    )
