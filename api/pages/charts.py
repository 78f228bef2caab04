"""Charts drawn on the server as SVG: no script, no external asset, printable, and readable by a
screen reader (a title, a description, and the same numbers in a table beside each chart).

- the distribution of a class's year averages in each scored subject (TT22 Đ.9.1), in the bands
  below which TT22 Đ.9.2 sets its levels;
- the learning (học tập) and conduct (rèn luyện) levels of a class for the year (TT22 Đ.8, Đ.9).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

# Bands of a subject's year average (TT22 Đ.9.2 draws its lines at 3.5, 5.0, 6.5 and 8.0).
SCORE_BANDS: tuple[tuple[str, float, float], ...] = (
    ("< 3,5", 0.0, 3.5),
    ("3,5 – < 5", 3.5, 5.0),
    ("5 – < 6,5", 5.0, 6.5),
    ("6,5 – < 8", 6.5, 8.0),
    ("8 – 10", 8.0, 10.01),
)
LEVELS = ("Tốt", "Khá", "Đạt", "Chưa đạt")
# Colour-blind-safe palette (Okabe–Ito order), worst to best for the bands, best to worst for levels.
BAND_COLOURS = ("#d55e00", "#e69f00", "#f0e442", "#56b4e9", "#009e73")
LEVEL_COLOURS = ("#009e73", "#56b4e9", "#e69f00", "#d55e00", "#999999")


@dataclass(frozen=True)
class Row:
    """One bar: its label and the count in each segment."""

    label: str
    counts: tuple[int, ...]


def band_of(score: float) -> int:
    for index, (_, low, high) in enumerate(SCORE_BANDS):
        if low <= score < high:
            return index
    raise ValueError(f"a score is between 0 and 10, not {score}")


def score_rows(views: Sequence[dict[str, Any]], subjects: Sequence[tuple[str, str]]) -> list[Row]:
    """Per scored subject (code, name): how many students' year averages fall in each band."""
    rows = []
    for code, name in subjects:
        counts = [0] * len(SCORE_BANDS)
        for view in views:
            value = view["subjects"].get(code, {}).get("year")
            if isinstance(value, int | float):
                counts[band_of(float(value))] += 1
        if any(counts):
            rows.append(Row(name, tuple(counts)))
    return rows


def level_rows(views: Sequence[dict[str, Any]], labels: tuple[str, str]) -> list[Row]:
    """The learning and the conduct level of the year, counted; the last segment is 'not yet known'."""
    rows = []
    for label, part in zip(labels, ("learning", "conduct"), strict=True):
        counts = [0] * (len(LEVELS) + 1)
        for view in views:
            level = view[part].get("year")
            counts[LEVELS.index(level) if level in LEVELS else len(LEVELS)] += 1
        rows.append(Row(label, tuple(counts)))
    return rows


def stacked_bars(
    ident: str, title: str, description: str, rows: Sequence[Row], segments: Sequence[str], colours: Sequence[str]
) -> str:
    """Horizontal stacked bars, one per row, with a legend; the whole width is the largest total."""
    label_width, bar_width, bar_height, gap, legend_height = 190, 430, 22, 10, 28
    height = legend_height + len(rows) * (bar_height + gap) + 10
    width = label_width + bar_width + 50
    largest = max((sum(r.counts) for r in rows), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-labelledby="{ident}-title {ident}-desc" class="chart" id="{ident}">',
        f'<title id="{ident}-title">{escape(title)}</title><desc id="{ident}-desc">{escape(description)}</desc>',
    ]
    x = label_width
    for name, colour in zip(segments, colours, strict=False):
        parts.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="15" font-size="12">{escape(name)}</text>')
        x += 16 + 8 * len(name) + 14
    for index, row in enumerate(rows):
        y = legend_height + index * (bar_height + gap)
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 16}" font-size="13" text-anchor="end">{escape(row.label)}</text>'
        )
        left = float(label_width)
        for count, colour, name in zip(row.counts, colours, segments, strict=False):
            if not count:
                continue
            span = bar_width * count / largest
            parts.append(
                f'<rect x="{left:.1f}" y="{y}" width="{span:.1f}" height="{bar_height}" fill="{colour}">'
                f"<title>{escape(row.label)}: {escape(name)} — {count}</title></rect>"
            )
            if span >= 14:
                parts.append(
                    f'<text x="{left + span / 2:.1f}" y="{y + 15}" font-size="11" text-anchor="middle">{count}</text>'
                )
            left += span
        parts.append(f'<text x="{left + 6:.1f}" y="{y + 16}" font-size="12">{sum(row.counts)}</text>')
    parts.append("</svg>")
    return "".join(parts)
